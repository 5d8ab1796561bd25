/**
 * Which hops of a workflow a worker may hand over straight to the next worker (docs/architecture.md#decisions),
 * decided once at deploy from the loaded state machine. A hop qualifies when the engine is certain to call the next
 * Task with exactly the previous Task's result: the previous state is a named function's Task that passes its result through unchanged (no
 * ResultSelector, ResultPath or OutputPath), and the next state is a Task of a named function that takes its input
 * unchanged (no InputPath or Parameters) and has no timeout of its own for the engine to enforce. Retry and Catch may
 * be anywhere: a failure is never handed over, it goes to the agent, whose engine applies them. JSONata states and
 * names reused inside a Parallel or Map are left to the agent.
 */
import type { State, StateMachine, SubMachine, TaskState } from '../../asl/model.js';
import { passesResultThrough, takesInputAsIs } from '../../asl/pass-through.js';

/** A state a result runs through without the agent, and its function. */
export interface RouteStep {
  state: string;
  fn: string;
}

/** For each top-level Task state, the states after it that its result can run through without the agent. */
export type HandoverRoutes = ReadonlyMap<string, readonly RouteStep[]>;

export function handoverRoutes(machine: StateMachine): HandoverRoutes {
  const states = machine.root.states;
  const nested = new Set<string>();
  for (const s of states.values()) collectNested(s, nested);
  const routes = new Map<string, readonly RouteStep[]>();
  for (const s of states.values()) {
    if (s.type !== 'Task' || nested.has(s.name)) continue;
    const route: RouteStep[] = [];
    const seen = new Set([s.name]);
    let from: TaskState = s;
    for (;;) {
      const next = from.next === null ? undefined : states.get(from.next);
      if (!passesResultThrough(from) || !next || !takesInputWithoutLimits(next) || nested.has(next.name) || seen.has(next.name)) break;
      route.push({ state: next.name, fn: next.resource.functionName });
      seen.add(next.name);
      from = next;
    }
    if (route.length > 0) routes.set(s.name, route);
  }
  return routes;
}

/** The next Task also has no timeout of its own: the engine, not a worker, enforces one. */
function takesInputWithoutLimits(s: State): s is TaskState & { resource: { kind: 'lambda'; functionName: string } } {
  return takesInputAsIs(s) && s.timeoutSeconds === undefined && s.heartbeatSeconds === undefined;
}

function collectNested(s: State, into: Set<string>): void {
  const subs: SubMachine[] = s.type === 'Parallel' ? [...s.branches] : s.type === 'Map' ? [s.processor] : [];
  for (const sub of subs) {
    for (const inner of sub.states.values()) {
      into.add(inner.name);
      collectNested(inner, into);
    }
  }
}
