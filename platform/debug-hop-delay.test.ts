import { describe, expect, it } from 'vitest';
import { isMfError } from './errors.js';
import { DEBUG_HOP_DELAY_VAR, debugHopDelayUs, hopDelay } from './debug-hop-delay.js';

describe('the debug hop delay switch', () => {
  it('is off unless set, and reads whole microseconds', () => {
    expect(debugHopDelayUs({})).toBe(0);
    expect(debugHopDelayUs({ [DEBUG_HOP_DELAY_VAR]: '' })).toBe(0);
    expect(debugHopDelayUs({ [DEBUG_HOP_DELAY_VAR]: '250' })).toBe(250);
  });

  it.each(['-1', '1.5', 'abc', '2000000'])('refuses %s with MF_CONFIG_INVALID', (value) => {
    let e: unknown;
    try {
      debugHopDelayUs({ [DEBUG_HOP_DELAY_VAR]: value });
    } catch (err) {
      e = err;
    }
    expect(isMfError(e, 'MF_CONFIG_INVALID')).toBe(true);
  });

  it('waits at least the asked time', () => {
    const delay = hopDelay(2000);
    const t0 = performance.now();
    delay();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2);
  });
});
