// The benchmark's function: returns its input, so a sample measures the platform and nothing else.
export const handler = async (event) => event;
