// Failed-authentication throttling per client address, for every protocol's password check.
// Not a hard ban (TigerVNC's common/rfb/Blacklist.cxx refuses an address outright, which on a
// shared 127.0.0.1 lets any local user lock the owner out): after AUTH_FREE_FAILURES recent
// failures, each further response from the address is judged only after a delay that doubles
// per failure up to AUTH_MAX_DELAY_MS, and the address's responses are judged one at a time
// (parallel connections do not multiply the guesses). A right password is still accepted,
// just later: the owner is slowed, never refused. At most AUTH_MAX_PENDING_PER_HOST
// authentications may be in progress per address, so opening many connections to the
// challenge does not get many guesses judged under one count. The gate is consulted when a
// response is judged, not when the challenge is sent. A success clears the address.

/** Failures from one address judged without delay. */
export const AUTH_FREE_FAILURES = 3;
/** The delay after the free failures; doubles with each further failure. */
export const AUTH_BASE_DELAY_MS = 1000;
/** The longest delay before a response is judged. */
export const AUTH_MAX_DELAY_MS = 30_000;
/** Failures older than this are forgotten. */
export const AUTH_FAILURE_WINDOW_MS = 10 * 60_000;
/** Authentications (challenge sent, response not judged) in progress at once per address. */
export const AUTH_MAX_PENDING_PER_HOST = 4;
/** Addresses remembered at once; the stalest is dropped beyond this. */
export const AUTH_THROTTLE_MAX_HOSTS = 4096;

/** What a session sees of the throttle: its own address only. */
export interface AuthGate {
  /** An authentication starts (challenge about to be sent); false: too many in progress from this address. */
  begin(): boolean;
  /** A response arrived: ms to wait before judging it (0: now). Reserves this address's next judging slot. */
  judgeDelay(): number;
  failure(): void;
  success(): void;
  /** The authentication begun ended (judged, or the connection went). Idempotent per begin(). */
  end(): void;
  /**
   * For protocols that judge at once (SPICE's ticket, backend/spice/connection.ts): true while
   * the address is within the current delay after its last failure. A cool-down that grows
   * with the failures, never a fixed ban; begin()/judgeDelay() are the judged-time form.
   */
  blocked(): boolean;
}

export interface AuthThrottleLimits {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  windowMs: number;
  maxPendingPerHost: number;
}

export const DEFAULT_AUTH_LIMITS: AuthThrottleLimits = {
  freeFailures: AUTH_FREE_FAILURES,
  baseDelayMs: AUTH_BASE_DELAY_MS,
  maxDelayMs: AUTH_MAX_DELAY_MS,
  windowMs: AUTH_FAILURE_WINDOW_MS,
  maxPendingPerHost: AUTH_MAX_PENDING_PER_HOST,
};

interface HostRecord {
  failures: number[];
  pending: number;
  /** When this address's next response may be judged. */
  nextJudgeAt: number;
}

export interface AuthThrottleOptions extends Partial<AuthThrottleLimits> {
  /** Clock (ms); tests pass their own. */
  now?: () => number;
}

export class AuthThrottle {
  private readonly hosts = new Map<string, HostRecord>();
  readonly limits: AuthThrottleLimits;
  private readonly now: () => number;

  constructor(opts: AuthThrottleOptions = {}) {
    const { now, ...limits } = opts;
    this.limits = { ...DEFAULT_AUTH_LIMITS, ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) };
    this.now = now ?? Date.now;
  }

  get size(): number {
    return this.hosts.size;
  }

  /** Recent failures of an address. */
  failures(host: string): number {
    const rec = this.hosts.get(host);
    if (!rec) return 0;
    const now = this.now();
    rec.failures = rec.failures.filter((t) => now - t < this.limits.windowMs);
    return rec.failures.length;
  }

  /** The delay a response from `host` would get now, before serialisation. */
  delayFor(host: string): number {
    const over = this.failures(host) - this.limits.freeFailures;
    if (over < 0) return 0;
    return Math.min(this.limits.maxDelayMs, this.limits.baseDelayMs * 2 ** Math.min(over, 30));
  }

  /** Within the current delay after the address's last failure (AuthGate.blocked). */
  blocked(host: string): boolean {
    const delay = this.delayFor(host);
    const last = this.hosts.get(host)?.failures.at(-1);
    return delay > 0 && last !== undefined && this.now() < last + delay;
  }

  begin(host: string): boolean {
    const rec = this.record(host);
    if (rec.pending >= this.limits.maxPendingPerHost) return false;
    rec.pending += 1;
    return true;
  }

  end(host: string): void {
    const rec = this.hosts.get(host);
    if (rec && rec.pending > 0) rec.pending -= 1;
    if (rec && rec.pending === 0 && rec.failures.length === 0) this.hosts.delete(host);
  }

  judgeDelay(host: string): number {
    const delay = this.delayFor(host);
    const rec = this.record(host);
    const now = this.now();
    if (delay === 0) {
      rec.nextJudgeAt = Math.max(rec.nextJudgeAt, now);
      return Math.max(0, rec.nextJudgeAt - now);
    }
    const at = Math.max(now + delay, rec.nextJudgeAt);
    rec.nextJudgeAt = at + delay;
    return at - now;
  }

  failure(host: string): void {
    const rec = this.record(host);
    rec.failures.push(this.now());
  }

  success(host: string): void {
    const rec = this.hosts.get(host);
    if (!rec) return;
    rec.failures = [];
    rec.nextJudgeAt = 0;
  }

  gate(host: string): AuthGate {
    let begun = false;
    return {
      begin: () => {
        if (begun) return true;
        begun = this.begin(host);
        return begun;
      },
      judgeDelay: () => this.judgeDelay(host),
      blocked: () => this.blocked(host),
      failure: () => this.failure(host),
      success: () => this.success(host),
      end: () => {
        if (!begun) return;
        begun = false;
        this.end(host);
      },
    };
  }

  private record(host: string): HostRecord {
    let rec = this.hosts.get(host);
    if (rec) {
      this.hosts.delete(host); // re-insert: Map order is then least recently used first
    } else {
      rec = { failures: [], pending: 0, nextJudgeAt: 0 };
    }
    this.hosts.set(host, rec);
    while (this.hosts.size > AUTH_THROTTLE_MAX_HOSTS) this.hosts.delete(this.hosts.keys().next().value as string);
    return rec;
  }
}
