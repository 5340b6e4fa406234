// The contract between the guest frontend and a demo workload: the frontend hands the
// workload a framebuffer to draw into and a damage callback; the workload draws and reports
// which rectangles changed. Workloads never touch rings, grants or xenstore.

import { xerror } from '../../shared/errors';
import type { Rect } from '../../shared/region';

/** A guest framebuffer in XRGB8888, as fbif.h's default depth 32 lays it out. */
export interface FramebufferTarget {
  readonly width: number;
  readonly height: number;
  /** Bytes per row (fbif.h line_length); may be larger than width * 4. */
  readonly stride: number;
  /** XRGB8888 little-endian: byte 0 = B, 1 = G, 2 = R, 3 = X (written as 0). */
  readonly data: Uint8Array;
  /** Tell the frontend these pixels changed; it batches them into XENFB_TYPE_UPDATE events. */
  damage(rect: Rect): void;
}

/** Input the frontend delivers from kbdif.h events; keycodes are Linux KEY_* codes. */
export type GuestInputEvent =
  | { type: 'key'; keycode: number; pressed: boolean }
  | { type: 'pos'; x: number; y: number }
  | { type: 'motion'; dx: number; dy: number }
  | { type: 'wheel'; dz: number };

export interface Workload {
  readonly name: string;
  /** Size the guest framebuffer should have (the still workload uses the PNG's size). */
  readonly width: number;
  readonly height: number;
  /**
   * Draw the first frame (full damage) and start timers. Every workload draws at fb.width x
   * fb.height, so after a mode switch the guest restarts it (stop(), then start()) on the
   * resized framebuffer.
   */
  start(fb: FramebufferTarget): void;
  /** Clear timers; idempotent. */
  stop(): void;
  onInput?(ev: GuestInputEvent): void;
  /** Frames drawn so far, for tests and stats. */
  readonly frames: number;
}

export type WorkloadName = 'still' | 'pattern' | 'terminal' | 'replay';

export const WORKLOAD_NAMES: readonly WorkloadName[] = ['still', 'pattern', 'terminal', 'replay'];

export interface WorkloadOptions {
  /** PNG file for the still workload; without it the still workload draws a test card. */
  image?: string;
  /** Capture file for the replay workload (docs/capture-format.md). */
  replayFile?: string;
  width?: number;
  height?: number;
  /** Frames per second for the animated workloads. */
  fps?: number;
}

/** Largest width or height any workload accepts (a PNG, or --width/--height). */
export const WORKLOAD_MAX_DIMENSION = 4096;
export const WORKLOAD_DEFAULT_WIDTH = 800;
export const WORKLOAD_DEFAULT_HEIGHT = 600;
export const WORKLOAD_MAX_FPS = 60;

/**
 * The framebuffer size a workload asks for: opts.width x opts.height, or 800 x 600.
 * Throws FB_E_BAD_GEOMETRY unless both are integers in 1..WORKLOAD_MAX_DIMENSION.
 */
export function resolveSize(opts: WorkloadOptions): { width: number; height: number } {
  const width = opts.width ?? WORKLOAD_DEFAULT_WIDTH;
  const height = opts.height ?? WORKLOAD_DEFAULT_HEIGHT;
  checkDimensions(width, height, 'the requested framebuffer');
  return { width, height };
}

/** Throws FB_E_BAD_GEOMETRY unless width and height are integers in 1..WORKLOAD_MAX_DIMENSION. */
export function checkDimensions(width: number, height: number, what: string, details: Record<string, unknown> = {}): void {
  const ok = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= WORKLOAD_MAX_DIMENSION;
  if (ok(width) && ok(height)) return;
  throw xerror(
    'FB_E_BAD_GEOMETRY',
    `${what} is ${width}x${height}; width and height must be 1..${WORKLOAD_MAX_DIMENSION} pixels ` +
      `(scale the image down or pass a smaller --width/--height)`,
    { ...details, width, height, limit: WORKLOAD_MAX_DIMENSION },
  );
}

/** Frames per second for an animated workload; throws CLI_E_USAGE outside 1..WORKLOAD_MAX_FPS. */
export function resolveFps(opts: WorkloadOptions, fallback: number): number {
  const fps = opts.fps ?? fallback;
  if (!Number.isFinite(fps) || fps < 1 || fps > WORKLOAD_MAX_FPS) {
    throw xerror('CLI_E_USAGE', `fps is ${fps}; pass --fps between 1 and ${WORKLOAD_MAX_FPS}`, {
      fps,
      limit: WORKLOAD_MAX_FPS,
    });
  }
  return fps;
}
