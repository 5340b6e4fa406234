// When a supervised process (the demo's guest and backend, the watch daemon's backends)
// exits on its own: restart it after an exponentially growing delay, and give up after
// `limit` failures in a row. A run that lasted `stableMs` counts as healthy and resets the
// count, so a backend that crashes once a day is always restarted at once.

export interface RestartPolicyOptions {
  /** First delay (ms); doubles at every failure in a row. */
  baseMs?: number;
  /** Longest delay (ms). */
  maxMs?: number;
  /** Failures in a row after which the process is not restarted. */
  limit?: number;
  /** A run at least this long (ms) resets the failure count. */
  stableMs?: number;
}

export const RESTART_DEFAULTS: Required<RestartPolicyOptions> = { baseMs: 1000, maxMs: 30_000, limit: 5, stableMs: 30_000 };

export type RestartDecision = { action: 'restart'; delayMs: number; failures: number } | { action: 'give-up'; failures: number };

export class RestartPolicy {
  private readonly opts: Required<RestartPolicyOptions>;
  private failures = 0;

  constructor(opts: RestartPolicyOptions = {}) {
    this.opts = { ...RESTART_DEFAULTS, ...opts };
    if (!Number.isInteger(this.opts.limit) || this.opts.limit < 0) throw new RangeError(`restart limit ${this.opts.limit} is not a count`);
  }

  /** The process started at `startedAt` exited (on its own) at `now`. */
  onExit(startedAt: number, now: number): RestartDecision {
    if (now - startedAt >= this.opts.stableMs) this.failures = 0;
    this.failures++;
    if (this.failures > this.opts.limit) return { action: 'give-up', failures: this.failures };
    const delayMs = Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** (this.failures - 1));
    return { action: 'restart', delayMs, failures: this.failures };
  }

  /** Forget past failures (e.g. the watched device was re-created by the toolstack). */
  reset(): void {
    this.failures = 0;
  }
}

/** XENVFB_RESTART_BASE_MS shortens the first delay (tests); otherwise the defaults. */
export function restartPolicyFromEnv(limit?: number, env: NodeJS.ProcessEnv = process.env): RestartPolicy {
  const base = Number(env.XENVFB_RESTART_BASE_MS);
  return new RestartPolicy({
    ...(limit !== undefined ? { limit } : {}),
    ...(Number.isInteger(base) && base > 0 ? { baseMs: base } : {}),
  });
}
