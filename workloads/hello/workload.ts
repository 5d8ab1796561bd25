/** hello: one Task that greets. The floor of a workflow execution: one function, one hop, a tiny payload. */
import type { AppManifest } from '../../platform/manifest.js';
import { checkKnownParams, sizeOf } from '../params.js';
import { workloadDir } from '../paths.js';
import { randomString, seededRandom } from '../random.js';
import type { Workload, WorkloadParams } from '../types.js';
import { join } from 'node:path';

export interface HelloInput {
  name: string;
}

export interface HelloOutput {
  greeting: string;
  function: string;
  requestId: string;
}

const SIZES = {
  small: { nameLength: 8 },
  medium: { nameLength: 1024 },
  large: { nameLength: 256 * 1024 },
} as const;

export const hello: Workload<HelloInput, HelloOutput> = {
  name: 'hello',
  description: 'One Task that returns a greeting for event.name (the 1-Task floor).',
  sizes: SIZES,
  params: {},
  workflow: 'main',

  app(params: WorkloadParams = {}): AppManifest {
    checkKnownParams('hello', params, []);
    return {
      name: 'hello',
      functions: [{ name: 'hello', handler: 'index.handler', code: { dir: join(workloadDir('hello'), 'functions', 'hello') } }],
      workflows: {
        main: { Comment: 'hello: one Task', StartAt: 'Hello', States: { Hello: { Type: 'Task', Resource: 'hello', End: true } } },
      },
    };
  },

  generateInput(size: string, seed: number): HelloInput {
    const { nameLength } = sizeOf('hello', SIZES, size);
    return { name: randomString(seededRandom(seed), nameLength) };
  },

  validateOutput(input: HelloInput, output: unknown) {
    if (typeof output !== 'object' || output === null) return { ok: false, reason: `output is not an object: ${JSON.stringify(output)}` };
    const o = output as Record<string, unknown>;
    const expected = `hello ${input.name}`;
    if (o.greeting !== expected) {
      return { ok: false, reason: `greeting is ${JSON.stringify(o.greeting)?.slice(0, 60)}, expected "hello " + the input name (${expected.length} chars)` };
    }
    if (o.function !== 'hello') return { ok: false, reason: `context.functionName was ${JSON.stringify(o.function)}, expected "hello"` };
    if (typeof o.requestId !== 'string' || o.requestId === '') return { ok: false, reason: 'context.awsRequestId was missing' };
    return { ok: true };
  },
};
