/**
 * The Amazon States Language engine: deploy-time validation (compileStateMachine), loading without validation for
 * the sandbox agent (loadStateMachine), and the interpreter (runExecution). See docs/asl.md.
 *
 * Importing this module is cheap: asl-validator is only required when compileStateMachine is first called.
 */
export { compileStateMachine } from './validate.js';
export { loadStateMachine, type Problem } from './load.js';
export { runExecution, TaskFailure, type ExecutionLimits, type IntegrationCall, type IntegrationInvoker, type RunOptions, type TaskCall, type TaskInvoker } from './run.js';
export { INTEGRATIONS, type Integration } from './resource.js';
export type { StateMachine } from './model.js';
