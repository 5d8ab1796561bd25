import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromAzureTrace, parseAzureTrace } from './azure-trace.js';

const CSV = readFileSync(new URL('./fixtures/azure-trace-mini.csv', import.meta.url), 'utf8');
const countIn = (offsets: number[], a: number, b: number) => offsets.filter((o) => o >= a && o < b).length;

describe('Azure Functions 2019 trace', () => {
  it('parses the per-minute invocation-count format', () => {
    const rows = parseAzureTrace(CSV);
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => [r.trigger, r.counts])).toEqual([
      ['http', [12, 0, 30, 7, 1]],
      ['timer', [1, 1, 1, 1, 1]],
      ['queue', [0, 60, 0, 0, 240]],
    ]);
    expect(rows[0]!.hashFunction).toMatch(/^e1d2c3/);
  });

  it('uniform spread: exactly the trace counts per minute, deterministic in the seed', () => {
    const s = fromAzureTrace(CSV, { minutes: 5, functionRow: 0, spread: 'uniform', seed: 1, scale: 1 });
    expect(s.durationMs).toBe(5 * 60_000);
    expect([0, 1, 2, 3, 4].map((m) => countIn(s.offsetsMs, m * 60_000, (m + 1) * 60_000))).toEqual([12, 0, 30, 7, 1]);
    expect(fromAzureTrace(CSV, { minutes: 5, functionRow: 0, spread: 'uniform', seed: 1, scale: 1 })).toEqual(s);
    expect(fromAzureTrace(CSV, { minutes: 5, functionRow: 0, spread: 'uniform', seed: 2, scale: 1 }).offsetsMs).not.toEqual(s.offsetsMs);
    expect(s.params).toMatchObject({ traceCounts: [12, 0, 30, 7, 1], minutes: [1, 5] });
  });

  it('selects a minute range, a function by hash, or the sum of all; compresses time; scales', () => {
    const sum = fromAzureTrace(CSV, { minutes: [2, 3], spread: 'equidistant', seed: 1, scale: 1, minuteMs: 1000 });
    expect(sum.durationMs).toBe(2000);
    expect([countIn(sum.offsetsMs, 0, 1000), countIn(sum.offsetsMs, 1000, 2000)]).toEqual([0 + 1 + 60, 30 + 1 + 0]);
    const byHash = fromAzureTrace(CSV, { minutes: 5, functionRow: parseAzureTrace(CSV)[2]!.hashFunction, spread: 'equidistant', seed: 1, scale: 1, minuteMs: 1000 });
    expect(byHash.offsetsMs.slice(0, 3)).toEqual([1000, 1000 + 1000 / 60, 1000 + 2000 / 60]);
    // scale 0.5 with stochastic rounding: minute 5 sums to 242 -> 121 exactly; minute 1 sums to 13 -> 6 or 7
    const half = fromAzureTrace(CSV, { minutes: 5, spread: 'uniform', seed: 3, scale: 0.5, minuteMs: 1000 });
    expect(countIn(half.offsetsMs, 4000, 5000)).toBe((1 + 1 + 240) * 0.5);
    expect([6, 7]).toContain(countIn(half.offsetsMs, 0, 1000)); // 13 * 0.5 = 6.5
  });

  it('poisson spread: the count per minute is Poisson around the trace count', () => {
    const s = fromAzureTrace(CSV, { minutes: 5, functionRow: 2, spread: 'poisson', seed: 4, scale: 1 });
    const n = countIn(s.offsetsMs, 4 * 60_000, 5 * 60_000);
    expect(Math.abs(n - 240)).toBeLessThan(4 * Math.sqrt(240));
  });

  it('refuses malformed input, naming the problem', () => {
    expect(() => parseAzureTrace('Owner,App,Function,Trigger,1\n')).toThrow(/must start with the columns/);
    expect(() => parseAzureTrace('HashOwner,HashApp,HashFunction,Trigger,1,3\n')).toThrow(/minute column 2/);
    expect(() => parseAzureTrace('HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,f,http,1\n')).toThrow(/line 2 .* 5 cells/);
    expect(() => parseAzureTrace('HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,f,http,1,x\n')).toThrow(/minute 2 .*"x" is not a count/);
    expect(() => parseAzureTrace('HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,f,http,1,\n')).toThrow(/line 2, minute 2 .*"" is not a count/);
    expect(() => parseAzureTrace('HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,f,http,1,-1\n')).toThrow(/minute 2 .*"-1" is not a count/);
    expect(() => parseAzureTrace('HashOwner,HashApp,HashFunction,Trigger,1\no,a,f,http,1\no,"a,b",f,http,1\n')).toThrow(/line 3 .* has quotes/);
    expect(() => parseAzureTrace('HashOwner,HashApp,HashFunction,Trigger\n')).toThrow(/no minute columns/);
    expect(() => parseAzureTrace('\n\n')).toThrow(/is empty/);
    expect(() => parseAzureTrace('a,b\n1,2\n')).toThrow(expect.objectContaining({ code: 'MF_CONFIG_INVALID', message: expect.stringMatching(/column 1 is "a"/) }));
    expect(() => fromAzureTrace(CSV, { minutes: 6, spread: 'uniform', seed: 1, scale: 1 })).toThrow(/within 1..5/);
    expect(() => fromAzureTrace(CSV, { minutes: 5, functionRow: 9, spread: 'uniform', seed: 1, scale: 1 })).toThrow(/no function row 9/);
  });
});
