// noop: returns at once; the floor of one invocation.
export const handler = async (event) => ({ ok: true, n: event?.n ?? null });
