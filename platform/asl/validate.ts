/**
 * Deploy-time validation: asl-validator's JSON schema plus our own semantic checks (load.ts), every problem named by
 * state and JSON path. asl-validator (and its ajv/jsonata dependencies) is required lazily, on the first call, so
 * that importing this package in the sandbox agent costs nothing.
 */
import { createRequire } from 'node:module';
import { MfError } from '../errors.js';
import { loadWithReport, problemMessage, type Problem } from './load.js';
import type { StateMachine } from './model.js';

type AslValidator = (
  definition: unknown,
  opts?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errors: Array<{ 'Error code': string; Message: string; schemaError?: { instancePath?: string } }> };

let validator: AslValidator | undefined;
function aslValidator(): AslValidator {
  validator ??= createRequire(import.meta.url)('asl-validator') as AslValidator;
  return validator;
}

/** Codes of asl-validator checks that load.ts makes itself, with better locations (skipped to avoid duplicates). */
const OWN_CHECKS = new Set(['MISSING_TRANSITION_TARGET', 'MISSING_TERMINAL_STATE', 'DUPLICATE_STATE_NAMES']);

/** `/States/A/Branches/0/States/B/Resource` -> state 'B', `$.States.A.Branches[0].States.B.Resource`. */
function fromPointer(pointer: string): { state: string | null; path: string } {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let path = '$';
  let state: string | null = null;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (/^\d+$/.test(p) && i > 0 && ['Branches', 'Retry', 'Catch', 'Choices', 'ErrorEquals', 'And', 'Or'].includes(parts[i - 1]!)) path += `[${p}]`;
    else path += /^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? `.${p}` : `['${p}']`;
    if (i > 0 && parts[i - 1] === 'States') state = p;
  }
  return { state, path };
}

function schemaProblems(definition: unknown): Problem[] {
  // asl-validator writes QueryLanguage into the states it is given: hand it a copy. checkArn is off because we
  // accept the short Resource forms ("fn", "function:fn") and check Resources ourselves (resource.ts).
  const result = aslValidator()(structuredClone(definition), { checkPaths: true, checkArn: false });
  if (result.isValid) return [];
  const problems: Problem[] = [];
  for (const e of result.errors) {
    if (OWN_CHECKS.has(e['Error code'])) continue;
    const pointer = e.schemaError?.instancePath;
    if (pointer !== undefined) {
      const { state, path } = fromPointer(pointer);
      // The schema's message starts with the pointer; say it once, as a JSON path.
      const msg = e.Message.startsWith(pointer) ? e.Message.slice(pointer.length).replace(/^ is invalid\. /, '') : e.Message;
      problems.push({ state, path, message: `${msg} (${e['Error code']})` });
    } else {
      problems.push({ state: null, path: '$', message: `${e.Message} (${e['Error code']})` });
    }
  }
  return problems;
}

/**
 * Validates a definition at deploy time and loads it. Throws MfError MF_ASL_UNSUPPORTED when it uses a construct
 * this engine does not run, or MF_ASL_INVALID with `details.problems` (each {state, path, message}) when it is not
 * valid ASL. The message names the state and JSON path of the first problem.
 */
export function compileStateMachine(definition: unknown, options: { name: string; functionNames: ReadonlySet<string> }): StateMachine {
  const { machine, report } = loadWithReport(definition, options.name, { failFast: false, functionNames: options.functionNames });
  if (report.unsupported.length)
    throw new MfError('MF_ASL_UNSUPPORTED', problemMessage(options.name, report.unsupported, true), {
      problems: report.unsupported,
      invalid: report.invalid,
    });
  // Our own findings first (they name states precisely), then what only the schema sees.
  const problems = [...report.invalid];
  const seen = new Set(problems.map((p) => p.path));
  for (const p of schemaProblems(definition)) if (!seen.has(p.path)) problems.push(p);
  if (problems.length || !machine) {
    if (!problems.length) problems.push({ state: null, path: '$', message: 'the definition could not be loaded' });
    throw new MfError('MF_ASL_INVALID', problemMessage(options.name, problems, false), { problems });
  }
  return machine;
}
