/**
 * The worker-to-worker channel: a worker listens on an inbox (a Unix socket in the sandbox's folder, named by the
 * agent) for invocations handed over by the worker of the previous state, and hands its own result over to the next
 * state's worker when the agent planned it (Handover, platform/protocol.ts). One wake-up per hop: the next worker
 * runs without the agent's event loop in between. Frames are those of the local bus, so the payload is the bytes the
 * previous worker serialised, never parsed or serialised again on the way.
 */
import { connect, createServer, type Server } from 'node:net';
import { unlink } from 'node:fs/promises';
import { FrameChannel, type Frame } from '../../bus/frames.js';
import { now } from '../../clock.js';
import { hopDelay } from '../../debug-hop-delay.js';
import type { AgentToWorkerFrame, Handover } from '../../protocol.js';

type InvokeHeader = Extract<AgentToWorkerFrame, { t: 'invoke' }>;

export class HandoverLinks {
  /** Open links to other workers' inboxes, by socket path (dialled on first use, kept for the next hops). */
  private readonly links = new Map<string, FrameChannel<never, InvokeHeader>>();
  /** Kept so the inbox stays open for the worker's life. */
  private server: Server | null = null;

  constructor(private readonly onInvoke: (frame: Frame<InvokeHeader>) => void) {}

  /** Listens on `socket`; false when it cannot (the agent then hands nothing over to this worker). */
  async listen(socket: string): Promise<boolean> {
    await unlink(socket).catch(() => undefined); // a stale inbox of a dead worker with the same pid
    const server = createServer((conn) => {
      new FrameChannel<AgentToWorkerFrame, never>(conn, (f) => {
        if (f.header.t === 'invoke') this.onInvoke(f as Frame<InvokeHeader>);
      });
    });
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(socket, () => resolve(true));
    });
    if (ok) {
      server.unref();
      this.server = server;
    }
    return ok;
  }

  /**
   * Sends `payload` (the result's JSON bytes, serialised and encoded once; the frame takes its length as is) as the
   * next invocation's event. False when the link is closed (the next worker died): then nothing was handed over, and
   * the result goes to the agent as usual.
   */
  forward(next: Handover, executionId: string | null, payload: Buffer): boolean {
    if (next.debugDelayUs !== undefined) hopDelay(next.debugDelayUs)();
    let link = this.links.get(next.to);
    if (!link || link.isClosed) {
      const socket = connect(next.to);
      socket.unref();
      link = new FrameChannel<never, InvokeHeader>(socket, () => undefined);
      this.links.set(next.to, link);
    }
    const header: InvokeHeader = { t: 'invoke', id: next.id, deadline: now() + next.timeoutMs, executionId, idempotencyKey: next.idempotencyKey };
    if (next.next) header.next = next.next;
    return link.send(header, payload);
  }
}
