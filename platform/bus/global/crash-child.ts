/**
 * Test fixture for journal-bus.test.ts (not part of the bus): a process that publishes and consumes on a JournalBus
 * until it is killed with SIGKILL, so that the test can reopen the directory after a real crash.
 * Usage: vite-node crash-child.ts <dir> <processed-file>. Prints "ready" once 200 messages are published.
 */
import { appendFileSync } from 'node:fs';
import { JournalBus } from './journal-bus.js';

const [dir, processed] = process.argv.slice(2) as [string, string];
const bus = new JournalBus(dir);
await bus.subscribe('crash', 'g', (m) => {
  appendFileSync(processed, `${m.offset}\n`); // recorded before the acknowledgement
});
let published = 0;
for (;;) {
  const batch: Promise<number>[] = [];
  for (let i = 0; i < 50; i++) batch.push(bus.publish('crash', `exec-${published % 13}`, { n: published++, pad: 'x'.repeat(200) }));
  await Promise.all(batch);
  if (published === 200) process.stdout.write('ready\n');
}
