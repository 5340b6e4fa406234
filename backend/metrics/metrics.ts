// Prometheus metrics of one backend (prom-client, a registry of its own): frames, bytes,
// clients, encode time, dirty-tile scans, UPDATE events and guest errors, all labelled with
// the domain. The numbers come from counters the backend already keeps (display servers'
// clients, the vfb device, the display); sample() turns their changes into monotonic
// Prometheus counters, also across a client leaving or a device reconnecting (its own
// counters then restart from zero).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One connected client as the metrics see it. */
export interface MetricsClient {
  protocol: string;
  id: number;
  updates: number;
  bytesOut: number;
  /** Per encoder: rects, bytes and milliseconds spent so far (VNC's EncodeManager stats). */
  encoders?: Record<string, { rects: number; bytes: number; ms: number }>;
}

export interface MetricsDevice {
  kind: string;
  devid: number;
  connected: boolean;
  /** vfb: tile scan counters (null without dirty tiles) and ring event counters. */
  tiles?: { scans: number; timerTicks: number; tiles: number; rects: number } | null;
  events?: { updates: number; badEvents: number; overflows: number; clipped: number };
}

export interface MetricsSource {
  clients(): MetricsClient[];
  devices(): MetricsDevice[];
  /** Damage rectangles the display reported so far. */
  damageRects(): number;
}

/** Encode time per frame, seconds: from 0.5 ms (a small dirty rect) to 1 s (a 4K full frame, slow encoder). */
const ENCODE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export class BackendMetrics {
  readonly registry = new Registry();
  private readonly frames: Counter<'protocol'>;
  private readonly bytes: Counter<'protocol'>;
  private readonly encodeSeconds: Histogram<'encoder'>;
  private readonly encodeTotal: Counter<'encoder'>;
  private readonly encodedBytes: Counter<'encoder'>;
  private readonly tileCounters: Record<'scans' | 'timerTicks' | 'tiles' | 'rects', Counter<'device'>>;
  private readonly updateEvents: Counter<'device'>;
  private readonly guestErrors: Counter<'device' | 'kind'>;
  private readonly damageRects: Counter;
  /** Last value seen of every source counter, by key: deltas only, never double counts. */
  private readonly last = new Map<string, number>();

  constructor(
    private readonly source: MetricsSource,
    domid: number,
  ) {
    this.registry.setDefaultLabels({ domid: String(domid) });
    collectDefaultMetrics({ register: this.registry, prefix: 'xenvfb_' });
    const r = [this.registry];
    this.frames = new Counter({
      name: 'xenvfb_frames_total',
      help: 'Framebuffer updates sent to clients',
      labelNames: ['protocol'],
      registers: r,
    });
    this.bytes = new Counter({
      name: 'xenvfb_sent_bytes_total',
      help: 'Bytes written to display clients',
      labelNames: ['protocol'],
      registers: r,
    });
    new Gauge({
      name: 'xenvfb_clients',
      help: 'Connected display clients',
      labelNames: ['protocol'],
      registers: r,
      collect() {
        this.reset();
        for (const c of source.clients()) this.inc({ protocol: c.protocol });
      },
    });
    this.encodeSeconds = new Histogram({
      name: 'xenvfb_encode_seconds',
      help: "Encode time per rectangle batch, by encoder (each sample's rects at that sample's mean)",
      labelNames: ['encoder'],
      buckets: ENCODE_BUCKETS,
      registers: r,
    });
    this.encodeTotal = new Counter({
      name: 'xenvfb_encode_seconds_total',
      help: 'Time spent encoding, by encoder',
      labelNames: ['encoder'],
      registers: r,
    });
    this.encodedBytes = new Counter({
      name: 'xenvfb_encoded_bytes_total',
      help: 'Encoded bytes, by encoder',
      labelNames: ['encoder'],
      registers: r,
    });
    const tile = (name: string, help: string) => new Counter({ name, help, labelNames: ['device'], registers: r });
    this.tileCounters = {
      scans: tile('xenvfb_tile_scans_total', 'Dirty-tile page scans (timer and notify)'),
      timerTicks: tile('xenvfb_tile_scan_ticks_total', 'Dirty-tile scans run by the scan timer (flat while the screen is still)'),
      tiles: tile('xenvfb_dirty_tiles_total', 'Dirty tiles drained from the page'),
      rects: tile('xenvfb_dirty_tile_rects_total', 'Rectangles made from dirty tiles'),
    };
    this.updateEvents = tile('xenvfb_update_events_total', 'XENFB_TYPE_UPDATE events from the guest');
    this.guestErrors = new Counter({
      name: 'xenvfb_guest_errors_total',
      help: 'Bad input from the guest: bad_event, ring_overflow, clipped (an update outside the framebuffer)',
      labelNames: ['device', 'kind'],
      registers: r,
    });
    this.damageRects = new Counter({ name: 'xenvfb_damage_rects_total', help: 'Damage rectangles the display reported', registers: r });
    new Gauge({
      name: 'xenvfb_device_connected',
      help: '1 when the device is Connected to its frontend',
      labelNames: ['device'],
      registers: r,
      collect() {
        this.reset();
        for (const d of source.devices()) this.set({ device: `${d.kind}/${d.devid}` }, d.connected ? 1 : 0);
      },
    });
  }

  /** The increase of a source counter since the last sample (a counter that restarted counts from 0). */
  private delta(key: string, value: number): number {
    const before = this.last.get(key);
    this.last.set(key, value);
    if (before === undefined || value < before) return value;
    return value - before;
  }

  sample(): void {
    const seen = new Set<string>();
    const d = (key: string, value: number) => {
      seen.add(key);
      return this.delta(key, value);
    };
    for (const c of this.source.clients()) {
      const k = `client/${c.protocol}/${c.id}`;
      this.frames.inc({ protocol: c.protocol }, d(`${k}/updates`, c.updates));
      this.bytes.inc({ protocol: c.protocol }, d(`${k}/bytes`, c.bytesOut));
      for (const [encoder, s] of Object.entries(c.encoders ?? {})) {
        const rects = d(`${k}/${encoder}/rects`, s.rects);
        const ms = d(`${k}/${encoder}/ms`, s.ms);
        this.encodeTotal.inc({ encoder }, ms / 1000);
        this.encodedBytes.inc({ encoder }, d(`${k}/${encoder}/bytes`, s.bytes));
        for (let i = 0; i < Math.min(rects, 1000); i++) this.encodeSeconds.observe({ encoder }, ms / 1000 / rects);
      }
    }
    for (const dev of this.source.devices()) {
      const device = `${dev.kind}/${dev.devid}`;
      if (dev.tiles) {
        for (const name of ['scans', 'timerTicks', 'tiles', 'rects'] as const) {
          this.tileCounters[name].inc({ device }, d(`${device}/tiles/${name}`, dev.tiles[name]));
        }
      }
      if (dev.events) {
        this.updateEvents.inc({ device }, d(`${device}/updates`, dev.events.updates));
        this.guestErrors.inc({ device, kind: 'bad_event' }, d(`${device}/bad`, dev.events.badEvents));
        this.guestErrors.inc({ device, kind: 'ring_overflow' }, d(`${device}/overflow`, dev.events.overflows));
        this.guestErrors.inc({ device, kind: 'clipped' }, d(`${device}/clipped`, dev.events.clipped));
      }
    }
    this.damageRects.inc(d('display/damageRects', this.source.damageRects()));
    // Gone clients and devices: forget their last values (a new one with the same id starts at 0).
    for (const key of [...this.last.keys()]) if (!seen.has(key)) this.last.delete(key);
  }

  /** The Prometheus text exposition, sampled now. */
  async text(): Promise<string> {
    this.sample();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
