/**
 * Progress for a person, on stderr only (docs/conventions.md#13): a cli-progress bar when stderr is a terminal, plain lines
 * otherwise (CI logs, pipes), and nothing at all when silenced.
 */
import cliProgress from 'cli-progress';
import type { Progress } from './types.js';

export function createProgress(mode: 'auto' | 'lines' | 'silent' = 'auto'): Progress {
  if (mode === 'silent') return { begin() {}, tick() {}, end() {}, note() {} };
  if (mode === 'auto' && process.stderr.isTTY) return barProgress();
  return lineProgress();
}

function lineProgress(): Progress {
  let label: string | null = null;
  let total = 0;
  let done = 0;
  let nextReport = 0;
  const write = (s: string) => process.stderr.write(`[mfbench] ${s}\n`);
  return {
    begin(l, t) {
      label = l;
      total = t;
      done = 0;
      nextReport = Math.max(1, Math.ceil(t / 4));
      write(`${label}: 0/${total}`);
    },
    tick(n = 1) {
      done += n;
      if (label !== null && done >= nextReport && done < total) {
        write(`${label}: ${done}/${total}`);
        nextReport += Math.max(1, Math.ceil(total / 4));
      }
    },
    end() {
      if (label === null) return;
      write(`${label}: ${done}/${total} done`);
      label = null;
    },
    note: write,
  };
}

function barProgress(): Progress {
  let bar: cliProgress.SingleBar | null = null;
  return {
    begin(label, total) {
      bar?.stop();
      bar = new cliProgress.SingleBar(
        { stream: process.stderr, format: `${label.padEnd(44).slice(0, 44)} {bar} {value}/{total} {duration_formatted}`, hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0);
    },
    tick(n = 1) {
      bar?.increment(n);
    },
    end() {
      bar?.stop();
      bar = null;
    },
    note(line) {
      if (bar) {
        bar.stop();
        bar = null;
      }
      process.stderr.write(`[mfbench] ${line}\n`);
    },
  };
}
