/**
 * Task Resource forms this engine runs, all mapped to a function of the app by name:
 *   "fn", "function:fn", "arn:aws:lambda:<region>:<account>:function:fn[:alias|:version]"  (direct Lambda ARN: the
 *   Task result is the handler's return value), and
 *   "arn:aws:states:::lambda:invoke" with Parameters.FunctionName (the optimized integration: the result is
 *   {ExecutedVersion, Payload, StatusCode, ...} and the function's input is Parameters.Payload);
 * and the platform's own integrations, in the spirit of AWS service integrations (docs/asl.md#platform-integrations):
 *   "arn:mf:states:::session:start" starts the session its Parameters describe and answers its state;
 *   "arn:mf:states:::session:start.sync" starts it and waits until it ends.
 */

export type ResourceSpec =
  | { kind: 'lambda'; functionName: string }
  | { kind: 'lambda-invoke' }
  | { kind: 'integration'; integration: Integration }
  | { kind: 'unsupported'; reason: string }
  | { kind: 'invalid'; reason: string };

/** The platform integrations a Task can name, as `arn:mf:states:::<integration>`. */
export const INTEGRATIONS = ['session:start', 'session:start.sync'] as const;
export type Integration = (typeof INTEGRATIONS)[number];
const INTEGRATION_PREFIX = 'arn:mf:states:::';

const NAME = /^[A-Za-z0-9_-]{1,140}$/;
const QUALIFIER = /^(\$LATEST|[A-Za-z0-9_-]{1,128})$/;

/**
 * Extracts the function name from a Lambda function reference: a name, `name:qualifier`, `function:name`,
 * `<account>:function:name`, or a full ARN with an optional qualifier. Null when it is none of these.
 */
export function functionNameFromRef(ref: string): string | null {
  let m = /^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]*:\d*:function:([^:]+)(?::([^:]+))?$/.exec(ref);
  if (!m) m = /^(?:\d{12}:)?function:([^:]+)(?::([^:]+))?$/.exec(ref);
  if (!m) m = /^([^:]+)(?::([^:]+))?$/.exec(ref);
  if (!m) return null;
  const name = m[1]!;
  if (!NAME.test(name)) return null;
  if (m[2] !== undefined && !QUALIFIER.test(m[2])) return null;
  return name;
}

export function parseResource(resource: unknown): ResourceSpec {
  if (typeof resource !== 'string' || resource === '') return { kind: 'invalid', reason: 'Resource must be a non-empty string' };
  if (resource.startsWith('arn:mf:')) {
    const integration = resource.startsWith(INTEGRATION_PREFIX) ? resource.slice(INTEGRATION_PREFIX.length) : '';
    if ((INTEGRATIONS as readonly string[]).includes(integration)) return { kind: 'integration', integration: integration as Integration };
    return { kind: 'invalid', reason: `'${resource}' is not a MicroFunctions integration (known: ${INTEGRATIONS.map((i) => INTEGRATION_PREFIX + i).join(', ')})` };
  }
  const states = /^arn:aws[a-zA-Z-]*:states:([a-z0-9-]*):(\d*):(.*)$/.exec(resource);
  if (states) {
    const rest = states[3]!;
    if (rest === 'lambda:invoke' && states[1] === '' && states[2] === '') return { kind: 'lambda-invoke' };
    if (rest.startsWith('activity:')) return { kind: 'unsupported', reason: `Activities are not supported (${resource})` };
    if (rest === 'lambda:invoke.waitForTaskToken')
      return { kind: 'unsupported', reason: `the callback pattern (.waitForTaskToken) is not supported (${resource})` };
    return { kind: 'unsupported', reason: `only Lambda functions of the app can be Task resources; the service integration '${resource}' is not supported` };
  }
  if (resource.startsWith('arn:') && !/^arn:aws[a-zA-Z-]*:lambda:/.test(resource))
    return { kind: 'unsupported', reason: `only Lambda functions of the app can be Task resources; '${resource}' is not supported` };
  const name = functionNameFromRef(resource);
  if (name === null) return { kind: 'invalid', reason: `Resource '${resource}' is not a function name or Lambda function ARN` };
  return { kind: 'lambda', functionName: name };
}
