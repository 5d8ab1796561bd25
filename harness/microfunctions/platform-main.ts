/**
 * The embedded platform's own process: the MicroFunctions adapter starts one (platform-process.ts) so that the load
 * generator in the experiment's process never shares an event loop with the platform it measures.
 *
 * Protocol: the UserConfig arrives as JSON in argv[2]. Exactly one JSON line goes to stdout: {"url", "token"} once
 * the platform listens, or {"error": {...}} when it could not start (an MfError's body, so the parent rethrows the
 * same typed error). The platform closes when stdin ends (the parent closed it, or died: the pipe closes with it,
 * so this process never outlives its parent) or on SIGTERM / SIGINT.
 */
import type { UserConfig } from '../../platform/config.js';
import { MfError } from '../../platform/errors.js';
import { startPlatform } from '../../platform/frontend/index.js';

function say(line: object): void {
  process.stdout.write(JSON.stringify(line) + '\n'); // a pipe: written synchronously on Linux
}

async function main(): Promise<void> {
  // Listening from the start: a stop asked for during start-up closes the platform as soon as it is up.
  const stop = new Promise<void>((resolve) => {
    process.stdin.once('close', resolve).once('end', resolve).resume();
    process.once('SIGTERM', resolve).once('SIGINT', resolve);
  });
  let platform;
  try {
    platform = await startPlatform(JSON.parse(process.argv[2] ?? '{}') as UserConfig);
  } catch (err) {
    const body = err instanceof MfError ? err.toJSON() : new MfError('MF_PLATFORM_START_FAILED', (err as Error).message ?? String(err)).toJSON();
    say({ error: body });
    process.exit(1);
  }
  say({ url: platform.url, token: platform.token });
  await stop;
  await platform.close();
  // A stray handle (a child's pipe, a keep-alive socket) must not keep a closed platform's process up.
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`embedded platform failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
