/**
 * PUT /api/v1/namespaces/{ns}/actions/{name}, sent with `Expect: 100-continue` (RFC 9110 §10.1.1).
 *
 * An action's zip can be tens of megabytes. A controller (or the nginx in front of it) that finds the declared
 * Content-Length over its limit answers 413 at once and closes; a client that is already uploading then sees the
 * connection reset and, depending on timing, never reads the 413. Asking first makes the outcome the same however the
 * timing falls: the server either answers 413 before a byte of the body leaves, or says 100 Continue. A server that
 * ignores the expectation gets the body after a short wait, as curl does.
 *
 * Failures are thrown in the shape of the `openwhisk` client's errors (`statusCode`, parsed `error`), so the adapter
 * maps both the same way.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface PutTarget {
  apihost: string;
  auth: string;
  namespace: string;
  ignoreCerts: boolean;
}

/** How long to wait for 100 Continue before sending the body anyway. */
const CONTINUE_WAIT_MS = 1000;

export function putAction(target: PutTarget, name: string, action: unknown, overwrite: boolean): Promise<unknown> {
  const body = Buffer.from(JSON.stringify(action));
  const url = new URL(`${target.apihost}/api/v1/namespaces/${encodeURIComponent(target.namespace)}/actions/${name.split('/').map(encodeURIComponent).join('/')}`);
  if (overwrite) url.searchParams.set('overwrite', 'true');
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: 'PUT',
      headers: {
        Authorization: `Basic ${Buffer.from(target.auth).toString('base64')}`,
        'Content-Type': 'application/json',
        'Content-Length': body.length,
        Expect: '100-continue',
      },
      ...(url.protocol === 'https:' ? { rejectUnauthorized: !target.ignoreCerts } : {}),
    });
    let sent = false;
    const sendBody = () => {
      if (sent) return;
      sent = true;
      clearTimeout(fallback);
      req.end(body);
    };
    const fallback = setTimeout(sendBody, CONTINUE_WAIT_MS);
    req.on('continue', sendBody);
    req.on('response', (res: IncomingMessage) => {
      clearTimeout(fallback);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => reject({ message: err.message }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim(); // a proxy's HTML or plain-text page
        }
        const status = res.statusCode ?? 0;
        // The server answered before the body was sent (a refusal): this request is over.
        if (!sent) req.destroy();
        if (status >= 200 && status < 300) resolve(parsed);
        else reject({ statusCode: status, error: typeof parsed === 'string' ? { error: parsed } : parsed, message: `${status} ${String(typeof parsed === 'string' ? parsed : text).slice(0, 300)}` });
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(fallback);
      reject({ message: err.code ?? err.message });
    });
  });
}
