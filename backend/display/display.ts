// The Display contract: all that display servers (VNC, SPICE), the recorder and the control
// socket see of a guest screen. A source (a guest's vfb device through GuestDisplay, or a
// replayed capture) implements it; consumers only listen and read. Like QEMU's
// DisplayChangeListener (ui/console.c): dpy_gfx_update / dpy_gfx_switch / dpy_gfx_copy /
// dpy_cursor_define + dpy_mouse_set, one source and any number of listeners.
//
// Every surface handed out (surface(), the 'resize' argument) is the source's own stable copy
// (GuestDisplay's shadow), never memory the guest can change: a listener may read it during
// an event or later, and outside the damage it has been told about it holds exactly what was
// there when that damage was reported.

import type { EventEmitter } from 'node:events';
import type { Rect } from '../../shared/region';
import type { PixelFormat } from './pixel-format';

export interface Surface {
  readonly width: number;
  readonly height: number;
  /** Bytes per row. */
  readonly stride: number;
  readonly format: PixelFormat;
  /** The pixels, starting at (0,0); length >= stride * height. */
  readonly data: Uint8Array;
  /**
   * A private copy nothing writes while it is read (an encode worker's snapshot), unlike a
   * guest's framebuffer: readers may use its memory in place instead of copying it first.
   */
  readonly snapshot?: boolean;
  /**
   * Grows whenever the pixels change (a shadow copy counts its own writes); absent where memory
   * changes unseen (a guest's framebuffer). Equal counts of one surface mean equal pixels, so a
   * copy taken at the first is still good at the second.
   */
  readonly changes?: number;
}

/** The pixels now at dst are the ones that were at src just before (same size). */
export interface CopyHint {
  src: Rect;
  dst: Rect;
}

/** A pointer image: RGBA8888 (straight alpha), row-major, width * height * 4 bytes. */
export interface CursorShape {
  readonly width: number;
  readonly height: number;
  /** The pixel of the image at the pointer position. */
  readonly hotX: number;
  readonly hotY: number;
  readonly rgba: Uint8Array;
}

/**
 * The pointer as the guest shows it. Xen's vfb has no cursor channel (fbif.h), so for a PV
 * guest the shape is null (servers show their default arrow) and the position is the last
 * one a client sent; a source that knows better (a replay, a future frontend) sets both.
 */
export interface CursorState {
  shape: CursorShape | null;
  x: number;
  y: number;
  visible: boolean;
}

/** The events of a Display, with their arguments. */
export interface DisplayEvents {
  /** Pixels inside these rects changed (clipped to the surface, never empty). */
  damage: [rects: Rect[]];
  /** A new surface (a new size or format), or none: the guest went away. All of it is new. */
  resize: [surface: Surface | null];
  /**
   * The pixels now at hint.dst are those that were at hint.src just before. Emitted only while
   * someone listens for it; the damage that follows leaves dst out, so a listener that cannot
   * copy must treat dst as damaged.
   */
  copy: [hint: CopyHint];
  /** The cursor's shape, position or visibility changed. */
  cursor: [cursor: CursorState];
}

export interface Display extends EventEmitter<DisplayEvents> {
  readonly name: string;
  /** The current surface, or null while there is none (no guest framebuffer mapped). */
  surface(): Surface | null;
  /** The cursor slot: one source for SPICE's cursor channel and VNC's cursor pseudo-encoding. */
  cursor(): CursorState;
  /** A client needs a full picture: sources may use this to ask the guest for a refresh. */
  requestRefresh?(): void;
}
