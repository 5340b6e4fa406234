// What `status` on the control socket answers (and what `xenvfb status` prints): the
// domain's devices and their xenbus states, the framebuffer geometry, each display server
// with its clients, and the damage counters (tile scans, UPDATE events). Rates (fps, bytes
// per second) come from a RateSampler that compares counters a second apart.

import type { DisplayClientInfo, DisplayServer } from '../display-server';
import type { Surface } from '../display/display';
import type { BoundAddress } from '../listen';
import type { TileLoopStats } from '../damage/tile-scan-loop';
import type { DisplayStats } from '../display/guest-display';
import type { VfbStats } from '../devices/vfb';
import type { CaptureStatus } from '../capture/live-capture';

export interface DeviceStatus {
  kind: string;
  devid: number;
  /** Backend xenbus state name (Initialising, InitWait, Connected, ...). */
  backendState: string;
  frontendState: string | null;
  /** vfb only. */
  grantFb?: boolean;
  dirtyTiles?: boolean;
  tiles?: TileLoopStats | null;
  events?: VfbStats;
}

export interface ClientStatus extends DisplayClientInfo {
  protocol: string;
  /** Frames (updates) a second over the last sampling interval. */
  fps: number;
  /** Bytes a second written to the client over the last sampling interval. */
  bytesPerSecond: number;
  /** Encodings used so far (protocol specific: e.g. VNC encoder name -> rects, bytes). */
  encodings?: Record<string, unknown>;
}

export interface BackendStatus {
  domid: number;
  pid: number;
  uptimeSeconds: number;
  geometry: { width: number; height: number; stride: number; bitsPerPixel: number; depth: number } | null;
  devices: DeviceStatus[];
  servers: Array<{ protocol: string; listen: string; clients: number }>;
  web: string | null;
  clients: ClientStatus[];
  display: DisplayStats;
  /** The running capture, or the last one (recording false), or null. */
  capture: CaptureStatus | null;
}

export function geometryOf(surface: Omit<Surface, 'data'> | null): BackendStatus['geometry'] {
  if (!surface) return null;
  const { width, height, stride } = surface;
  return { width, height, stride, bitsPerPixel: surface.format.bitsPerPixel, depth: surface.format.depth };
}

/**
 * Per-client frame and byte rates, sampled when someone asks (a status request), never on a
 * timer: an idle backend must not wake up for them. A rate covers the time since the previous
 * sample at least MIN_SAMPLE_MS old, or since the client connected for its first.
 */
export class RateSampler {
  static readonly MIN_SAMPLE_MS = 500;
  private prev = new Map<string, { at: number; updates: number; bytes: number }>();
  private rates = new Map<string, { fps: number; bytesPerSecond: number }>();

  constructor(private readonly servers: () => Array<{ server: DisplayServer }>) {}

  /** Take a sample now (once per request; rates then read from it). */
  sample(now = Date.now()): void {
    const seen = new Map<string, { at: number; updates: number; bytes: number }>();
    for (const { server } of this.servers()) {
      for (const c of server.clientInfo()) {
        const key = `${server.protocol}/${c.id}`;
        const before = this.prev.get(key) ?? (c.connectedAt !== undefined ? { at: c.connectedAt, updates: 0, bytes: 0 } : undefined);
        const current = { at: now, updates: c.updates, bytes: c.bytesOut };
        if (before && now - before.at >= RateSampler.MIN_SAMPLE_MS) {
          const s = (now - before.at) / 1000;
          this.rates.set(key, {
            fps: Math.round(((c.updates - before.updates) / s) * 10) / 10,
            bytesPerSecond: Math.round((c.bytesOut - before.bytes) / s),
          });
          seen.set(key, current);
        } else {
          seen.set(key, before ?? current);
        }
      }
    }
    this.prev = seen;
    for (const key of [...this.rates.keys()]) if (!seen.has(key)) this.rates.delete(key);
  }

  rate(protocol: string, id: number): { fps: number; bytesPerSecond: number } {
    return this.rates.get(`${protocol}/${id}`) ?? { fps: 0, bytesPerSecond: 0 };
  }

  /** Nothing to stop: there is no timer. */
  stop(): void {}
}

export function formatAddress(a: BoundAddress | undefined | null): string | null {
  if (!a) return null;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
