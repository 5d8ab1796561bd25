/**
 * One chaos run (issue 12 item 7; docs/distributed.md, "Chaos"; docs/experiments.md#chaos): real processes on a real
 * NATS JetStream broker, all started here on loopback and stopped by pid (experiments/multi-host/cluster.ts): two
 * host agents and two remote frontends. Async executions of a 3-step chain are sent to both frontends while a worker,
 * a sandbox agent, a host agent and a frontend are SIGKILLed (by pid) at seeded random moments and what was killed is
 * started again. Then it reads, from the caller's side, every frontend's answer for every execution, and from global
 * storage each step's side effect (put once under its idempotency key) and how many times it ran.
 *
 * It only measures: what it saw goes back as data (`ChaosRun`), counted by `chaosCounts` (counts.ts). The experiment
 * (experiments/chaos.ts) stores it as raw records; the test (test/chaos.test.ts) asserts on the same data.
 */
import type { ChildProcess } from 'node:child_process';
import { now } from '../../platform/clock.js';
import { MfError } from '../../platform/errors.js';
import { randomInt, seededRng, type Rng } from '../../report/stats/random.js';
import { Round } from '../multi-host/cluster.js';
import { hostNetwork } from '../multi-host/netns.js';
import { rightOutput, STEPS, type ChaosExecution, type KillKind, type Kill } from './counts.js';
import { agentsUnder, childrenOf, descendants } from './processes.js';

export interface ChaosOptions {
  /** Async executions submitted. */
  count: number;
  seed: number;
  /** Executions each host agent runs at once. */
  capacity: number;
  /** The kills fall at seeded moments in [1 s, 1 s + killWindowMs] after the first submission. */
  killWindowMs: number;
  /** How long the killed frontend stays down: past its registry entry's life (8 s), so that the other takes over. */
  frontendDownMs: number;
  /** How long to wait, after the last kill, for every execution to answer; grows with the count. */
  settleMs: number;
  /** Submissions in flight at once. */
  width: number;
  /** Lines for a person (progress); never on the measured path. */
  note?: (line: string) => void;
}

export interface ChaosRun {
  /** Epoch ms (platform/clock.ts) of the first submission: every `…Ms` below is relative to it. */
  startedAt: number;
  executions: ChaosExecution[];
  kills: Kill[];
}

const APP = 'chaos';
/** The side effect, once per step whatever the re-runs (a put under the idempotency key), and a count of its runs. */
const STEP = `export const handler = async (event, context) => {
  await context.storage.increment('runs/' + context.idempotencyKey);
  await context.storage.put('effect/' + context.idempotencyKey, 1);
  await new Promise((r) => setTimeout(r, event.ms));
  return { ...event, steps: [...(event.steps ?? []), context.idempotencyKey.split('/')[1]] };
};`;
const HOSTS = ['cx-1', 'cx-2'];
const FRONTENDS = ['fa', 'fb'];
const READS_AT_ONCE = 16;

interface Endpoint {
  url: string;
  token: string;
}
interface Frontend extends Endpoint {
  name: string;
  child: ChildProcess;
}
interface Host {
  id: string;
  child: ChildProcess;
}
interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** Runs the whole scenario; every process it started is stopped by pid before it resolves or rejects. */
export async function runChaos(options: ChaosOptions): Promise<ChaosRun> {
  const note = options.note ?? (() => undefined);
  const rng = seededRng(options.seed);
  const network = await hostNetwork('loopback', HOSTS.length);
  const round = await Round.start(network, { preset: 'grouped', backend: 'process', capacity: options.capacity });
  // What a SIGKILLed host agent leaves behind (its sandboxes and their workers), stopped by pid at the end.
  const leftovers = new Set<number>();
  try {
    const hosts: Host[] = [];
    for (const [slot, id] of HOSTS.entries()) hosts.push({ id, child: (await round.startHost(slot, id)).child });
    const frontends: Frontend[] = [];
    for (const name of FRONTENDS) frontends.push({ name, ...(await round.startFrontend(name)) });
    const deployed = await call(frontends[0]!, 'POST', '/apps', { name: APP, functions: [inlineFunction('step', STEP)], workflows: { main: chain(['step', 'step', 'step']) } });
    if (deployed.status !== 201) throw new MfError('MF_INTERNAL', `chaos: deploying the app answered ${deployed.status}: ${JSON.stringify(deployed.body)}`);
    await until('the second frontend to know the app', async () => ((await call(frontends[1]!, 'GET', `/apps/${APP}`)).status === 200 ? true : null), 30_000);

    const plan = killPlan(rng, options.killWindowMs);
    note(`chaos: seed ${options.seed}, ${options.count} executions, kill plan ${plan.map((k) => `${k.kind}@${k.plannedMs}ms`).join(', ')}`);
    const startedAt = now();
    const killer = { round, rng, hosts, frontends, leftovers, startedAt, downMs: options.frontendDownMs };
    const killing = Promise.all(plan.map((k) => sleep(k.plannedMs).then(() => kill(killer, k.kind, k.plannedMs))));
    const submitted = await submit(frontends, options.count, options.width, startedAt);
    note(`chaos: ${submitted.length} accepted in ${Math.round(now() - startedAt)} ms`);
    const kills = await killing;
    note(`chaos: every kill done and restarted after ${Math.round(now() - startedAt)} ms: ${kills.map((k) => `${k.kind} ${k.pid} at ${k.atMs} ms`).join(', ')}`);

    // The caller's view: every execution's answer from every frontend, until each has a terminal one (or time is up).
    const terminal = (a: Answer): boolean => a.status === 200 && a.body?.status !== 'RUNNING';
    const deadline = now() + options.settleMs;
    let views = await answers(frontends, submitted.map((s) => s.id));
    while (!views.every((v) => v.some(terminal)) && now() < deadline) {
      await sleep(1_000);
      views = await answers(frontends, submitted.map((s) => s.id));
    }
    const answeredAt = now();

    // The steps: one side effect each (idempotent), and how many times each ran.
    const keys = async (prefix: string): Promise<string[]> => (await call(frontends[1]!, 'GET', `/apps/${APP}/storage?prefix=${prefix}&limit=1000000`)).body.keys as string[];
    const effects = new Set(await keys('effect/'));
    const runKeys = await keys('runs/');
    const runCounts = new Map<string, number>();
    await inBatches(runKeys, READS_AT_ONCE, async (k) => void runCounts.set(k, Number((await call(frontends[1]!, 'GET', `/apps/${APP}/storage/${encodeURIComponent(k)}`)).body.value?.json ?? 0)));
    // What the kills reached: the causes of each execution's recoveries, from its history on any frontend.
    const causes = await inBatches(submitted, READS_AT_ONCE, async (s) => {
      for (const f of frontends) {
        const h = await call(f, 'GET', `/executions/${s.id}/history`).catch(() => null);
        if (h?.status === 200) return (h.body.history as Array<{ type: string; cause?: string }>).filter((e) => e.type === 'ExecutionRecovering').map((e) => e.cause ?? '');
      }
      return null;
    });

    const executions = submitted.map((s, i): ChaosExecution => {
      const ends = views[i]!.filter(terminal);
      const first = ends[0]?.body;
      return {
        index: s.index,
        id: s.id,
        frontend: s.frontend,
        sentAt: s.sentAt,
        acceptedAt: s.acceptedAt,
        answeredAt,
        status: first === undefined ? 'lost' : ends.every((a) => a.body.status === 'SUCCEEDED') ? 'SUCCEEDED' : 'FAILED',
        error: first === undefined ? lastError(views[i]!) : ends.find((a) => a.body.status !== 'SUCCEEDED')?.body.error ?? null,
        cause: ends.find((a) => a.body.status !== 'SUCCEEDED')?.body.cause ?? null,
        output: first?.output ?? null,
        rightOutput: rightOutput(first?.output),
        t: first?.t ?? null,
        terminalAnswers: ends.length,
        // Both frontends answer a finished execution (it is shared on the broker): a duplicate is a second, different
        // completion, not the same answer read twice.
        completions: new Set(ends.map((a) => a.body.t?.completed)).size,
        runs: STEPS.map((step) => runCounts.get(`runs/${s.id}/${step}/0`) ?? 0),
        effects: STEPS.map((step) => effects.has(`effect/${s.id}/${step}/0`)),
        recoveries: causes[i] ?? null,
      };
    });
    return { startedAt, executions, kills };
  } finally {
    await round.close();
    for (const pid of leftovers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone with its host agent
      }
    }
  }
}

/** Each of the four kills at a seeded moment in the window, in time order. */
function killPlan(rng: Rng, windowMs: number): Array<{ kind: KillKind; plannedMs: number }> {
  const kinds: KillKind[] = ['worker', 'sandbox', 'host', 'frontend'];
  return kinds.map((kind) => ({ kind, plannedMs: 1_000 + Math.floor(rng() * windowMs) })).sort((a, b) => a.plannedMs - b.plannedMs);
}

interface Killer {
  round: Round;
  rng: Rng;
  hosts: Host[];
  frontends: Frontend[];
  leftovers: Set<number>;
  startedAt: number;
  downMs: number;
}

/** SIGKILLs one process of the kind (by pid) and starts again what the platform does not start by itself. */
async function kill(k: Killer, kind: KillKind, plannedMs: number): Promise<Kill> {
  const since = (): number => Math.round(now() - k.startedAt);
  if (kind === 'worker' || kind === 'sandbox') {
    // Workers and sandboxes are the host agents' to replace; this only picks one alive now.
    const pid = await until(`a ${kind} to kill`, async () => {
      const agents = k.hosts.flatMap((h) => agentsUnder(k.round.folder(h.id)));
      const pool = kind === 'sandbox' ? agents : childrenOf(agents);
      return pool.length > 0 ? pool[randomInt(k.rng, pool.length)]! : null;
    }, 30_000);
    const atMs = since();
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone by itself meanwhile
    }
    return { kind, target: kind, pid, plannedMs, atMs, restartedMs: null };
  }
  if (kind === 'host') {
    const host = k.hosts[randomInt(k.rng, k.hosts.length)]!;
    const pid = host.child.pid!;
    for (const p of descendants(pid)) k.leftovers.add(p);
    const atMs = since();
    await k.round.kill(host.child, 'SIGKILL');
    // Its id is free once its entry expires (8 s); until then a second agent with it is refused.
    const slot = HOSTS.indexOf(host.id);
    host.child = await until(`host ${host.id} to start again`, async () => (await k.round.startHost(slot, host.id).catch(() => null))?.child ?? null, 60_000);
    return { kind, target: host.id, pid, plannedMs, atMs, restartedMs: since() };
  }
  const f = k.frontends[randomInt(k.rng, k.frontends.length)]!;
  const pid = f.child.pid!;
  const atMs = since();
  await k.round.kill(f.child, 'SIGKILL');
  // Down long enough (past its entry's 8 s) for the other frontend to take its executions over.
  await sleep(k.downMs);
  const again = await k.round.startFrontend(f.name);
  [f.child, f.url, f.token] = [again.child, again.url, again.token];
  return { kind, target: f.name, pid, plannedMs, atMs, restartedMs: since() };
}

interface Submitted {
  index: number;
  id: string;
  frontend: string;
  sentAt: number;
  acceptedAt: number;
}

/** Submits every execution, alternating frontends; one that is down (killed) is skipped for the other. */
async function submit(frontends: Frontend[], count: number, width: number, startedAt: number): Promise<Submitted[]> {
  return inBatches(Array.from({ length: count }, (_, i) => i), width, async (i) => {
    const sentAt = Math.round(now() - startedAt);
    for (let attempt = 0; ; attempt++) {
      const f = frontends[(i + attempt) % frontends.length]!;
      const answer = await call(f, 'POST', `/apps/${APP}/workflows/main/executions?mode=async`, { i, ms: 20 + ((i * 37) % 200) }).catch(() => null);
      if (answer?.status === 202) return { index: i, id: answer.body.executionId as string, frontend: f.name, sentAt, acceptedAt: Math.round(now() - startedAt) };
      if (attempt > 200) throw new MfError('MF_INTERNAL', `chaos: execution ${i} was not accepted after ${attempt} attempts: ${JSON.stringify(answer?.body)}`);
      await sleep(100);
    }
  });
}

/** The error code a frontend last answered for an execution without a terminal answer (a lost one). */
function lastError(views: Answer[]): string {
  const coded = views.find((a) => a.status !== 200 && typeof a.body?.error === 'string');
  return coded !== undefined ? String(coded.body.error) : views.some((a) => a.status === 200) ? 'still RUNNING' : 'no answer';
}

/** Every frontend's answer for every execution (a frontend that does not answer counts as status 0). */
function answers(frontends: Frontend[], ids: string[]): Promise<Answer[][]> {
  return inBatches(ids, READS_AT_ONCE, (id) => Promise.all(frontends.map((f) => call(f, 'GET', `/executions/${id}`).catch((): Answer => ({ status: 0, body: null })))));
}

async function call(at: Endpoint, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(at.url + path, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${at.token}` },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

function inlineFunction(name: string, source: string) {
  return { name, handler: 'index.handler', code: { files: { 'index.mjs': Buffer.from(source).toString('base64') } } };
}

function chain(functions: string[]) {
  const states: Record<string, unknown> = {};
  functions.forEach((fn, i) => {
    states[`S${i + 1}`] = i === functions.length - 1 ? { Type: 'Task', Resource: fn, End: true } : { Type: 'Task', Resource: fn, Next: `S${i + 2}` };
  });
  return { StartAt: 'S1', States: states };
}

/** Polls `probe` until it answers something other than null, within `ms`; names `what` when it gives up. */
async function until<T>(what: string, probe: () => Promise<T | null>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new MfError('MF_INTERNAL', `chaos: gave up waiting for ${what} after ${ms} ms`);
    await sleep(100);
  }
}

/** Maps `items` with at most `width` calls in flight, keeping their order. */
async function inBatches<T, R>(items: readonly T[], width: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await f(items[i]!);
    }),
  );
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
