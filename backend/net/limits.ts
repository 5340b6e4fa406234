// Every limit a network-facing server puts on its clients, in one options object with named
// defaults (docs/security.md "Network clients" lists them with their flags). The VNC server
// uses all of them; the web server the connection and head limits.

import { type AuthThrottleLimits, DEFAULT_AUTH_LIMITS } from '../auth/throttle';

/** Clients connected at once (handshaking or serving). */
export const NET_MAX_CONNECTIONS = 64;
/** Clients connected at once from one address. */
export const NET_MAX_CONNECTIONS_PER_ADDRESS = 16;
/** Each pre-authentication stage (version, security choice, VeNCrypt, TLS handshake, ClientInit) must finish within this. */
export const NET_HANDSHAKE_STAGE_MS = 10_000;
/** A password prompt: from the challenge (or Plain subtype ack) to the response, a person may be typing. */
export const NET_AUTH_RESPONSE_MS = 120_000;
/** How long a client past ClientInit waits for the guest to show a framebuffer before it is told no. */
export const NET_SURFACE_WAIT_MS = 30_000;
/** An HTTP request head (WebSocket upgrade or page) must be complete within this, however it trickles. */
export const NET_HTTP_HEAD_MS = 10_000;

export interface NetLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  handshakeStageMs: number;
  authResponseMs: number;
  surfaceWaitMs: number;
  httpHeadMs: number;
  /** Failed-authentication throttle (auth/throttle.ts). */
  auth: AuthThrottleLimits;
}

export const DEFAULT_NET_LIMITS: NetLimits = {
  maxConnections: NET_MAX_CONNECTIONS,
  maxConnectionsPerAddress: NET_MAX_CONNECTIONS_PER_ADDRESS,
  handshakeStageMs: NET_HANDSHAKE_STAGE_MS,
  authResponseMs: NET_AUTH_RESPONSE_MS,
  surfaceWaitMs: NET_SURFACE_WAIT_MS,
  httpHeadMs: NET_HTTP_HEAD_MS,
  auth: DEFAULT_AUTH_LIMITS,
};

export type NetLimitsOptions = Partial<Omit<NetLimits, 'auth'>> & { auth?: Partial<AuthThrottleLimits> };

/** Defaults filled in; a value that is not a positive integer is a configuration error. */
export function resolveNetLimits(opts: NetLimitsOptions = {}): NetLimits {
  const defined = <T extends object>(o: T): Partial<T> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  const { auth, ...rest } = opts;
  const limits: NetLimits = { ...DEFAULT_NET_LIMITS, ...defined(rest), auth: { ...DEFAULT_AUTH_LIMITS, ...defined(auth ?? {}) } };
  const all: Record<string, number> = { ...limits, ...limits.auth } as unknown as Record<string, number>;
  for (const [name, v] of Object.entries(all)) {
    if (name === 'auth') continue;
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`limit ${name} must be a non-negative integer, got ${v}`);
  }
  return limits;
}

/** Counts connections per address against the total and per-address limits. */
export class ConnectionCounter {
  private readonly byAddress = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: Pick<NetLimits, 'maxConnections' | 'maxConnectionsPerAddress'>) {}

  get size(): number {
    return this.total;
  }

  /** Count a new connection, or say which limit it is over (nothing counted then). */
  admit(address: string): 'ok' | 'total' | 'address' {
    if (this.total >= this.limits.maxConnections) return 'total';
    const n = this.byAddress.get(address) ?? 0;
    if (n >= this.limits.maxConnectionsPerAddress) return 'address';
    this.byAddress.set(address, n + 1);
    this.total += 1;
    return 'ok';
  }

  release(address: string): void {
    const n = this.byAddress.get(address);
    if (n === undefined) return;
    if (n <= 1) this.byAddress.delete(address);
    else this.byAddress.set(address, n - 1);
    this.total -= 1;
  }
}
