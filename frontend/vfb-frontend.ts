// The vfb frontend, speaking the stock protocol exactly as Linux xen-fbfront does: a shared
// page with the fbif header, pd[] of directory frames listing the framebuffer frames,
// `page-ref` + `event-channel` + `protocol` + `feature-update=1`, and XENFB_TYPE_UPDATE
// events only when the backend asked for them (`request-update=1`). Damage is batched and
// flushed every refresh period (the backend's XENFB_TYPE_REFRESH_PERIOD, 50 ms by default,
// like fbfront's deferred I/O); no timer runs while nothing is dirty.

import type { FrontendContext, FrontendDeviceOps } from './xenbus-frontend';
import type { EventChannels, GuestMemory, MappedRegion } from '../shared/platform/types';
import {
  decodeFbInEvent,
  dirPagesNeeded,
  encodeFbOutEvent,
  writeFbPageHeader,
  writePd,
  type FbOutEvent,
} from '../shared/fbif';
import { FB_IN_RING, FB_OUT_RING, RingConsumer, RingProducer } from '../shared/ring';
import { clipRect, isEmptyRect, unionRect, type Rect } from '../shared/region';
import { xerror } from '../shared/errors';
import type { FramebufferTarget } from './workloads/workload';

const PAGE_SIZE = 4096;
const DEFAULT_REFRESH_MS = 50;
/** Distinct rects kept before they are merged into their bounding box. */
const MAX_PENDING_RECTS = 8;

export interface VfbFrontendStats {
  updatesSent: number;
  flushes: number;
  ringFull: number;
}

export class VfbFrontend implements FrontendDeviceOps, FramebufferTarget {
  readonly kind = 'vfb';
  readonly stride: number;
  readonly data: Uint8Array;
  readonly stats: VfbFrontendStats = { updatesSent: 0, flushes: 0, ringFull: 0 };
  private readonly fbFrames: number[];
  private readonly fbRegion: MappedRegion;
  private readonly pageFrame: number;
  private readonly page: Uint8Array;
  private readonly dirFrames: number[];
  private evtchn: EventChannels | undefined;
  private port: number | undefined;
  private out: RingProducer | undefined;
  private in: RingConsumer | undefined;
  private updateWanted = false;
  private refreshMs = DEFAULT_REFRESH_MS;
  private pending: Rect[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly onEvent = (p: number) => {
    if (p === this.port) this.handleEvent();
  };

  constructor(
    memory: GuestMemory,
    readonly width: number,
    readonly height: number,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw xerror('FB_E_BAD_GEOMETRY', `framebuffer size ${width}x${height} is not valid`);
    }
    this.stride = width * 4;
    const memLength = Math.ceil((this.stride * height) / PAGE_SIZE) * PAGE_SIZE;
    const fb = memory.alloc(memLength / PAGE_SIZE);
    this.fbFrames = fb.frames;
    this.fbRegion = fb.region;
    this.data = new Uint8Array(fb.region.buffer, 0, memLength);
    const dirs = memory.alloc(dirPagesNeeded(this.fbFrames.length, 'x86_64-abi'));
    this.dirFrames = dirs.frames;
    // Directory pages: the framebuffer frame numbers in order, 512 u64 per page.
    const dirView = new DataView(dirs.region.buffer);
    this.fbFrames.forEach((f, i) => dirView.setBigUint64(i * 8, BigInt(f), true));
    const page = memory.alloc(1);
    this.pageFrame = page.frames[0]!;
    this.page = new Uint8Array(page.region.buffer);
  }

  get memLength(): number {
    return this.data.byteLength;
  }

  async connect(ctx: FrontendContext): Promise<Record<string, string>> {
    this.page.fill(0);
    writeFbPageHeader(this.page, {
      width: this.width,
      height: this.height,
      lineLength: this.stride,
      memLength: this.memLength,
      depth: 32,
    });
    writePd(this.page, 'x86_64-abi', this.dirFrames);
    this.out = new RingProducer(this.page, FB_OUT_RING);
    this.in = new RingConsumer(this.page, FB_IN_RING);
    this.evtchn = await ctx.platform.eventChannels();
    this.port = await this.evtchn.allocUnbound(ctx.backendId);
    this.evtchn.on('event', this.onEvent);
    this.updateWanted = false;
    return {
      'page-ref': String(this.pageFrame),
      'event-channel': String(this.port),
      protocol: 'x86_64-abi',
      'feature-update': '1',
    };
  }

  async backendConnected(ctx: FrontendContext): Promise<void> {
    this.updateWanted = (await ctx.xs.tryRead(`${ctx.backendPath}/request-update`)) === '1';
    ctx.log.info({ updateWanted: this.updateWanted }, 'framebuffer connected');
    // Whatever was drawn before the backend looked is news to it.
    this.damage({ x: 0, y: 0, width: this.width, height: this.height });
  }

  async disconnect(): Promise<void> {
    this.clearTimer();
    if (this.evtchn && this.port !== undefined) {
      this.evtchn.off('event', this.onEvent);
      await this.evtchn.unbind(this.port).catch(() => undefined);
    }
    this.port = undefined;
    this.out = undefined;
    this.in = undefined;
    this.updateWanted = false;
  }

  /** FramebufferTarget: record changed pixels; they go out at the next refresh tick. */
  damage(rect: Rect): void {
    const r = clipRect(rect, this.width, this.height);
    if (isEmptyRect(r)) return;
    this.pending.push(r);
    if (this.pending.length > MAX_PENDING_RECTS) {
      this.pending = [this.pending.reduce(unionRect)];
    }
    this.armTimer();
  }

  private armTimer(): void {
    if (this.timer || !this.updateWanted || this.refreshMs === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.refreshMs);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Push pending rects as UPDATE events; what does not fit waits for the backend's notify. */
  flush(): void {
    const out = this.out;
    if (!out || !this.updateWanted || this.port === undefined) return;
    this.stats.flushes++;
    let sent = 0;
    while (this.pending.length > 0) {
      const r = this.pending[0]!;
      const ev: FbOutEvent = { type: 'update', x: r.x, y: r.y, width: r.width, height: r.height };
      if (!out.push(encodeFbOutEvent(ev))) {
        this.stats.ringFull++;
        break;
      }
      this.pending.shift();
      sent++;
    }
    this.stats.updatesSent += sent;
    if (sent > 0) this.evtchn!.notify(this.port);
  }

  private handleEvent(): void {
    this.in?.drain((slot) => {
      const ev = decodeFbInEvent(slot);
      if (ev.type === 'refresh-period') {
        // XENFB_NO_REFRESH (0): nobody is looking; keep the damage until someone is.
        this.refreshMs = ev.period === 0 ? 0 : Math.max(5, Math.min(1000, ev.period));
      }
    });
    // The backend consumed the out ring: what waited for room can go now.
    if (this.pending.length > 0) {
      if (this.refreshMs === 0) this.clearTimer();
      else this.armTimer();
    }
  }

  /**
   * Put one raw 40-byte slot on the out ring and notify, bypassing our own encoder: how the
   * tests play a hostile or buggy guest. Returns false when the ring is full.
   */
  sendRawEvent(slot: Uint8Array): boolean {
    if (!this.out || this.port === undefined) return false;
    const ok = this.out.push(slot);
    if (ok) this.evtchn!.notify(this.port);
    return ok;
  }

  /** Notify the backend without sending anything (after a test scribbled on the page). */
  kick(): void {
    if (this.port !== undefined) this.evtchn?.notify(this.port);
  }

  /** The shared page (fbif header, pd[], rings) as the backend sees it. */
  get sharedPage(): Uint8Array {
    return this.page;
  }

  /** Pixel access for workloads and tests: XRGB8888 at (x, y). */
  pixel(x: number, y: number): number {
    const o = y * this.stride + x * 4;
    return (this.data[o]! | (this.data[o + 1]! << 8) | (this.data[o + 2]! << 16)) >>> 0;
  }

  release(): void {
    this.clearTimer();
    this.fbRegion.unmap();
  }
}
