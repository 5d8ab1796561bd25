/**
 * Our ASL engine as an OpenWhisk conductor action (docs/conductors.md of apache/openwhisk): this module runs INSIDE
 * OpenWhisk, zipped with the compiled engine (platform/asl) by the adapter.
 *
 * A conductor action decides, one activation at a time, which action to run next: it returns
 * `{action, params, state}` to continue (OpenWhisk runs `action` on `params`, then activates the conductor again with
 * that action's result merged with `state`), or a dictionary without `action` to finish. The engine, however, runs
 * an execution to completion with an async invoker. The bridge is deterministic replay: `state` carries a journal of
 * every Task result so far; each activation runs the execution from the start, answering journalled calls at once,
 * until it is blocked only on calls not yet made; the first of those is returned as the continuation. When the run
 * completes, its output (or its ASL failure) is the conductor's result.
 *
 * Calls are identified by (state name, input, occurrence), not by order, so that the interleaving of Parallel
 * branches or Map iterations cannot shift the journal. Consequences, stated in docs/platforms.md: Task calls of
 * Parallel/Map run one at a time; Wait states, Retry intervals and an execution's TimeoutSeconds are timed again on
 * each replay.
 *
 * The state stays small. OpenWhisk caps each activation's parameters and result (1 MB by default), and the state
 * rides in every continuation, so with the app's storage grant (config.storage) the execution's input, any Task
 * output over JOURNAL_INLINE_MAX_BYTES and any Task input or final output over INLINE_MAX_BYTES go into the app's
 * storage and travel as keys (wire.ts, `__mf_ref`). A journal entry then costs about a hundred bytes, and a replay
 * fetches each stored value once per container.
 */
import { createHash, randomUUID } from 'node:crypto';
import { loadStateMachine } from '../../platform/asl/load.js';
import { runExecution, TaskFailure, type TaskInvoker } from '../../platform/asl/run.js';
import type { ExecutionResult } from '../../platform/protocol.js';
import type { FunctionStorage } from '../../platform/storage/client.js';
import { remoteStorage } from '../../platform/storage/remote.js';
import type { StorageGrant } from '../../platform/storage/service-protocol.js';
import { EVENT_KEY, EXEC_KEY, INLINE_MAX_BYTES, REF_KEY, SPILL_PREFIX, STATE_KEY, eventOf, failureOf, outputOf, refOf } from './wire.js';

/** What the adapter writes into the conductor's zip (workflow.json). */
export interface ConductorConfig {
  /** The workflow's name (the state machine name). */
  workflow: string;
  /** The ASL definition, as deployed. */
  definition: unknown;
  /** The OpenWhisk package holding the app's actions. */
  package: string;
  /** The app's storage grant: large values go there instead of into the state (absent: everything inline). */
  storage?: StorageGrant;
}

/** A Task output longer than this (JSON) is journalled as a storage key, so the state grows by ~100 bytes a step. */
export const JOURNAL_INLINE_MAX_BYTES = 1024;

interface JournalEntry {
  key: string;
  output?: unknown;
  /** The storage key of the output, when it was too large to journal inline. */
  ref?: string;
  error?: string;
  cause?: string;
}

interface ConductorState {
  executionId: string;
  startTime: string;
  /** The execution's input, inline; or `inputRef`, its storage key. */
  input?: unknown;
  inputRef?: string;
  journal: JournalEntry[];
  /** The key of the call the previous activation asked OpenWhisk to run. */
  pending: string | null;
}

interface Pending {
  key: string;
  functionName: string;
  input: unknown;
  stateName: string;
}

type Dict = Record<string, unknown>;

const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);
const jsonLength = (v: unknown): number => JSON.stringify(v ?? null).length;

/** The storage client of the grant this container last saw (one app per conductor action, so one grant). */
let client: { token: string; storage: FunctionStorage } | null = null;
/** Stored values of the execution this container last replayed: a warm conductor fetches each only once. */
const fetched = new Map<string, unknown>();
let fetchedFor: string | null = null;

/** The execution's view of the app's storage: put a value under a key of its own, get one back (cached). */
function spillStore(grant: StorageGrant | undefined, executionId: string): { put(name: string, value: unknown): Promise<string>; get(key: string): Promise<unknown> } | null {
  if (grant === undefined) return null;
  if (client === null || client.token !== grant.token) client = { token: grant.token, storage: remoteStorage(grant) };
  if (fetchedFor !== executionId) {
    fetched.clear();
    fetchedFor = executionId;
  }
  const storage = client.storage;
  return {
    async put(name, value) {
      const key = `${SPILL_PREFIX}${executionId}/${name}`;
      await storage.put(key, value, { mode: 'global' });
      fetched.set(key, value);
      return key;
    },
    async get(key) {
      if (!fetched.has(key)) fetched.set(key, await storage.get(key, { tier: 'global' }));
      return fetched.get(key);
    },
  };
}

/** One conductor activation: returns a continuation or the final result (see the module comment). */
export async function conduct(params: Dict, config: ConductorConfig, env: Record<string, string | undefined> = process.env): Promise<Dict> {
  let st: ConductorState;
  let store: ReturnType<typeof spillStore>;
  const carried = params[STATE_KEY];
  if (isDict(carried) && Array.isArray(carried.journal)) {
    st = carried as unknown as ConductorState;
    store = spillStore(config.storage, st.executionId);
    const result: Dict = { ...params };
    delete result[STATE_KEY];
    if (st.pending !== null) {
      // The component's result (a Lambda error is an `error` dictionary, as the wrapper or OpenWhisk reported it).
      const ref = refOf(result);
      if (result.error !== undefined) st.journal.push({ key: st.pending, ...failureOf(result) });
      else if (ref !== null) st.journal.push({ key: st.pending, ref });
      else {
        const output = outputOf(result);
        if (store !== null && jsonLength(output) > JOURNAL_INLINE_MAX_BYTES) st.journal.push({ key: st.pending, ref: await store.put(`out-${st.journal.length}`, output) });
        else st.journal.push({ key: st.pending, output });
      }
    }
  } else {
    st = { executionId: env.__OW_ACTIVATION_ID ?? randomUUID(), startTime: new Date().toISOString(), journal: [], pending: null };
    store = spillStore(config.storage, st.executionId);
    const ref = refOf(params);
    const input = ref === null ? eventOf(params) : undefined;
    if (ref !== null) st.inputRef = ref;
    else if (store !== null && jsonLength(input) > JOURNAL_INLINE_MAX_BYTES) st.inputRef = await store.put('input', input);
    else st.input = input;
  }

  // Stored values are fetched before the replay, so that the engine sees every journalled answer at once.
  const input = st.inputRef !== undefined && store !== null ? await store.get(st.inputRef) : st.input;
  const outputs = new Map<string, unknown>();
  for (const e of st.journal) if (e.ref !== undefined && store !== null) outputs.set(e.key, await store.get(e.ref));

  const machine = loadStateMachine(config.definition, config.workflow);
  const done = new Map(st.journal.map((e) => [e.key, e]));
  const occurrences = new Map<string, number>();
  const pending: Pending[] = [];
  let calls = 0;
  const invoke: TaskInvoker = (call) => {
    calls++;
    const base = createHash('sha256').update(call.stateName).update('\u0000').update(JSON.stringify(call.input) ?? 'null').digest('base64url').slice(0, 22);
    const n = (occurrences.get(base) ?? 0) + 1;
    occurrences.set(base, n);
    const key = `${base}#${n}`;
    const entry = done.get(key);
    if (entry) return entry.error !== undefined ? Promise.reject(new TaskFailure(entry.error, entry.cause ?? '')) : Promise.resolve(entry.ref !== undefined ? outputs.get(key) : entry.output);
    pending.push({ key, functionName: call.functionName, input: call.input, stateName: call.stateName });
    return new Promise((_resolve, reject) => {
      call.signal.addEventListener('abort', () => reject(new Error('suspended: the conductor continues in its next activation')), { once: true });
    });
  };

  const abort = new AbortController();
  let finished: ExecutionResult | null = null;
  const run = runExecution(machine, input, {
    invoke,
    executionId: st.executionId,
    executionName: st.executionId,
    startTime: st.startTime,
    stateMachineName: config.workflow,
    signal: abort.signal,
  }).then((r) => {
    finished = r;
  });
  // Let the engine run until it finishes or is blocked only on new calls (two quiet turns of the event loop). A
  // Wait state or a retry interval keeps it on a timer with nothing pending: keep waiting then.
  let seen = -1;
  let quiet = 0;
  for (;;) {
    await new Promise((r) => setImmediate(r));
    if (finished !== null) break;
    if (calls !== seen) {
      seen = calls;
      quiet = 0;
      continue;
    }
    if (pending.length > 0) {
      if (++quiet >= 2) break;
    } else await new Promise((r) => setTimeout(r, 1));
  }
  const result = finished as ExecutionResult | null;
  if (result !== null) {
    if (result.status === 'SUCCEEDED') {
      if (store !== null && jsonLength(result.output) > INLINE_MAX_BYTES) return { params: { [REF_KEY]: await store.put('output', result.output) } };
      return { params: { [EVENT_KEY]: result.output } };
    }
    return { error: { aslError: result.error, aslCause: result.cause ?? '' } };
  }
  abort.abort();
  await run;
  const next = pending[0] as Pending;
  const ns = env.__OW_NAMESPACE !== undefined && env.__OW_NAMESPACE !== '' ? env.__OW_NAMESPACE : '_';
  return {
    action: `/${ns}/${config.package}/${next.functionName}`,
    params: {
      ...(store !== null && jsonLength(next.input) > INLINE_MAX_BYTES ? { [REF_KEY]: await store.put(`in-${st.journal.length}`, next.input) } : { [EVENT_KEY]: next.input }),
      [EXEC_KEY]: { executionId: st.executionId, state: next.stateName },
    },
    state: { [STATE_KEY]: { ...st, pending: next.key } },
  };
}
