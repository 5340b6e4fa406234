// The vkbd frontend, as Linux xen-kbdfront: a page granted to the backend (`page-gref`, and
// its frame as `page-ref` for old backends), an event channel, `request-abs-pointer=1` when
// the backend offers it. Input events from the in ring are emitted as 'input'.

import { EventEmitter } from 'node:events';
import type { FrontendContext, FrontendDeviceOps } from './xenbus-frontend';
import type { EventChannels, GuestMemory } from '../shared/platform/types';
import { MemoryGuestPages, type GuestPageBlock, type GuestPages } from './guest-pages';
import { decodeKbdInEvent, type KbdInEvent } from '../shared/kbdif';
import { KBD_IN_RING, RingConsumer } from '../shared/ring';

/** Linux kbdfront's default absolute range (module parameter ptr_size). */
const DEFAULT_RANGE = { width: 800, height: 600 };

export type VkbdInput =
  | { type: 'key'; keycode: number; pressed: boolean }
  | { type: 'pos'; absX: number; absY: number; x: number; y: number; relZ: number }
  | { type: 'motion'; dx: number; dy: number; relZ: number };

/** Events: 'input' (VkbdInput). */
export class VkbdFrontend extends EventEmitter implements FrontendDeviceOps {
  readonly kind = 'vkbd';
  private readonly block: GuestPageBlock;
  private readonly page: Uint8Array;
  private evtchn: EventChannels | undefined;
  private port: number | undefined;
  private ring: RingConsumer | undefined;
  /** The absolute range the backend uses, read at connect (kbdfront reads it at probe). */
  range = { ...DEFAULT_RANGE };
  received = 0;
  private readonly onEvent = (p: number) => {
    if (p === this.port) this.handleEvent();
  };

  /** fbSize: the guest framebuffer, to turn absolute positions into pixels. */
  constructor(
    /** A sim guest's memory, or the pages of guest-pages.ts (gntalloc on real Xen). */
    memory: GuestMemory | GuestPages,
    private readonly fbSize: { width: number; height: number },
  ) {
    super();
    const pages = 'hasFrames' in memory ? memory : new MemoryGuestPages(memory);
    this.block = pages.alloc(1, true);
    this.page = new Uint8Array(this.block.region.buffer);
  }

  async connect(ctx: FrontendContext): Promise<Record<string, string>> {
    const { xs, backendPath, backendId, platform } = ctx;
    this.page.fill(0);
    const ref = this.block.grant(backendId)[0]!;
    const abs = (await xs.tryRead(`${backendPath}/feature-abs-pointer`)) === '1';
    const w = Number(await xs.tryRead(`${backendPath}/width`));
    const h = Number(await xs.tryRead(`${backendPath}/height`));
    this.range = Number.isInteger(w) && w > 0 && Number.isInteger(h) && h > 0 ? { width: w, height: h } : { ...DEFAULT_RANGE };
    this.ring = new RingConsumer(this.page, KBD_IN_RING);
    this.evtchn = await platform.eventChannels();
    this.port = await this.evtchn.allocUnbound(backendId);
    this.evtchn.on('event', this.onEvent);
    const nodes: Record<string, string> = {
      // page-ref (the frame) only where we can name it: real Xen user space cannot.
      ...(this.block.frames ? { 'page-ref': String(this.block.frames[0]) } : {}),
      'page-gref': String(ref),
      'event-channel': String(this.port),
    };
    if (abs) nodes['request-abs-pointer'] = '1';
    return nodes;
  }

  async disconnect(): Promise<void> {
    if (this.evtchn && this.port !== undefined) {
      this.evtchn.off('event', this.onEvent);
      // Best effort: after the backend or the event channel connection went away the port is
      // already closed, and there is nothing else to undo.
      await this.evtchn.unbind(this.port).catch(() => undefined);
    }
    this.port = undefined;
    this.ring = undefined;
  }

  private handleEvent(): void {
    this.ring?.drain((slot) => {
      const ev = decodeKbdInEvent(slot);
      const out = this.translate(ev);
      if (out) {
        this.received++;
        this.emit('input', out);
      }
    });
    if (this.port !== undefined) this.evtchn?.notify(this.port);
  }

  private translate(ev: KbdInEvent): VkbdInput | undefined {
    switch (ev.type) {
      case 'key':
        return { type: 'key', keycode: ev.keycode, pressed: ev.pressed };
      case 'pos':
        return {
          type: 'pos',
          absX: ev.absX,
          absY: ev.absY,
          x: toPixel(ev.absX, this.range.width, this.fbSize.width),
          y: toPixel(ev.absY, this.range.height, this.fbSize.height),
          relZ: ev.relZ,
        };
      case 'motion':
        return { type: 'motion', dx: ev.relX, dy: ev.relY, relZ: ev.relZ };
      default:
        return undefined; // kbdif.h: frontends ignore unknown in events
    }
  }
}

/** Invert the backend's scaling of [0, size-1] pixels onto [0, range-1]. */
function toPixel(abs: number, range: number, size: number): number {
  if (range <= 1) return 0;
  return Math.max(0, Math.min(size - 1, Math.round((abs * (size - 1)) / (range - 1))));
}
