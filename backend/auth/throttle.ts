// Failed-authentication throttling per client address, like TigerVNC's host blacklist
// (common/rfb/Blacklist.cxx): after AUTH_MAX_FAILURES failures within AUTH_FAILURE_WINDOW_MS
// an address is refused for AUTH_BACKOFF_MS. A success clears the address.

/** Failures from one address that start a backoff. */
export const AUTH_MAX_FAILURES = 5;
/** Failures older than this are forgotten. */
export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** How long an address is refused once it reached AUTH_MAX_FAILURES. */
export const AUTH_BACKOFF_MS = 60_000;
/** Addresses remembered at once; the stalest is dropped beyond this. */
export const AUTH_THROTTLE_MAX_HOSTS = 4096;

/** What a session sees of the throttle: its own address only. */
export interface AuthGate {
  /** True while this address is refused. */
  blocked(): boolean;
  failure(): void;
  success(): void;
}

interface HostRecord {
  failures: number[];
  blockedUntil: number;
}

export interface AuthThrottleOptions {
  maxFailures?: number;
  windowMs?: number;
  backoffMs?: number;
  /** Clock (ms); tests pass their own. */
  now?: () => number;
}

export class AuthThrottle {
  private readonly hosts = new Map<string, HostRecord>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly backoffMs: number;
  private readonly now: () => number;

  constructor(opts: AuthThrottleOptions = {}) {
    this.maxFailures = opts.maxFailures ?? AUTH_MAX_FAILURES;
    this.windowMs = opts.windowMs ?? AUTH_FAILURE_WINDOW_MS;
    this.backoffMs = opts.backoffMs ?? AUTH_BACKOFF_MS;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.hosts.size;
  }

  blocked(host: string): boolean {
    const rec = this.hosts.get(host);
    return rec !== undefined && this.now() < rec.blockedUntil;
  }

  failure(host: string): void {
    const now = this.now();
    const rec = this.hosts.get(host) ?? { failures: [], blockedUntil: 0 };
    this.hosts.delete(host); // re-insert: Map order is then least recently failed first
    rec.failures = rec.failures.filter((t) => now - t < this.windowMs);
    rec.failures.push(now);
    if (rec.failures.length >= this.maxFailures) {
      rec.blockedUntil = now + this.backoffMs;
      rec.failures = [];
    }
    this.hosts.set(host, rec);
    while (this.hosts.size > AUTH_THROTTLE_MAX_HOSTS) this.hosts.delete(this.hosts.keys().next().value as string);
  }

  success(host: string): void {
    this.hosts.delete(host);
  }

  gate(host: string): AuthGate {
    return {
      blocked: () => this.blocked(host),
      failure: () => this.failure(host),
      success: () => this.success(host),
    };
  }
}
