// The vkbd backend device (xen/include/public/io/kbdif.h), compatible with Linux
// xen-kbdfront: the page comes by grant (`page-gref`, gntdev; `page-ref` + foreign mapping
// for frontends that only write that), client input goes on the in ring as KEY / POS /
// MOTION events. It is the InputSink the display servers feed.

import type { BackendDeviceOps, DeviceContext } from './xenbus-backend';
import type { EventChannels, MappedRegion } from '../../shared/platform/types';
import type { InputSink } from '../input/input-sink';
import { encodeKbdInEvent, type KbdInEvent } from '../../shared/kbdif';
import { KBD_IN_RING, RingProducer } from '../../shared/ring';
import { readFlag, readFrameNumber, readGrantRef, readPort } from './nodes';
import { xerror } from '../../shared/errors';

/** Events held while the in ring is full; older ones are dropped past this (a stuck guest). */
export const VKBD_PENDING_MAX = 256;
/** Raw pointer range of XENKBD_FIELD_RAW_POINTER (kbdif.h: [0, 0x7fff]). */
const RAW_POINTER_MAX = 0x7fff;

interface Binding {
  page: MappedRegion;
  evtchn: EventChannels;
  port: number;
  ring: RingProducer;
  onEvent: (port: number) => void;
}

export interface VkbdStats {
  sent: number;
  dropped: number;
  /** Horizontal wheel clicks a client sent: kbdif.h cannot carry them. */
  droppedHorizontalWheel: number;
}

export class VkbdBackend implements BackendDeviceOps, InputSink {
  readonly kind = 'vkbd';
  readonly stats: VkbdStats = { sent: 0, dropped: 0, droppedHorizontalWheel: 0 };
  private binding: Binding | undefined;
  private absPointer = false;
  private rawPointer = false;
  private lastX = 0;
  private lastY = 0;
  private lastAbs = { x: 0, y: 0 };
  private readonly pending: KbdInEvent[] = [];
  private retryTimer: NodeJS.Timeout | undefined;

  /** width/height: the absolute pointer range we advertise (kbdif XENKBD_FIELD_WIDTH/HEIGHT). */
  constructor(private readonly range: { width: number; height: number } = { width: 800, height: 600 }) {}

  async init(ctx: DeviceContext): Promise<void> {
    const { xs, backendPath } = ctx;
    // Linux kbdfront reads these at probe time only: they must be there before InitWait.
    await xs.write(`${backendPath}/feature-abs-pointer`, '1');
    await xs.write(`${backendPath}/feature-raw-pointer`, '1');
    await xs.write(`${backendPath}/width`, String(this.range.width));
    await xs.write(`${backendPath}/height`, String(this.range.height));
  }

  async initialise(ctx: DeviceContext): Promise<void> {
    const { xs, platform, domid, frontendPath, log } = ctx;
    const remotePort = await readPort(xs, `${frontendPath}/event-channel`);
    let page: MappedRegion;
    if ((await xs.tryRead(`${frontendPath}/page-gref`)) !== undefined) {
      page = platform.grants.mapGrants(domid, [await readGrantRef(xs, `${frontendPath}/page-gref`)], true);
    } else if (platform.foreign) {
      page = platform.foreign.mapFrames(domid, [await readFrameNumber(xs, `${frontendPath}/page-ref`)], true);
    } else {
      throw xerror('DEV_E_CONFIG', `${frontendPath} has no page-gref and we cannot foreign-map page-ref`);
    }
    try {
      const evtchn = await platform.eventChannels();
      const port = await evtchn.bindInterdomain(domid, remotePort);
      const binding: Binding = {
        page,
        evtchn,
        port,
        ring: new RingProducer(new Uint8Array(page.buffer), KBD_IN_RING),
        onEvent: (p) => {
          if (p === port) this.flush();
        },
      };
      evtchn.on('event', binding.onEvent);
      this.binding = binding;
      await this.readRequests(ctx);
      log.info({ port, abs: this.absPointer, raw: this.rawPointer }, 'keyboard/pointer connected');
    } catch (e) {
      page.unmap();
      throw e;
    }
  }

  async connected(ctx: DeviceContext): Promise<void> {
    await this.readRequests(ctx);
  }

  private async readRequests(ctx: DeviceContext): Promise<void> {
    this.absPointer = await readFlag(ctx.xs, `${ctx.frontendPath}/request-abs-pointer`);
    this.rawPointer = this.absPointer && (await readFlag(ctx.xs, `${ctx.frontendPath}/request-raw-pointer`));
  }

  async disconnect(ctx: DeviceContext): Promise<void> {
    const b = this.binding;
    this.binding = undefined;
    this.pending.length = 0;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (!b) return;
    b.evtchn.off('event', b.onEvent);
    await b.evtchn.unbind(b.port).catch((e: unknown) => ctx.log.warn({ err: e }, 'unbind failed'));
    b.page.unmap();
  }

  get connectedToGuest(): boolean {
    return this.binding !== undefined;
  }

  // InputSink -------------------------------------------------------------------------

  key(code: number, pressed: boolean): void {
    this.send({ type: 'key', pressed, keycode: code });
  }

  /** kbdif.h: buttons are XENKBD_TYPE_KEY events with BTN_* codes, like keys. */
  button(code: number, pressed: boolean): void {
    this.send({ type: 'key', pressed, keycode: code });
  }

  pointerRel(dx: number, dy: number): void {
    this.send({ type: 'motion', relX: dx, relY: dy, relZ: 0 });
  }

  pointerAbs(x: number, y: number, width: number, height: number): void {
    if (this.absPointer) {
      const maxX = this.rawPointer ? RAW_POINTER_MAX : this.range.width - 1;
      const maxY = this.rawPointer ? RAW_POINTER_MAX : this.range.height - 1;
      this.send({ type: 'pos', absX: scale(x, width, maxX), absY: scale(y, height, maxY), relZ: 0 });
    } else {
      this.send({ type: 'motion', relX: x - this.lastX, relY: y - this.lastY, relZ: 0 });
    }
    this.lastX = x;
    this.lastY = y;
  }

  wheel(clicks: number, horizontal = 0): void {
    // kbdif.h has no horizontal wheel (rel_z only): those clicks are counted and dropped.
    if (horizontal !== 0) this.stats.droppedHorizontalWheel++;
    if (clicks === 0) return;
    // Linux kbdfront reports REL_WHEEL = -rel_z: wheel up (+1) is rel_z -1. In absolute
    // mode the wheel rides on a POS event at the last position.
    if (this.absPointer) this.send({ type: 'pos', absX: this.lastAbs.x, absY: this.lastAbs.y, relZ: -clicks });
    else this.send({ type: 'motion', relX: 0, relY: 0, relZ: -clicks });
  }

  private send(ev: KbdInEvent): void {
    if (!this.binding) return;
    if (ev.type === 'pos') this.lastAbs = { x: ev.absX, y: ev.absY };
    this.pending.push(ev);
    if (this.pending.length > VKBD_PENDING_MAX) {
      this.pending.shift();
      this.stats.dropped++;
    }
    this.flush();
  }

  private flush(): void {
    const b = this.binding;
    if (!b || this.pending.length === 0) return;
    let pushed = 0;
    while (this.pending.length > 0 && b.ring.push(encodeKbdInEvent(this.pending[0]!))) {
      this.pending.shift();
      pushed++;
    }
    this.stats.sent += pushed;
    if (pushed > 0) b.evtchn.notify(b.port);
    if (this.pending.length > 0 && !this.retryTimer) {
      // The guest has not consumed the ring yet; it also notifies us when it does.
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.flush();
      }, 10);
    }
  }
}

/** Map a coordinate in [0, size) to [0, max], as QEMU scales to the pointer range. */
function scale(v: number, size: number, max: number): number {
  if (size <= 1) return 0;
  const clamped = Math.max(0, Math.min(size - 1, v));
  return Math.round((clamped * max) / (size - 1));
}
