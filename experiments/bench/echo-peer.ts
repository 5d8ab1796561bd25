/** The other end of the round-trip floors in rtt.ts: echoes every message back, on a Unix socket or over IPC. */
import { createServer } from 'node:net';

const [mode, path] = process.argv.slice(2);
if (mode === 'unix' && path) {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => socket.write(chunk));
  });
  server.listen(path, () => process.send?.('ready'));
} else {
  process.on('message', (m) => process.send?.(m));
  process.send?.('ready');
}
process.on('disconnect', () => process.exit(0));
