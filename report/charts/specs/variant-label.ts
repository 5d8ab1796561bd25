/**
 * Short names for variants (`platform/backend/preset`, '-' where a platform has no such dimension) on axes and bar
 * labels, where a full name would be cut off: the last meaningful part when that alone tells the variants apart
 * ('grouped', 'openwhisk'), else the name without the parts every variant shares ('docker/per-function').
 */
export function variantLabeler(variants: readonly string[]): (variant: string) => string {
  const parts = (v: string) => v.split('/');
  const last = (v: string) => parts(v).filter((p) => p !== '-').pop() ?? v;
  if (new Set(variants.map(last)).size === variants.length) return last;
  const shared = (i: number) => variants.every((v) => parts(v)[i] === parts(variants[0] ?? '')[i]);
  return (v) => parts(v).filter((p, i) => p !== '-' && !shared(i)).join('/') || v;
}
