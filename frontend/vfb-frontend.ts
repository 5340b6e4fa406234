// The vfb frontend, speaking the stock protocol exactly as Linux xen-fbfront does: a shared
// page with the fbif header, pd[] of directory frames listing the framebuffer frames,
// `page-ref` + `event-channel` + `protocol` + `feature-update=1`, and XENFB_TYPE_UPDATE
// events only when the backend asked for them (`request-update=1`). Damage is batched and
// flushed every refresh period (the backend's XENFB_TYPE_REFRESH_PERIOD, 50 ms by default,
// like fbfront's deferred I/O); no timer runs while nothing is dirty.
// Two extensions, each used only when the backend offers it and our options allow:
// `feature-grant-fb` (docs/dirty-tiles.md §2: pages shared by grant, `page-gref` + `grant-fb=1`) and
// `feature-dirty-tiles` (docs/dirty-tiles.md: damage marked in a shared tile page instead of
// UPDATE events, once the backend answers `request-dirty-tiles=1`).

import type { FrontendContext, FrontendDeviceOps } from './xenbus-frontend';
import type { EventChannels, GuestMemory, MappedRegion } from '../shared/platform/types';
import { MemoryGuestPages, type GuestPageBlock, type GuestPages } from './guest-pages';
import {
  decodeFbInEvent,
  dirPagesNeeded,
  encodeFbOutEvent,
  writeDirPages,
  writeFbPageHeader,
  writePd,
  XEN_IO_PROTO_ABI_X86_64,
  type FbAbi,
  type FbOutEvent,
} from '../shared/fbif';
import { FB_IN_RING, FB_OUT_RING, RingConsumer, RingProducer } from '../shared/ring';
import { clipRect, isEmptyRect, unionRect, type Rect } from '../shared/region';
import { xerror } from '../shared/errors';
import type { FramebufferTarget } from './workloads/workload';
import { chooseTileGeometry, initTilePage } from '../shared/dirty-tiles/page';
import { FrontendTileSwitcher, TileMarker, type FrontendTileSwitcherOptions } from './dirty-tiles/marker';
import { XEN_PAGE_SIZE } from '../shared/page';

/** Smallest largest-mode (VfbFrontendOptions.maxWidth/maxHeight) by default. */
export const VFB_DEFAULT_MAX_WIDTH = 1024;
export const VFB_DEFAULT_MAX_HEIGHT = 768;
const DEFAULT_REFRESH_MS = 50;
/** The pd[] layout we write: 8-byte entries, whatever the host (Node runs 64-bit). */
const FRONTEND_ABI: FbAbi = XEN_IO_PROTO_ABI_X86_64;
/** Distinct rects kept before they are merged into their bounding box. */
const MAX_PENDING_RECTS = 8;

export interface VfbFrontendStats {
  updatesSent: number;
  flushes: number;
  ringFull: number;
  /** Rectangles marked on the dirty-tile page. */
  marks: number;
  /** Marks that found the page idle and notified the backend (§4.1 step 4). */
  wokeNotifies: number;
}

export interface VfbFrontendOptions {
  /** Share our pages by grant when the backend offers feature-grant-fb (default true). */
  grantFb?: boolean;
  /**
   * Largest mode resize() may switch to: the framebuffer memory is allocated for it at
   * construction, as Linux fbfront sizes its memory once (default: the initial size, at
   * least VFB_DEFAULT_MAX_WIDTH x VFB_DEFAULT_MAX_HEIGHT).
   */
  maxWidth?: number;
  maxHeight?: number;
  /** Offer a dirty-tile page when the backend offers feature-dirty-tiles (default true). */
  dirtyTiles?: boolean;
  /**
   * Let the backend pace tile switches when it writes `dirty-tiles-paced=1` (no switch timer
   * here; docs/dirty-tiles.md §4.7). Default true; false keeps the v1 timer (benches).
   */
  tilePaced?: boolean;
  /**
   * Write `dirty-tiles-switch-on-mark=1`: the backend may ask to hear of our next mark, and we
   * then switch as soon as the drawing step that made it ends (docs/dirty-tiles.md §4.8).
   * Default true; false: switches only when the backend's timer asks (benches).
   */
  tileSwitchOnMark?: boolean;
  /** Timers of the tile switcher (tests stretch ticks to force late switches). */
  tileTimers?: Pick<FrontendTileSwitcherOptions, 'setTimer' | 'clearTimer'>;
}

interface TilePage {
  block: GuestPageBlock;
  region: MappedRegion;
  bytes: Uint8Array;
  cover: { width: number; height: number };
}

async function backendOffers(ctx: FrontendContext, feature: string): Promise<boolean> {
  return (await ctx.xs.tryRead(`${ctx.backendPath}/${feature}`))?.trim() === '1';
}

export class VfbFrontend implements FrontendDeviceOps, FramebufferTarget {
  readonly kind = 'vfb';
  /** Bytes per row of the current mode (width * 4); changes only through resize(). */
  stride: number;
  readonly data: Uint8Array;
  readonly stats: VfbFrontendStats = { updatesSent: 0, flushes: 0, ringFull: 0, marks: 0, wokeNotifies: 0 };
  private readonly fbBlock: GuestPageBlock;
  private readonly dirBytes: Uint8Array;
  /** The tile page; its tiles cover the largest mode, so a RESIZE never changes its header (§3). */
  private readonly tilePage: TilePage | undefined;
  private granted: GuestPageBlock[] = [];
  private grantedTo: number | undefined;
  private marker: TileMarker | undefined;
  private switcher: FrontendTileSwitcher | undefined;
  private readonly pageBlock: GuestPageBlock;
  private readonly page: Uint8Array;
  private readonly dirBlock: GuestPageBlock;
  private readonly pages: GuestPages;
  private evtchn: EventChannels | undefined;
  private port: number | undefined;
  private out: RingProducer | undefined;
  private in: RingConsumer | undefined;
  private updateWanted = false;
  /** The backend wrote feature-resize=1 (XENFB_TYPE_RESIZE is understood). */
  private resizeOffered = false;
  /** A RESIZE that found the out ring full, sent when the backend drains it. */
  private resizePending: FbOutEvent | undefined;
  private refreshMs = DEFAULT_REFRESH_MS;
  private pending: Rect[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly onEvent = (p: number) => {
    if (p === this.port) this.handleEvent();
  };

  constructor(
    /** A sim guest's memory, or the pages of guest-pages.ts (gntalloc on real Xen). */
    memory: GuestMemory | GuestPages,
    /** The current mode (changes only through resize()). */
    public width: number,
    public height: number,
    private readonly opts: VfbFrontendOptions = {},
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw xerror('FB_E_BAD_GEOMETRY', `framebuffer size ${width}x${height} is not valid`);
    }
    this.stride = width * 4;
    const maxWidth = opts.maxWidth ?? Math.max(width, VFB_DEFAULT_MAX_WIDTH);
    const maxHeight = opts.maxHeight ?? Math.max(height, VFB_DEFAULT_MAX_HEIGHT);
    if (!Number.isInteger(maxWidth) || !Number.isInteger(maxHeight) || maxWidth < width || maxHeight < height) {
      throw xerror('FB_E_BAD_GEOMETRY', `largest mode ${maxWidth}x${maxHeight} is smaller than ${width}x${height}`);
    }
    const memLength = Math.ceil((maxWidth * 4 * maxHeight) / XEN_PAGE_SIZE) * XEN_PAGE_SIZE;
    const pages = 'hasFrames' in memory ? memory : new MemoryGuestPages(memory);
    this.pages = pages;
    // The backend only reads the framebuffer and the directories; it writes the rings.
    const fb = pages.alloc(memLength / XEN_PAGE_SIZE, false);
    this.fbBlock = fb;
    this.data = new Uint8Array(fb.region.buffer, 0, memLength);
    this.dirBlock = pages.alloc(dirPagesNeeded(fb.count, FRONTEND_ABI), false);
    this.dirBytes = new Uint8Array(this.dirBlock.region.buffer);
    this.pageBlock = pages.alloc(1, true);
    this.page = new Uint8Array(this.pageBlock.region.buffer);
    if (opts.dirtyTiles !== false) {
      const tp = pages.alloc(1, true);
      const cover = { width: maxWidth, height: maxHeight };
      this.tilePage = { block: tp, region: tp.region, bytes: new Uint8Array(tp.region.buffer), cover };
    }
  }

  /** Directory pages: the framebuffer's frame numbers or grant refs in order (shared/fbif.ts). */
  private writeDirectory(entries: readonly number[]): void {
    writeDirPages(this.dirBytes, FRONTEND_ABI, entries);
  }

  private grant(remote: number, block: GuestPageBlock): readonly number[] {
    const refs = block.grant(remote);
    this.granted.push(block);
    this.grantedTo = remote;
    return refs;
  }

  private endGrants(): void {
    for (const b of this.granted) b.endGrants();
    this.granted = [];
    this.grantedTo = undefined;
  }

  /** Shared page, directories and framebuffer: by grant (grant-fb) or by frame number. */
  private sharePages(backendId: number, byGrant: boolean): Record<string, string> {
    if (!byGrant) {
      if (!this.fbBlock.frames || !this.dirBlock.frames || !this.pageBlock.frames) {
        throw xerror(
          'DEV_E_CONFIG',
          'this guest cannot name its frames (real Xen user space): it needs a backend offering feature-grant-fb, and grantFb on',
        );
      }
      this.writeDirectory(this.fbBlock.frames);
      writePd(this.page, FRONTEND_ABI, this.dirBlock.frames);
      return { 'page-ref': String(this.pageBlock.frames[0]) };
    }
    this.writeDirectory(this.grant(backendId, this.fbBlock));
    writePd(this.page, FRONTEND_ABI, this.grant(backendId, this.dirBlock));
    return { 'page-gref': String(this.grant(backendId, this.pageBlock)[0]), 'grant-fb': '1' };
  }

  /** A fresh tile page (header before the grant is published, §3), granted read-write. */
  private shareTilePage(backendId: number): Record<string, string> {
    const tp = this.tilePage!;
    initTilePage(tp.bytes, chooseTileGeometry(tp.cover.width, tp.cover.height));
    // damage() clips to the current mode before marking.
    this.marker = new TileMarker(tp.bytes, { fbWidth: tp.cover.width, fbHeight: tp.cover.height });
    const gref = String(this.grant(backendId, tp.block)[0]);
    return this.opts.tileSwitchOnMark === false
      ? { 'dirty-tiles-gref': gref }
      : { 'dirty-tiles-gref': gref, 'dirty-tiles-switch-on-mark': '1' };
  }

  get memLength(): number {
    return this.data.byteLength;
  }

  async connect(ctx: FrontendContext): Promise<Record<string, string>> {
    this.endGrants();
    this.marker = undefined;
    // Without frame numbers (real Xen user space) grants are the only way to share.
    const byGrant = (this.opts.grantFb !== false || !this.pages.hasFrames) && (await backendOffers(ctx, 'feature-grant-fb'));
    const tiles = this.tilePage !== undefined && (await backendOffers(ctx, 'feature-dirty-tiles'));
    this.page.fill(0);
    writeFbPageHeader(this.page, {
      width: this.width,
      height: this.height,
      lineLength: this.stride,
      memLength: this.memLength,
      depth: 32,
    });
    const shared = this.sharePages(ctx.backendId, byGrant);
    const tileNodes = tiles ? this.shareTilePage(ctx.backendId) : {};
    this.out = new RingProducer(this.page, FB_OUT_RING);
    this.in = new RingConsumer(this.page, FB_IN_RING);
    this.evtchn = await ctx.platform.eventChannels();
    this.port = await this.evtchn.allocUnbound(ctx.backendId);
    this.evtchn.on('event', this.onEvent);
    this.resizeOffered = await backendOffers(ctx, 'feature-resize');
    this.resizePending = undefined;
    this.updateWanted = false;
    return {
      ...shared,
      'event-channel': String(this.port),
      protocol: XEN_IO_PROTO_ABI_X86_64,
      'feature-update': '1',
      ...tileNodes,
    };
  }

  async backendConnected(ctx: FrontendContext): Promise<void> {
    this.updateWanted = (await ctx.xs.tryRead(`${ctx.backendPath}/request-update`)) === '1';
    if (this.marker && (await backendOffers(ctx, 'request-dirty-tiles'))) {
      const paced = this.opts.tilePaced !== false && (await backendOffers(ctx, 'dirty-tiles-paced'));
      this.switcher = new FrontendTileSwitcher({ marker: this.marker, notify: () => this.kick(), paced, ...this.opts.tileTimers });
      this.switcher.start();
      // From now on damage is marked, not sent: what waited for a flush goes as one full mark.
      this.pending = [];
      this.clearTimer();
    }
    const grantFb = this.grantedTo !== undefined;
    ctx.log.info({ updateWanted: this.updateWanted, dirtyTiles: this.dirtyTiles, grantFb }, 'framebuffer connected');
    // Whatever was drawn before the backend looked is news to it.
    this.damage({ x: 0, y: 0, width: this.width, height: this.height });
  }

  async disconnect(): Promise<void> {
    this.clearTimer();
    this.switcher?.stop();
    this.switcher = undefined;
    this.marker = undefined;
    this.endGrants();
    if (this.evtchn && this.port !== undefined) {
      this.evtchn.off('event', this.onEvent);
      // Best effort: after the backend or the event channel connection went away the port is
      // already closed, and there is nothing else to undo.
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
    if (this.switcher && this.marker) {
      this.stats.marks++;
      if (this.marker.mark(r)) this.notifyWoke();
      if (this.marker.takeSwitchOnMark()) this.switcher.onSwitchOnMark();
      return;
    }
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
    this.switcher?.onNotify();
    if (this.resizePending) this.pushResize(this.resizePending);
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

  /**
   * Switch mode, as Linux fbfront does on a mode set (xenfb_set_par -> XENFB_TYPE_RESIZE):
   * the same framebuffer memory, a new width, height and stride (width * 4), offset 0. Needs
   * a connected backend that offered feature-resize, and a mode that fits the memory
   * allocated at construction. Damage pending for the old mode is dropped; the caller
   * redraws. Throws DEV_E_STATE (not possible now) or FB_E_BAD_GEOMETRY (does not fit).
   */
  resize(width: number, height: number): void {
    if (!this.out || this.port === undefined || !this.resizeOffered) {
      throw xerror('DEV_E_STATE', `cannot switch to ${width}x${height}: the backend is not connected or did not offer feature-resize`);
    }
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || width * 4 * height > this.memLength) {
      throw xerror('FB_E_BAD_GEOMETRY', `mode ${width}x${height} does not fit the ${this.memLength}-byte framebuffer`, {
        width,
        height,
        memLength: this.memLength,
      });
    }
    this.width = width;
    this.height = height;
    this.stride = width * 4;
    this.pending = [];
    this.clearTimer();
    this.pushResize({ type: 'resize', width, height, stride: this.stride, depth: 32, offset: 0 });
  }

  private pushResize(ev: FbOutEvent): void {
    this.resizePending = undefined;
    if (!this.out || this.port === undefined) return;
    if (!this.out.push(encodeFbOutEvent(ev))) {
      this.stats.ringFull++;
      this.resizePending = ev;
      return;
    }
    this.evtchn!.notify(this.port);
  }

  /** Damage goes to the dirty-tile page (the backend answered request-dirty-tiles=1). */
  get dirtyTiles(): boolean {
    return this.switcher !== undefined;
  }

  /** The tile switcher while dirty tiles are on (tests read its counters and timer). */
  get tileSwitcher(): FrontendTileSwitcher | undefined {
    return this.switcher;
  }

  /** Our mapping of the dirty-tile page (tools and tests read its header). */
  get tilePageBytes(): Uint8Array | undefined {
    return this.tilePage?.bytes;
  }

  /**
   * Frames of the framebuffer and of the tile page (a multi-threaded sim guest maps them
   * itself); empty / undefined on real Xen, where user space cannot name its frames.
   */
  get sharedFrames(): { fb: readonly number[]; tilePage: number | undefined } {
    return { fb: this.fbBlock.frames ?? [], tilePage: this.tilePage?.block.frames?.[0] };
  }

  /**
   * A mark made elsewhere (another thread's TileMarker over this page) returned true: the
   * page was idle, notify the backend once (§4.1 step 4).
   */
  notifyWoke(): void {
    this.stats.wokeNotifies++;
    this.switcher?.onWokeMark();
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
    this.switcher?.stop();
    this.fbBlock.release();
    this.tilePage?.block.release();
  }
}
