// Per-port pacing of fired event channels, for both platforms. A fired port stays masked (in
// the kernel's /dev/xen/evtchn or in the simulator's relay) until its owner unmasks it, and
// notifies that land meanwhile are latched, not lost. So the cheapest defence against a peer
// that notifies in a tight loop is to unmask late: each port gets a token bucket, and a port
// that fires with its bucket empty is held masked until the next token, then delivered once.
// A storm then costs its victim at most `rate` wakeups a second per port, whatever the peer
// sends; a well-behaved peer (a few hundred events a second at most) never waits.

import { TokenBucket } from '../token-bucket';

/** Deliveries a second per port before pacing starts: far above any device's real rate. */
export const EVTCHN_EVENT_RATE = 1000;
/** Deliveries a port may make back to back before the rate applies. */
export const EVTCHN_EVENT_BURST = 100;

export interface EventPacerOptions {
  rate?: number;
  burst?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

export class EventPacer {
  private readonly buckets = new Map<number, TokenBucket>();
  private readonly held = new Map<number, NodeJS.Timeout>();
  private readonly rate: number;
  private readonly burst: number;
  private readonly now: () => number;
  /** Firings that were held for a token (a figure for tests and logs). */
  deferred = 0;

  /** `deliver(port)` unmasks the port and tells the listeners; it is called at most once per firing. */
  constructor(
    private readonly deliver: (port: number) => void,
    opts: EventPacerOptions = {},
  ) {
    this.rate = opts.rate ?? EVTCHN_EVENT_RATE;
    this.burst = opts.burst ?? EVTCHN_EVENT_BURST;
    this.now = opts.now ?? (() => performance.now());
  }

  /** The port fired (and is masked): deliver now, or once when its next token is due. */
  fired(port: number): void {
    if (this.held.has(port)) return;
    let bucket = this.buckets.get(port);
    if (!bucket) this.buckets.set(port, (bucket = new TokenBucket(this.rate, this.burst, this.now())));
    const now = this.now();
    if (bucket.take(now)) {
      this.deliver(port);
      return;
    }
    this.deferred++;
    const timer = setTimeout(() => {
      this.held.delete(port);
      bucket.take(this.now());
      this.deliver(port);
    }, bucket.waitMs(now));
    // A held port must not keep a process alive that would otherwise exit (the device
    // handle decides that: see unref() on the event channels).
    timer.unref();
    this.held.set(port, timer);
  }

  /** The port is gone: drop its hold and its bucket. */
  forget(port: number): void {
    const t = this.held.get(port);
    if (t) clearTimeout(t);
    this.held.delete(port);
    this.buckets.delete(port);
  }

  close(): void {
    for (const port of [...this.held.keys()]) this.forget(port);
    this.buckets.clear();
  }
}
