// One logger shape for the whole project: pino's object-first signature. Code that takes a
// logger accepts this interface so tests can pass a silent or capturing one.

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
  return pino({ name: opts.name, level }, pino.destination(opts.destination ?? 2)) as unknown as Logger;
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
