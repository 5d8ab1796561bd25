/**
 * Requests sent as numbered messages over a channel that carries other messages too, each answered by a message
 * with the same id: a worker's storage calls to its agent, the agent's storage and pipe-broker calls to the frontend.
 */
export class PendingReplies<R> {
  private readonly pending = new Map<number, (reply: R) => void>();
  private nextId = 0;

  /** Sends the request under a fresh id; resolves with the answer to that id. */
  request(send: (id: number) => void): Promise<R> {
    return new Promise((resolve) => {
      const id = this.nextId++;
      this.pending.set(id, resolve);
      send(id);
    });
  }

  /** Hands an answer to the request it is for; an id nobody waits for is ignored. */
  answer(id: number, reply: R): void {
    const resolve = this.pending.get(id);
    this.pending.delete(id);
    resolve?.(reply);
  }
}
