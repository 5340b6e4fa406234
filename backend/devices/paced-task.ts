// Runs a piece of guest-driven work (a ring pass, a lifecycle pass) when kicked, at most at
// a token-bucket rate: kicks beyond it coalesce into one run when the next token is due.
// So a guest that notifies or rewrites xenstore as fast as it can costs the backend a
// bounded number of passes a second, and nothing it asked for is dropped: the deferred
// run sees everything that arrived meanwhile (issue 15; docs/security.md "Guests").

import { TokenBucket } from '../../shared/token-bucket';

export interface PacedTaskStats {
  /** Runs made. */
  runs: number;
  /** Kicks that found no token and were folded into a later run. */
  deferred: number;
}

export class PacedTask {
  readonly stats: PacedTaskStats = { runs: 0, deferred: 0 };
  private readonly bucket: TokenBucket;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly run: () => void,
    private readonly opts: { rate: number; burst: number; onDeferred?: () => void },
  ) {
    this.bucket = new TokenBucket(opts.rate, opts.burst, performance.now());
  }

  kick(): void {
    if (this.stopped) return;
    if (this.timer) {
      this.deferred();
      return;
    }
    const now = performance.now();
    if (this.bucket.take(now)) {
      this.stats.runs++;
      this.run();
      return;
    }
    this.deferred();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, this.bucket.waitMs(now));
  }

  private deferred(): void {
    this.stats.deferred++;
    this.opts.onDeferred?.();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
