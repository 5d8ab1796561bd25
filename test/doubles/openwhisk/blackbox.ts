/**
 * The OpenWhisk double's invoker for Docker ("blackbox") actions: a real container on this host's Docker engine, run
 * from `exec.image` by tag, as OpenWhisk's DockerContainerFactory does (docker run with the action's memory limit, the
 * proxy's port 8080, then HTTP /init and /run). The real invoker pulls the image first; this host has no registry, so
 * the image must be in the local engine (the adapter builds it there) and a missing one fails the activation as the
 * invoker's failed pull does ("Failed to pull container image").
 *
 * The port is published on 127.0.0.1 only; stdout and stderr are attached and cut into lines for the invoker's log
 * collection (the sentinel line ends an activation's logs).
 */
import { request } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type Dockerode from 'dockerode';

export interface ProxyAnswer {
  code: number;
  response: Record<string, unknown>;
}

/** One running action container, as the invoker talks to it. */
export interface ContainerTransport {
  send(route: 'init' | 'run', body: Record<string, unknown>): Promise<ProxyAnswer>;
  /** Stops and removes the container; resolves when it is gone. */
  kill(): Promise<void>;
}

export class PullError extends Error {}

const EXITED: ProxyAnswer = { code: 502, response: { error: 'The action did not produce a valid response and exited unexpectedly.' } };
/** How long /init keeps retrying a connection the proxy does not accept yet (the invoker waits for the proxy too). */
const CONNECT_WAIT_MS = 30_000;

function lines(stream: Readable, onLine: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

function post(port: number, route: string, body: Record<string, unknown>): Promise<ProxyAnswer> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/${route}`, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        let response: Record<string, unknown>;
        try {
          response = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          response = { error: 'The action did not produce a valid JSON response.' };
        }
        resolve({ code: res.statusCode ?? 502, response });
      });
    });
    req.on('error', reject);
    req.end(text);
  });
}

export async function startBlackboxContainer(
  docker: Dockerode,
  o: { image: string; name: string; labels: Record<string, string>; memoryMB: number; onLine: (stream: 'stdout' | 'stderr', line: string) => void; onExit: () => void },
): Promise<ContainerTransport> {
  try {
    await docker.getImage(o.image).inspect();
  } catch {
    throw new PullError(`Failed to pull container image '${o.image}'.`);
  }
  const memory = o.memoryMB * 1024 * 1024;
  const container = await docker.createContainer({
    name: o.name,
    Image: o.image,
    Labels: o.labels,
    ExposedPorts: { '8080/tcp': {} },
    HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }, NetworkMode: 'bridge', Memory: memory, MemorySwap: memory },
  });
  let exited = false;
  const remove = () => container.remove({ force: true }).then(() => undefined, () => undefined);
  try {
    const attached = await container.attach({ stream: true, stdout: true, stderr: true });
    const out = new PassThrough();
    const err = new PassThrough();
    docker.modem.demuxStream(attached, out, err);
    lines(out, (l) => o.onLine('stdout', l));
    lines(err, (l) => o.onLine('stderr', l));
    await container.start();
    void container.wait().then(
      () => {
        exited = true;
        o.onExit();
      },
      () => undefined,
    );
    const info = await container.inspect();
    const port = Number(info.NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort);
    if (!Number.isInteger(port) || port <= 0) throw new Error('no published port for 8080/tcp');
    return {
      async send(route, body) {
        const deadline = Date.now() + (route === 'init' ? CONNECT_WAIT_MS : 0);
        for (;;) {
          if (exited) return EXITED;
          try {
            return await post(port, route, body);
          } catch {
            // Docker's port forwarder accepts before the proxy listens, then resets: the invoker retries /init.
            if (Date.now() > deadline) return EXITED;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      },
      kill: remove,
    };
  } catch (e) {
    await remove();
    throw e;
  }
}
