// A simulated guest running our frontends: vfb 0 and vkbd 0 with a demo workload drawing
// into the framebuffer. Input the guest receives is reported through `onInput` (the CLI
// prints it as JSON lines, which the tests read).

import type { Platform } from '../shared/platform/types';
import type { Logger } from '../shared/log';
import { XenbusFrontendDevice } from './xenbus-frontend';
import { VfbFrontend, type VfbFrontendOptions } from './vfb-frontend';
import { VkbdFrontend, type VkbdInput } from './vkbd-frontend';
import { createWorkload, type WorkloadName, type Workload } from './workloads';
import { guestPagesFor } from './guest-pages';
import type { Rect } from '../shared/region';
import type { FramebufferTarget } from './workloads/workload';

export interface DemoGuestOptions {
  workload: WorkloadName;
  image?: string;
  /** Capture file for the replay workload. */
  replayFile?: string;
  log: Logger;
  onInput?: (ev: VkbdInput) => void;
  /** Every rect the workload reports as drawn (before the frontend batches or marks it). */
  onDamage?: (rect: Rect) => void;
  /** grant-fb and dirty-tile use (both default on, used only when the backend offers them). */
  vfb?: VfbFrontendOptions;
}

export class DemoGuest {
  private constructor(
    readonly vfb: VfbFrontend,
    readonly vkbd: VkbdFrontend,
    readonly workload: Workload,
    private readonly devices: XenbusFrontendDevice[],
    private readonly onDamage?: (rect: Rect) => void,
  ) {}

  static async start(platform: Platform, opts: DemoGuestOptions): Promise<DemoGuest> {
    const workload = await createWorkload(opts.workload, {
      ...(opts.image ? { image: opts.image } : {}),
      ...(opts.replayFile ? { replayFile: opts.replayFile } : {}),
    });
    const xs = await platform.xenstore();
    // A sim guest shares GuestMemory frames; a real Xen guest shares gntalloc pages, granted
    // when allocated, so the backend's domain must be known now (the toolstack wrote it).
    const backendId = async (kind: string) => {
      const v = Number(await xs.tryRead(`/local/domain/${platform.domid}/device/${kind}/0/backend-id`));
      return Number.isInteger(v) && v >= 0 ? v : 0;
    };
    const vfb = new VfbFrontend(guestPagesFor(platform, await backendId('vfb')), workload.width, workload.height, opts.vfb);
    const vkbd = new VkbdFrontend(guestPagesFor(platform, await backendId('vkbd')), { width: workload.width, height: workload.height });
    vkbd.on('input', (ev: VkbdInput) => {
      opts.onInput?.(ev);
      if (!workload.onInput) return;
      if (ev.type === 'key') workload.onInput(ev);
      else if (ev.type === 'pos') workload.onInput({ type: 'pos', x: ev.x, y: ev.y });
      else workload.onInput({ type: 'motion', dx: ev.dx, dy: ev.dy });
    });
    workload.start(drawTarget(vfb, opts.onDamage));
    const devices = [
      await XenbusFrontendDevice.open(xs, platform, vfb, 0, opts.log),
      await XenbusFrontendDevice.open(xs, platform, vkbd, 0, opts.log),
    ];
    return new DemoGuest(vfb, vkbd, workload, devices, opts.onDamage);
  }

  /**
   * Switch the framebuffer to width x height (XENFB_TYPE_RESIZE, vfb-frontend.ts) and
   * restart the workload on it: every workload draws at the framebuffer's size.
   */
  resize(width: number, height: number): void {
    this.vfb.resize(width, height);
    this.workload.stop();
    this.workload.start(drawTarget(this.vfb, this.onDamage));
  }

  async stop(): Promise<void> {
    this.workload.stop();
    for (const d of this.devices) await d.close();
  }
}

/** The framebuffer as the workload sees it, telling `onDamage` of every rect it reports. */
function drawTarget(vfb: VfbFrontend, onDamage?: (rect: Rect) => void): FramebufferTarget {
  if (!onDamage) return vfb;
  return {
    get width() {
      return vfb.width;
    },
    get height() {
      return vfb.height;
    },
    get stride() {
      return vfb.stride;
    },
    get data() {
      return vfb.data;
    },
    damage: (rect) => {
      vfb.damage(rect);
      onDamage(rect);
    },
  };
}
