// Returns its event unchanged: the cheapest possible step, so a chain measures the platform's per-hop cost only.
export const handler = async (event) => event;
