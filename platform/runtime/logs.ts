/**
 * Per-invocation log capture. console.* is patched once; each invocation runs inside an AsyncLocalStorage
 * store holding its own sink, so concurrent invocations in one worker keep their lines apart. Lines written
 * outside any invocation (module top level, stray timers after an invocation finished) go to the real stderr.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { format, inspect } from 'node:util';
import { now } from '../clock.js';
import type { LogLine } from '../protocol.js';

/** At most this many lines are kept per invocation (one truncation marker line follows when more were written). */
export const MAX_LOG_LINES = 1000;
/** At most this many bytes (UTF-8) of messages are kept per invocation. */
export const MAX_LOG_BYTES = 256 * 1024;

type Level = LogLine['level'];

/** Where one invocation's lines go. */
export class LogSink {
  readonly lines: LogLine[] = [];
  private bytes = 0;
  private droppedLines = 0;
  private closed = false;

  constructor(readonly invocationId: string) {}

  write(level: Level, message: string): void {
    if (this.closed) {
      // A line from work the invocation left running after it finished: its result is gone, keep the line visible.
      writeStderr(level, `[${this.invocationId}] ${message}`);
      return;
    }
    if (this.lines.length >= MAX_LOG_LINES || this.bytes >= MAX_LOG_BYTES) {
      this.droppedLines++;
      return;
    }
    const size = Buffer.byteLength(message);
    if (this.bytes + size > MAX_LOG_BYTES) {
      // Keep the head of the line that crosses the limit; everything after it is dropped.
      const room = MAX_LOG_BYTES - this.bytes;
      message = `${Buffer.from(message).subarray(0, room).toString()}…`;
      this.bytes = MAX_LOG_BYTES;
    } else {
      this.bytes += size;
    }
    this.lines.push({ t: now(), level, message });
  }

  /** Ends capture: adds the truncation marker if lines were dropped; later lines go to stderr. */
  close(): LogLine[] {
    if (!this.closed) {
      this.closed = true;
      if (this.droppedLines > 0 || this.bytes >= MAX_LOG_BYTES) {
        this.lines.push({
          t: now(),
          level: 'warn',
          message: `[mfbench] log output truncated: ${this.droppedLines} more line(s) dropped (limit ${MAX_LOG_LINES} lines / ${MAX_LOG_BYTES / 1024} KiB per invocation)`,
        });
      }
    }
    return this.lines;
  }
}

/** The store of the running invocation's sink. */
export const logStorage = new AsyncLocalStorage<LogSink>();

function writeStderr(level: Level, message: string): void {
  process.stderr.write(level === 'info' ? `${message}\n` : `${level.toUpperCase()} ${message}\n`);
}

function emit(level: Level, message: string): void {
  const sink = logStorage.getStore();
  if (sink === undefined) writeStderr(level, message);
  else sink.write(level, message);
}

let installed = false;

/** Replaces console.log/info/warn/error/debug/trace/dir with capturing versions (idempotent). */
export function installConsoleCapture(): void {
  if (installed) return;
  installed = true;
  const c = console as unknown as Record<string, unknown>;
  c.log = (...args: unknown[]) => emit('info', format(...args));
  c.info = (...args: unknown[]) => emit('info', format(...args));
  c.warn = (...args: unknown[]) => emit('warn', format(...args));
  c.error = (...args: unknown[]) => emit('error', format(...args));
  c.debug = (...args: unknown[]) => emit('debug', format(...args));
  c.trace = (...args: unknown[]) => {
    const err = { name: 'Trace', message: format(...args) } as { name: string; message: string; stack?: string };
    Error.captureStackTrace(err, c.trace as () => void);
    emit('debug', err.stack ?? `Trace: ${err.message}`);
  };
  c.dir = (obj: unknown, options?: object) => emit('info', inspect(obj, { customInspect: false, ...options }));
}

/** The logger a function gets as `context.log`: callable (like console.log) and with one method per level. */
export interface FunctionLogger {
  (...args: unknown[]): void;
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
}

/** A logger bound to one invocation's sink (works even from callbacks that lost the async context). */
export function makeLogger(sink: LogSink): FunctionLogger {
  const info = (...args: unknown[]) => sink.write('info', format(...args));
  return Object.assign(info, {
    log: info,
    info,
    warn: (...args: unknown[]) => sink.write('warn', format(...args)),
    error: (...args: unknown[]) => sink.write('error', format(...args)),
    debug: (...args: unknown[]) => sink.write('debug', format(...args)),
  });
}
