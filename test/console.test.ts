/**
 * The web console in a real browser (docs/console.md): a real platform on port 0, and chromium doing only what a
 * person would do in the console: sign in (a wrong token is refused), create an app, write its function, see the
 * workflow's validation problems at their state, deploy, run a 3-state workflow, read its timeline, follow a failed
 * execution to its error, browse the keys it stored, deploy a function from a zip, watch the live metrics,
 * run a session (start it, message it, read its echo, stop it), and see what happens when the platform goes away. Screenshots of
 * every page, at 1280x800 and 800 px wide, land in test-artifacts/console/ (not committed).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { strToU8, zipSync } from 'fflate';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_FOUND, CHROMIUM, RUN_BROWSER_TESTS } from './helpers/browser.js';
import { call, testPlatform } from './helpers/platform.js';

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/console/', import.meta.url));
/** axe-core, the accessibility engine, run inside the page: labels, names, roles, contrast (WCAG 2 A and AA). */
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const AUDIT = "axe.run(document, { runOnly: ['wcag2a', 'wcag2aa'] }).then((r) => r.violations.map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')))";
/** A step's bound, and a test's: generous, for a busy 2-core machine; nothing asserts on time. */
const WAIT = 45_000;
const TEST = 180_000;

const FUNCTION_CODE = `export const handler = async (event, context) => {
  console.log('step', JSON.stringify(event));
  if (event.fail) throw new Error('asked to fail by the test');
  await context.storage.put('seen/' + (event.steps ?? 0), event);
  return { ...event, steps: (event.steps ?? 0) + 1 };
};
`;

/** A session function that answers every message it reads by sending it back to the client. */
const ECHO_CODE = `export const handler = async (event, context) => {
  for await (const m of context.session) await context.session.send('client', { echo: m.body, from: m.from });
};
`;

const threeStates = (second: Record<string, unknown>) => JSON.stringify({
  StartAt: 'One',
  States: {
    One: { Type: 'Task', Resource: 'step', Next: 'Two' },
    Two: { Type: 'Task', Resource: 'step', ...second },
    Three: { Type: 'Task', Resource: 'step', End: true },
  },
}, null, 2);

describe.runIf(RUN_BROWSER_TESTS)('the web console in chromium', () => {
  let platform: Awaited<ReturnType<typeof testPlatform>>;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  /**
   * Both widths the issue asks for; the narrow one must not scroll sideways. Each page is audited for accessibility
   * (WCAG 2 A and AA, contrast included) at both widths.
   */
  async function screenshots(name: string): Promise<void> {
    await page.evaluate(AXE);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: `${ARTIFACTS}${name}-1280.png`, fullPage: true });
    expect(await page.evaluate<string[]>(AUDIT), `${name} at 1280 px`).toEqual([]);
    await page.setViewportSize({ width: 800, height: 900 });
    await page.screenshot({ path: `${ARTIFACTS}${name}-800.png`, fullPage: true });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow, `${name} scrolls sideways at 800 px`).toBeLessThanOrEqual(0);
    expect(await page.evaluate<string[]>(AUDIT), `${name} at 800 px`).toEqual([]);
    await page.setViewportSize({ width: 1280, height: 800 });
  }

  /** Replaces the text of the CodeMirror editor with this accessible name, as typing would. */
  async function typeInto(label: string, text: string): Promise<void> {
    const editor = page.getByRole('textbox', { name: label });
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(text);
  }

  beforeAll(async () => {
    if (!BROWSER_FOUND) throw new Error(`MFBENCH_REQUIRE_BROWSER=1 but there is no chromium at ${CHROMIUM}`);
    mkdirSync(ARTIFACTS, { recursive: true });
    platform = await testPlatform();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(WAIT);
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.close().catch(() => undefined);
  });

  it('refuses a wrong token, in words, and keeps no token', async () => {
    await page.goto(`${platform.url}/console/`);
    await page.getByLabel('Token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: WAIT }).toContain('MF_UNAUTHORIZED');
    expect(await page.getByRole('alert').textContent()).toContain('refused the token');
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
    await screenshots('signin-refused');
  }, TEST);

  it('signs in from the keyboard; the token stays in session storage, never in the URL', async () => {
    await page.goto(`${platform.url}/console/`);
    await page.keyboard.press('Tab'); // the token field has focus at load; Tab goes on to the button
    await page.getByLabel('Token').focus();
    await page.keyboard.type(platform.token);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Apps' }).waitFor();
    await page.getByText('No app is deployed yet').waitFor();
    expect(page.url()).not.toContain(platform.token);
    expect(await page.evaluate<string[]>('Object.values(sessionStorage)')).toContain(platform.token);
    await screenshots('apps-empty');
  }, TEST);

  it('shows the validator’s problems at the state they name, and deploys nothing while the workflow is invalid', async () => {
    await page.getByRole('link', { name: 'Create an app' }).first().click();
    await page.getByLabel('App name').fill('console-e2e');
    await page.getByLabel('Name', { exact: true }).fill('step');
    await typeInto('Code of function hello', FUNCTION_CODE);
    await typeInto('Workflow definition (ASL JSON)', threeStates({ Next: 'Nowhere' }));
    const problem = page.locator('.problem-list li[data-state="Two"]');
    await problem.waitFor();
    expect(await problem.textContent()).toContain('Nowhere');
    await page.locator('svg.graph g.invalid[data-state="Two"]').waitFor();
    await screenshots('new-app-invalid');

    await page.getByRole('button', { name: 'Deploy' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent(), { timeout: WAIT }).toContain('MF_ASL_INVALID');
    expect((await call(platform, 'GET', '/apps/console-e2e')).status).toBe(404);

    await typeInto('Workflow definition (ASL JSON)', 'not json {');
    await page.getByText('The workflow is not valid JSON').waitFor();
  }, TEST);

  it('deploys the app written in the page', async () => {
    await typeInto('Workflow definition (ASL JSON)', threeStates({ Next: 'Three' }));
    await page.getByText('The definition validates.').waitFor();
    expect(await page.locator('svg.graph g[data-state]').count()).toBe(3);
    await page.getByRole('button', { name: 'Deploy' }).click();
    await page.getByRole('heading', { name: 'console-e2e' }).waitFor();
    const app = await call(platform, 'GET', '/apps/console-e2e');
    expect(app.status).toBe(200);
    expect(app.body.functions).toEqual([{ name: 'step', handler: 'index.handler', memoryMB: 128, timeoutSeconds: 30 }]);
    expect(app.body.workflows).toEqual(['main']);
  }, TEST);

  it('runs the 3-state workflow and draws three bars with the right temperatures', async () => {
    await typeInto('Execution input (JSON)', '{"steps": 0}');
    await page.getByRole('button', { name: 'Start execution' }).click();
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    await page.locator('.status-succeeded').waitFor();
    const bars = page.locator('svg.timeline g.bar');
    await expect.poll(() => bars.count(), { timeout: WAIT }).toBe(3);
    expect(await bars.evaluateAll((gs) => gs.map((g) => [g.getAttribute('data-state'), g.getAttribute('data-temperature')]))).toEqual([
      ['One', 'cold-sandbox'],
      ['Two', 'warm'],
      ['Three', 'warm'],
    ]);
    const tip = await bars.first().locator('title').textContent();
    expect(tip).toMatch(/sandbox \S+, worker pid \d+/);
    expect(await page.locator('pre.output').textContent()).toContain('"steps": 3');
    expect(await page.locator('svg.graph g.visited').count()).toBe(3);
    await page.locator('.logs li').first().waitFor();
    expect(await page.locator('.logs li').count()).toBe(3);
    await screenshots('execution-succeeded');
  }, TEST);

  it('follows a failed execution from its failed state to its error', async () => {
    await page.getByRole('link', { name: 'console-e2e' }).click();
    await page.getByRole('button', { name: 'Start execution' }).waitFor();
    await screenshots('app');
    await typeInto('Execution input (JSON)', '{"fail": true}');
    await page.getByRole('button', { name: 'Start execution' }).click();
    await page.locator('.status-failed').waitFor();
    await page.locator('svg.timeline g.bar.failed').click();
    await expect.poll(() => page.evaluate<string | undefined>('document.activeElement?.id'), { timeout: WAIT }).toBe('execution-error');
    const error = await page.locator('#execution-error').textContent();
    expect(error).toContain('in state One');
    expect(error).toContain('asked to fail by the test');
    expect(await page.locator('svg.graph g.failed').getAttribute('data-state')).toBe('One');
    // The failed state on the graph leads there too, from the keyboard.
    await page.locator('svg.graph g.failed').focus();
    await expect.poll(() => page.evaluate<string | undefined>('document.activeElement?.getAttribute("data-state")'), { timeout: WAIT }).toBe('One');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate<string | undefined>('document.activeElement?.id'), { timeout: WAIT }).toBe('execution-error');
    await screenshots('execution-failed');
    await page.getByRole('link', { name: 'Executions' }).click();
    await page.locator('table .status-failed').waitFor();
    expect(await page.locator('table .status-succeeded').count()).toBe(1);
    await screenshots('executions');
  }, TEST);

  it('says so when the input is not JSON, and shows a function that throws', async () => {
    await page.goto(`${platform.url}/console/#/apps/console-e2e`);
    await page.getByRole('button', { name: 'Invoke' }).waitFor();
    await typeInto('Function input (JSON)', '{"steps": ');
    await page.getByRole('button', { name: 'Invoke' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent(), { timeout: WAIT }).toContain('not valid JSON');
    await typeInto('Function input (JSON)', '{"fail": true}');
    await page.getByRole('button', { name: 'Invoke' }).click();
    await page.locator('.result .status-failed').waitFor();
    expect(await page.locator('.result .alert').textContent()).toContain('asked to fail by the test');
    await page.locator('table td.mono').first().waitFor(); // the live sandbox
    // The storage browser: the keys the 3-state run wrote, and one value.
    await page.getByLabel('Key prefix').fill('seen/');
    await page.getByRole('button', { name: 'List keys' }).click();
    const keys = page.getByRole('list', { name: 'Keys' }).getByRole('button');
    await expect.poll(() => keys.allTextContents(), { timeout: WAIT }).toEqual(['seen/0', 'seen/1', 'seen/2']);
    await keys.nth(1).click();
    await expect.poll(() => page.locator('.storage-value pre').textContent(), { timeout: WAIT }).toContain('"steps": 1');
    await screenshots('app-invoked');
  }, TEST);

  it('deploys a function uploaded as a zip, and explains a file that is not one', async () => {
    await page.getByRole('link', { name: 'Create an app' }).first().click();
    await page.getByLabel('App name').fill('zipped');
    const zipInput = page.getByLabel('or a zip');
    await zipInput.setInputFiles({ name: 'broken.zip', mimeType: 'application/zip', buffer: Buffer.from('not a zip at all') });
    await page.getByText('The upload was not used: not a zip file').waitFor();
    const zip = zipSync({
      'pkg/index.mjs': strToU8("import { twice } from './lib/twice.mjs';\nexport const handler = async (e) => ({ doubled: twice(e.n) });\n"),
      'pkg/lib/twice.mjs': strToU8('export const twice = (n) => 2 * n;\n'),
    });
    await zipInput.setInputFiles({ name: 'pkg.zip', mimeType: 'application/zip', buffer: Buffer.from(zip) });
    await page.getByText('2 uploaded file(s) will be deployed').waitFor();
    await typeInto('Workflow definition (ASL JSON)', '');
    await page.getByText('No workflow: the app will have functions only.').waitFor();
    await screenshots('new-app-zip');
    await page.getByRole('button', { name: 'Deploy' }).click();
    await page.getByRole('heading', { name: 'zipped' }).waitFor();
    await typeInto('Function input (JSON)', '{"n": 21}');
    await page.getByRole('button', { name: 'Invoke' }).click();
    await page.locator('#invoke-result .status-succeeded').waitFor();
    expect(await page.locator('#invoke-result pre.output').textContent()).toContain('"doubled": 42');
  }, TEST);

  it('refreshes live metrics without reloading the page', async () => {
    await page.getByRole('link', { name: 'Sandboxes & metrics' }).click();
    await page.getByRole('heading', { name: 'Sandboxes and metrics' }).waitFor();
    // Two scrapes make the first point of each chart; the page is never reloaded.
    await page.evaluate('window.marker = 1');
    const series = page.locator('svg.chart path.series').first();
    await series.waitFor({ state: 'attached' });
    // A second point means a second refresh, drawn in place.
    await expect.poll(async () => (await series.getAttribute('d'))?.includes('L'), { timeout: WAIT }).toBe(true);
    expect(await page.evaluate<number | undefined>('window.marker')).toBe(1);
    expect(await page.locator('svg.chart').count()).toBe(4);
    expect(await page.locator('tbody tr').first().textContent()).toContain('console-e2e');
    await screenshots('metrics');
  }, TEST);

  it('starts a session, sends it messages, reads their echoes and its records, and stops it', async () => {
    await page.getByRole('link', { name: 'Create an app' }).first().click();
    await page.getByLabel('App name').fill('sessions-e2e');
    await page.getByLabel('Name', { exact: true }).fill('echo');
    await typeInto('Code of function hello', ECHO_CODE);
    await typeInto('Workflow definition (ASL JSON)', '');
    await page.getByText('No workflow: the app will have functions only.').waitFor();
    await page.getByRole('button', { name: 'Deploy' }).click();
    await page.getByRole('heading', { name: 'sessions-e2e' }).waitFor();
    const sessions = page.getByRole('region', { name: 'Sessions', exact: true });
    await sessions.getByText('No session: start one here.').waitFor();

    // Bad start requests: not JSON (checked in the page), an unknown function (the platform's typed error).
    await typeInto('Session start request (JSON)', '{"functions": [');
    await page.getByRole('button', { name: 'Start session' }).click();
    await expect.poll(() => sessions.getByRole('alert').textContent(), { timeout: WAIT }).toContain('The start request is not valid JSON');
    await typeInto('Session start request (JSON)', '{"functions": [{"function": "nope"}]}');
    await page.getByRole('button', { name: 'Start session' }).click();
    await expect.poll(() => sessions.getByRole('alert').textContent(), { timeout: WAIT }).toContain('MF_FUNCTION_NOT_FOUND');

    await typeInto('Session start request (JSON)', '{"functions": [{"function": "echo", "alias": "e"}], "policy": {"maxMessageBytes": 1024}}');
    await page.getByRole('button', { name: 'Start session' }).click();
    await page.getByRole('heading', { name: /^Session / }).waitFor();
    const sessionId = decodeURIComponent(/\/sessions\/([^/]+)$/.exec(page.url())![1]!);
    await page.locator('tr[data-instance="echo.0"] .status-running').waitFor();

    // One instance by its alias, then every instance of the function, then the whole session: three echoes.
    const send = page.getByRole('region', { name: 'Send a message' });
    const received = page.getByRole('list', { name: 'Messages to the client' }).locator('li');
    const sendAndRead = async (to: string, name: string, message: string, echoes: number): Promise<void> => {
      await page.getByLabel('To', { exact: true }).selectOption({ label: to });
      if (name) await page.getByLabel('Instance or function').fill(name);
      await typeInto('Message (JSON)', message);
      await send.getByRole('button', { name: 'Send' }).click();
      await send.getByText('Sent at').waitFor();
      // Each read waits up to 5 s for a message; the button is enabled again when it has its answer.
      await expect.poll(async () => {
        await page.getByRole('button', { name: 'Read messages' }).click();
        await page.locator('button:enabled', { hasText: 'Read messages' }).waitFor();
        return received.count();
      }, { timeout: WAIT }).toBe(echoes);
    };
    await sendAndRead('One instance (id or alias)', 'e', '{"hello": "console"}', 1);
    expect(await received.first().textContent()).toContain('"hello": "console"');
    expect(await received.first().textContent()).toContain('"from": "client"');
    expect(await received.first().textContent()).toContain('from echo.0');
    await sendAndRead('Every instance of a function', 'echo', '{"n": 2}', 2);
    await sendAndRead('The whole session', '', '{"n": 3}', 3);
    expect(await received.first().textContent()).toContain('"n": 3'); // newest first
    expect(await received.last().textContent()).toContain('"hello": "console"');

    // Bad messages: not JSON, to nobody, too large for the session's policy.
    await page.getByLabel('To', { exact: true }).selectOption({ label: 'One instance (id or alias)' });
    await typeInto('Message (JSON)', '{"n": ');
    await send.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => send.getByRole('alert').textContent(), { timeout: WAIT }).toContain('The message is not valid JSON');
    await page.getByLabel('Instance or function').fill('nobody');
    await typeInto('Message (JSON)', '{}');
    await send.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => send.getByRole('alert').textContent(), { timeout: WAIT }).toContain('MF_SESSION_TARGET_NOT_FOUND');
    await page.getByLabel('Instance or function').fill('e');
    await typeInto('Message (JSON)', JSON.stringify({ big: 'x'.repeat(2000) }));
    await send.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => send.getByRole('alert').textContent(), { timeout: WAIT }).toContain('MF_SESSION_MESSAGE_TOO_LARGE');

    // The records refresh in place: the three messages in, each echo out, fetched only since the last refresh.
    const recordsAsked: string[] = [];
    const onRequest = (r: { url: () => string }) => void (r.url().includes('/records') && recordsAsked.push(r.url()));
    page.on('request', onRequest);
    const messageRows = page.getByRole('table', { name: 'Session records' }).locator('tr[data-kind="message"]');
    await expect.poll(() => messageRows.count(), { timeout: WAIT }).toBe(6);
    await expect.poll(() => recordsAsked.length, { timeout: WAIT }).toBeGreaterThan(0);
    page.off('request', onRequest);
    for (const url of recordsAsked) expect(Number(new URL(url).searchParams.get('after'))).toBeGreaterThan(0);
    await screenshots('session');

    await page.getByRole('button', { name: 'Stop session' }).click();
    await page.getByText('The session is stopped.').waitFor();
    await page.locator('.page-head .status-stopped').waitFor();
    await page.locator('tr[data-kind="lifecycle"]', { hasText: 'ended: stopped by request' }).waitFor();
    expect((await call(platform, 'GET', `/apps/sessions-e2e/sessions/${encodeURIComponent(sessionId)}`)).body.status).toBe('STOPPED');
    await typeInto('Message (JSON)', '{"late": true}');
    await send.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => send.getByRole('alert').textContent(), { timeout: WAIT }).toContain('MF_SESSION_ENDED');
    await screenshots('session-stopped');

    await page.goto(`${platform.url}/console/#/apps/sessions-e2e/sessions/no-such-session`);
    await expect.poll(() => page.getByRole('alert').first().textContent(), { timeout: WAIT }).toContain('MF_SESSION_NOT_FOUND');
    await page.getByRole('link', { name: 'Back to sessions-e2e' }).click();
    await sessions.locator(`tr[data-session="${sessionId}"] > td:nth-child(2) .status-stopped`).waitFor();
    await screenshots('app-sessions');
  }, TEST);

  it('says the platform went away when it did', async () => {
    await page.goto(`${platform.url}/console/#/apps/console-e2e`);
    await page.getByRole('button', { name: 'Invoke' }).waitFor();
    await platform.close();
    await page.getByRole('button', { name: 'Invoke' }).click();
    await page.locator('#invoke-result [role=alert]').waitFor();
    expect(await page.locator('#invoke-result [role=alert]').textContent()).toContain('MF_PLATFORM_UNREACHABLE');
    await screenshots('platform-gone');
    expect(pageErrors).toEqual([]);
  }, TEST);
});
