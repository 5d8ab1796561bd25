/** Which hops a worker may hand over: only those where the engine is certain to pass the result on unchanged. */
import { describe, expect, it } from 'vitest';
import { loadStateMachine } from '../../asl/index.js';
import { handoverRoutes } from './handover-plan.js';

function routes(states: Record<string, unknown>, startAt = Object.keys(states)[0]!): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [from, route] of handoverRoutes(loadStateMachine({ StartAt: startAt, States: states }, 'm'))) out[from] = route.map((r) => `${r.state}:${r.fn}`);
  return out;
}

describe('handover routes', () => {
  it('a chain of plain Tasks: every Task reaches the end of the chain', () => {
    expect(
      routes({
        A: { Type: 'Task', Resource: 'a', Next: 'B' },
        B: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:b', Next: 'C' },
        C: { Type: 'Task', Resource: 'c', End: true },
      }),
    ).toEqual({ A: ['B:b', 'C:c'], B: ['C:c'] });
  });

  it('Retry and Catch do not stop a route (failures go to the agent); result or input processing does', () => {
    expect(
      routes({
        A: { Type: 'Task', Resource: 'a', Retry: [{ ErrorEquals: ['States.ALL'] }], Next: 'B' },
        B: { Type: 'Task', Resource: 'b', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Z' }], ResultPath: '$.b', Next: 'C' },
        C: { Type: 'Task', Resource: 'c', Next: 'D' },
        D: { Type: 'Task', Resource: 'd', InputPath: '$.x', Next: 'E' },
        E: { Type: 'Task', Resource: 'e', Next: 'F' },
        F: { Type: 'Task', Resource: 'f', TimeoutSeconds: 5, End: true },
        Z: { Type: 'Succeed' },
      }),
    ).toEqual({ A: ['B:b'], D: ['E:e'] });
  });

  it('no route into a non-Task, a lambda:invoke Task, a loop back, or a name reused inside a Map', () => {
    expect(
      routes({
        A: { Type: 'Task', Resource: 'a', Next: 'P' },
        P: { Type: 'Pass', Next: 'B' },
        B: { Type: 'Task', Resource: 'b', Next: 'L' },
        L: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'l', 'Payload.$': '$' }, Next: 'C' },
        C: { Type: 'Task', Resource: 'c', Next: 'D' },
        D: { Type: 'Task', Resource: 'd', Next: 'C2' },
        C2: { Type: 'Choice', Choices: [{ Variable: '$.again', BooleanEquals: true, Next: 'C' }], Default: 'M' },
        M: { Type: 'Map', ItemProcessor: { StartAt: 'X', States: { X: { Type: 'Task', Resource: 'x', End: true } } }, Next: 'W' },
        W: { Type: 'Task', Resource: 'w', Next: 'X' },
        X: { Type: 'Task', Resource: 'x', End: true },
      }),
    ).toEqual({ C: ['D:d'] });
  });
});
