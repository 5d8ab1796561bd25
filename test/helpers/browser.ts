/**
 * The browser for the console's tests: Debian's chromium driven by playwright-core, headless. The tests run when
 * chromium is installed, or when MFBENCH_REQUIRE_BROWSER=1 (CI sets it): then a missing browser fails them.
 */
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.MFBENCH_CHROMIUM ?? '/usr/bin/chromium';
export const BROWSER_REQUIRED = process.env.MFBENCH_REQUIRE_BROWSER === '1';
export const BROWSER_FOUND = existsSync(CHROMIUM);
export const RUN_BROWSER_TESTS = BROWSER_FOUND || BROWSER_REQUIRED;

if (!RUN_BROWSER_TESTS) {
  process.stderr.write(`browser tests skipped: no chromium at ${CHROMIUM}\n  to run them: apt-get install chromium; MFBENCH_REQUIRE_BROWSER=1 makes a missing browser fail the tests\n`);
}
