import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../api.js';
import { recordRows, sessionTarget } from './session-view.js';

describe('sessionTarget', () => {
  it('an instance by id or alias, a function by name, or the whole session', () => {
    expect(sessionTarget('instance', ' echo.0 ')).toEqual({ ok: true, target: 'echo.0' });
    expect(sessionTarget('function', 'echo')).toEqual({ ok: true, target: { function: 'echo' } });
    expect(sessionTarget('all', 'ignored')).toEqual({ ok: true, target: { all: true } });
  });

  it('says what is missing when no name is given', () => {
    expect(sessionTarget('instance', '  ')).toEqual({ ok: false, message: 'Name the instance (its id or alias).' });
    expect(sessionTarget('function', '')).toEqual({ ok: false, message: 'Name the function.' });
  });
});

describe('recordRows', () => {
  it('one row per record, oldest first, with who, what and how long', () => {
    const records: SessionRecord[] = [
      { kind: 'pipe', sessionId: 's', pipeId: 'p1', instance: 'a.0', peer: 'b.0', side: 'opener', bytesIn: 0, bytesOut: 1024, t: { opened: 300, closed: 340 }, outcome: 'ok' },
      { kind: 'message', sessionId: 's', from: 'client', to: 'a.0', bytes: 12, t: { sent: 200, routed: 201, delivered: 205 } },
      { kind: 'lifecycle', sessionId: 's', instance: 'a.0', event: 'started', reason: null, t: 100 },
      { kind: 'lifecycle', sessionId: 's', instance: null, event: 'ended', reason: 'stopped by request', t: 400 },
    ];
    expect(recordRows(records)).toEqual([
      { t: 100, kind: 'lifecycle', who: 'a.0', what: 'started', durationMs: null },
      { t: 200, kind: 'message', who: 'client → a.0', what: '12 bytes', durationMs: 5 },
      { t: 300, kind: 'pipe', who: 'a.0 → b.0', what: 'opener, 1024 bytes out, 0 in, ok', durationMs: 40 },
      { t: 400, kind: 'lifecycle', who: 'session', what: 'ended: stopped by request', durationMs: null },
    ]);
  });
});
