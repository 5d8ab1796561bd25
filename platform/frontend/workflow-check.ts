/**
 * `POST /workflows/validate`: the deploy-time validator, asked without deploying, so that an editor can show each
 * problem at the state it names (docs/api.md). A definition that does not validate is an answer here, not an error.
 */
import { compileStateMachine } from '../asl/index.js';
import { isMfError, MfError } from '../errors.js';
import type { WorkflowCheck, WorkflowProblem } from '../api.js';

export function checkWorkflow(body: unknown): WorkflowCheck {
  const b = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : null) as { definition?: unknown; functions?: unknown } | null;
  if (b === null || !('definition' in b)) throw new MfError('MF_BAD_REQUEST', 'the body must be {"definition": <ASL>, "functions": [names]}');
  const functions = b.functions ?? [];
  if (!Array.isArray(functions) || !functions.every((f) => typeof f === 'string')) {
    throw new MfError('MF_BAD_REQUEST', '"functions" must be an array of function names', { field: 'functions' });
  }
  try {
    compileStateMachine(b.definition, { name: 'definition', functionNames: new Set(functions) });
    return { valid: true, problems: [] };
  } catch (err) {
    const code = isMfError(err, 'MF_ASL_INVALID') ? 'MF_ASL_INVALID' : isMfError(err, 'MF_ASL_UNSUPPORTED') ? 'MF_ASL_UNSUPPORTED' : null;
    if (code === null) throw err;
    const problems = ((err as MfError).details.problems ?? []) as WorkflowProblem[];
    return { valid: false, code, message: (err as MfError).message, problems };
  }
}
