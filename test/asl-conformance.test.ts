/**
 * The ASL conformance kit that CI checks out beside the repository: 60 state machines with outcomes recorded against
 * real AWS Step Functions. Each case is compiled with the deploy-time validator, run in-process with its CommonJS
 * Lambda handlers, and compared by the kit's own comparator (lib/compare.js).
 *
 * The kit is not part of the repository, so its folder comes from MFBENCH_ASL_KIT (.ci/run sets it). Unset, the
 * suite fails under CI (CI=true), so that CI cannot pass without the kit, and is skipped elsewhere with a note.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { TaskFailure, compileStateMachine, runExecution, type TaskInvoker } from '../platform/asl/index.js';

const KIT_VARIABLE = 'MFBENCH_ASL_KIT';
const kitSetting = process.env[KIT_VARIABLE];
const kitRoot = kitSetting ? path.resolve(kitSetting) : null;
const inCi = process.env.CI === 'true';
const HOW_TO_RUN = `set ${KIT_VARIABLE} to the folder of the ASL conformance kit (CI checks the kit out beside the repository and .ci/run sets the variable)`;
const casesDir = kitRoot === null ? null : path.join(kitRoot, 'cases');
const require = createRequire(import.meta.url);

if (kitRoot === null && !inCi) {
  process.stderr.write(`ASL conformance kit skipped: ${KIT_VARIABLE} is not set.\n  to run it: ${HOW_TO_RUN}\n`);
}

interface Comparator {
  compare(expected: unknown, actual: unknown, opts?: { strict?: boolean }): { ok: boolean; problems: string[]; warnings: string[] };
}

function listCases(): string[] {
  if (casesDir === null || !existsSync(casesDir)) return [];
  return readdirSync(casesDir)
    .filter((d) => statSync(path.join(casesDir, d)).isDirectory())
    .sort();
}

const readJson = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8')) as unknown;

/** Runs handler(event) in-process; a thrown error becomes a TaskFailure shaped like Node Lambda's error report. */
function inProcessInvoker(functionsDir: string): TaskInvoker {
  return async ({ functionName, input }) => {
    const mod = require(path.join(functionsDir, functionName, 'index.js')) as { handler: (event: unknown) => unknown };
    try {
      // A JSON round trip, as the real platform's IPC does: handlers never see engine-owned objects.
      return await mod.handler(JSON.parse(JSON.stringify(input ?? null)));
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      const trace = (err.stack ?? '').split('\n').map((l) => l.trim());
      throw new TaskFailure(err.name, JSON.stringify({ errorType: err.name, errorMessage: err.message, trace }));
    }
  };
}

const cases = listCases();

// Runs when the kit is named, and always under CI, where a missing kit must fail rather than skip.
describe.runIf(kitRoot !== null || inCi)('ASL conformance kit (outcomes recorded against AWS Step Functions)', () => {
  test('the kit is present', () => {
    expect(kitRoot, `${KIT_VARIABLE} is not set, and CI=true: CI must run the ASL conformance kit; ${HOW_TO_RUN}`).not.toBeNull();
    expect(casesDir !== null && existsSync(casesDir), `ASL conformance kit not found at ${kitRoot} (from ${KIT_VARIABLE}); ${HOW_TO_RUN}`).toBe(true);
    expect(cases.length).toBe(60);
  });

  const { compare } = (kitRoot !== null && existsSync(kitRoot) ? require(path.join(kitRoot, 'lib/compare.js')) : { compare: null }) as Comparator;

  for (const name of cases) {
    test.concurrent(
      name,
      async () => {
        const dir = path.join(casesDir!, name);
        const functionsDir = path.join(dir, 'functions');
        const functionNames = new Set(existsSync(functionsDir) ? readdirSync(functionsDir).filter((f) => statSync(path.join(functionsDir, f)).isDirectory()) : []);
        const machine = compileStateMachine(readJson(path.join(dir, 'definition.json')), { name: `heldout-${name.slice(0, 2)}`, functionNames });
        const result = await runExecution(machine, readJson(path.join(dir, 'input.json')), {
          invoke: inProcessInvoker(functionsDir),
          executionId: `exec-${name.slice(0, 2)}`,
          executionName: `exec-${name.slice(0, 2)}`,
          startTime: new Date().toISOString(),
        });
        const actual =
          result.status === 'SUCCEEDED'
            ? { status: result.status, output: result.output, error: null, cause: null }
            : { status: result.status, output: null, error: result.error, cause: result.cause };
        // Through JSON, as the CLI would print it.
        const verdict = compare(readJson(path.join(dir, 'expected.json')), JSON.parse(JSON.stringify(actual)));
        expect(verdict.problems, `${name}: ${verdict.problems.join('; ')}`).toEqual([]);
        expect(verdict.ok).toBe(true);
      },
      30_000,
    );
  }
});
