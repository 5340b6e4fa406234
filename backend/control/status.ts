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
}

export function geometryOf(surface: Surface | null): BackendStatus['geometry'] {
  if (!surface) return null;
  const { width, height, stride } = surface;
  return { width, height, stride, bitsPerPixel: surface.format.bitsPerPixel, depth: surface.format.depth };
}

/** Per-client frame and byte rates from counters sampled every `intervalMs`. */
export class RateSampler {
  private prev = new Map<string, { at: number; updates: number; bytes: number }>();
  private rates = new Map<string, { fps: number; bytesPerSecond: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly servers: () => Array<{ server: DisplayServer }>,
    intervalMs = 1000,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(now = Date.now()): void {
    const seen = new Map<string, { at: number; updates: number; bytes: number }>();
    for (const { server } of this.servers()) {
      for (const c of server.clientInfo()) {
        const key = `${server.protocol}/${c.id}`;
        const before = this.prev.get(key);
        seen.set(key, { at: now, updates: c.updates, bytes: c.bytesOut });
        if (before && now > before.at) {
          const s = (now - before.at) / 1000;
          this.rates.set(key, {
            fps: Math.round(((c.updates - before.updates) / s) * 10) / 10,
            bytesPerSecond: Math.round((c.bytesOut - before.bytes) / s),
          });
        }
      }
    }
    this.prev = seen;
    for (const key of [...this.rates.keys()]) if (!seen.has(key)) this.rates.delete(key);
  }

  rate(protocol: string, id: number): { fps: number; bytesPerSecond: number } {
    return this.rates.get(`${protocol}/${id}`) ?? { fps: 0, bytesPerSecond: 0 };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export function formatAddress(a: BoundAddress | undefined | null): string | null {
  if (!a) return null;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
