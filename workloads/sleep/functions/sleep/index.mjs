// sleep: waits event.ms milliseconds without using the CPU (a timer), then reports how long it really slept.
export const handler = async (event) => {
  const ms = Number(event?.ms);
  if (!Number.isFinite(ms) || ms < 0 || ms > 600_000) {
    throw Object.assign(new Error(`sleep: "ms" must be a number from 0 to 600000, got ${JSON.stringify(event?.ms)}`), { name: 'InvalidInput' });
  }
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { ms, sleptMs: performance.now() - start };
};
