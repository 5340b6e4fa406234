// One logger shape for the whole project: pino's object-first signature. Code that takes a
// logger accepts this interface so tests can pass a silent or capturing one.

import * as fs from 'node:fs';
import pino from 'pino';

export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export function createLogger(opts: { name: string; level?: string; destination?: number }): Logger {
  const level = opts.level ?? process.env.XENVFB_LOG_LEVEL ?? 'info';
  return pino({ name: opts.name, level }, new LineWriter(opts.destination ?? 2)) as unknown as Logger;
}

/** How long one log line may wait for a full pipe (EAGAIN) before it is dropped. */
const LOG_EAGAIN_BUDGET_MS = 100;

/**
 * pino's destination, written synchronously line by line, that never hangs the process:
 * sonic-boom's flushSync (run by pino at exit) retries a failed write forever, so a process
 * whose stderr reader is gone (supervisor killed, `2>&1 | head`) spun on EPIPE and never
 * exited. Here a closed reader (EPIPE, EBADF) ends logging, and a reader that does not read
 * (EAGAIN) costs at most LOG_EAGAIN_BUDGET_MS per line, then the line is dropped and counted.
 */
export class LineWriter {
  private dead = false;
  dropped = 0;
  private static readonly sleeper = new Int32Array(new SharedArrayBuffer(4));

  constructor(private readonly fd: number) {}

  write(line: string): void {
    if (this.dead) return;
    let buf = Buffer.from(line, 'utf8');
    const deadline = Date.now() + LOG_EAGAIN_BUDGET_MS;
    while (buf.length > 0) {
      try {
        buf = buf.subarray(fs.writeSync(this.fd, buf));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' && Date.now() < deadline) {
          Atomics.wait(LineWriter.sleeper, 0, 0, 1);
          continue;
        }
        if (code === 'EAGAIN') this.dropped++;
        else this.dead = true;
        return;
      }
    }
  }
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** Logs a message at most once per `intervalMs` per key (guest garbage must not flood logs). */
export class RateLimitedLog {
  private readonly last = new Map<string, number>();
  private suppressed = new Map<string, number>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 5000,
  ) {}

  warn(key: string, obj: Record<string, unknown>, msg: string): void {
    this.at('warn', key, obj, msg);
  }

  error(key: string, obj: Record<string, unknown>, msg: string): void {
    this.at('error', key, obj, msg);
  }

  private at(level: 'warn' | 'error', key: string, obj: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    const prev = this.last.get(key);
    if (prev !== undefined && now - prev < this.intervalMs) {
      this.suppressed.set(key, (this.suppressed.get(key) ?? 0) + 1);
      return;
    }
    const skipped = this.suppressed.get(key) ?? 0;
    this.suppressed.delete(key);
    this.last.set(key, now);
    this.log[level](skipped > 0 ? { ...obj, suppressed: skipped } : obj, msg);
  }
}
