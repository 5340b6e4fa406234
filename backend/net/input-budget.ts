// Fair share of the event loop per client: the time a connection's input handling takes
// (parsing, handling, whatever encoding runs inline) is charged to a token bucket; a client
// that used more than its share stops being read until its bucket refills. The bytes wait in
// the kernel (TCP flow control pushes back on the sender), so a flood costs the flooder
// latency, not the other clients their updates. One event loop serves every client, so this
// is the only place a per-client CPU bound can live.

/** Share of the event loop one client's input handling may use on average while others are connected. */
export const INPUT_CPU_SHARE = 0.15;
/** Handling time a client may use in one burst before the share applies. */
export const INPUT_BURST_MS = 100;

export interface InputBudgetOptions {
  share?: number;
  burstMs?: number;
  now?: () => number;
}

export class InputBudget {
  private tokens: number;
  private last: number;
  private readonly share: number;
  private readonly burst: number;
  private readonly now: () => number;
  /** Times this client was paused for going over its share. */
  throttled = 0;

  constructor(opts: InputBudgetOptions = {}) {
    this.share = opts.share ?? INPUT_CPU_SHARE;
    this.burst = opts.burstMs ?? INPUT_BURST_MS;
    this.now = opts.now ?? (() => performance.now());
    this.tokens = this.burst;
    this.last = this.now();
  }

  /**
   * Run one input handler and charge its time, less `exempt()` (work it did that is bounded
   * elsewhere: frames, paced by the frame clock); returns how long reading should pause (0: go on).
   */
  run(fn: () => void, exempt?: () => number): number {
    const t0 = this.now();
    this.refill(t0);
    try {
      fn();
    } finally {
      this.tokens -= Math.max(0, this.now() - t0 - (exempt?.() ?? 0));
    }
    if (this.tokens >= 0) return 0;
    this.throttled += 1;
    return Math.ceil(-this.tokens / this.share);
  }

  private refill(t: number): void {
    this.tokens = Math.min(this.burst, this.tokens + (t - this.last) * this.share);
    this.last = t;
  }
}

/** Something that can stop and restart reading (net.Socket, tls.TLSSocket, ws WebSocket). */
export interface Pausable {
  pause(): void;
  resume(): void;
}

/**
 * Feed `handle` from a readable source under a budget: after a chunk that overdrew it, the
 * source is paused until the bucket refilled. `contended` says whether others are connected
 * (a lone client is never slowed).
 */
export function budgeted<T>(
  budget: InputBudget,
  source: Pausable,
  contended: () => boolean,
  handle: (chunk: T) => void,
  exempt?: () => number,
): (chunk: T) => void {
  let paused = false;
  return (chunk: T) => {
    if (!contended()) {
      handle(chunk);
      exempt?.(); // reset, so a later contended chunk is not credited with this work
      return;
    }
    const wait = budget.run(() => handle(chunk), exempt);
    if (wait <= 0 || paused) return;
    paused = true;
    source.pause();
    setTimeout(() => {
      paused = false;
      source.resume();
    }, wait).unref();
  };
}
