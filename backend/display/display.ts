// The Display is the only thing display servers (VNC, SPICE, recorder) see of a guest:
// a framebuffer view, its pixel format and geometry, and damage/resize events.

import type { EventEmitter } from 'node:events';
import type { Rect } from '../../shared/region';

/** RFB-style true-colour pixel format (rfbproto PIXEL_FORMAT, without colour maps). */
export interface PixelFormat {
  bitsPerPixel: 8 | 16 | 24 | 32;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

/** XRGB8888 little-endian, the format of Linux xen-fbfront (depth 32). */
export const PIXEL_FORMAT_XRGB8888: PixelFormat = {
  bitsPerPixel: 32,
  depth: 24,
  bigEndian: false,
  trueColour: true,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 16,
  greenShift: 8,
  blueShift: 0,
};

/** RGB565 little-endian: 16-bit guests (Linux fbdev at depth 16). */
export const PIXEL_FORMAT_RGB565: PixelFormat = {
  bitsPerPixel: 16,
  depth: 16,
  bigEndian: false,
  trueColour: true,
  redMax: 31,
  greenMax: 63,
  blueMax: 31,
  redShift: 11,
  greenShift: 5,
  blueShift: 0,
};

export interface Surface {
  readonly width: number;
  readonly height: number;
  /** Bytes per row. */
  readonly stride: number;
  readonly format: PixelFormat;
  /** The guest framebuffer bytes, starting at pixel (0,0); length >= stride * height. */
  readonly data: Uint8Array;
}

/**
 * Events:
 *  - 'damage' (rects: Rect[]): pixels inside rects changed (already clipped to the surface).
 *  - 'resize' (surface: Surface | null): a new surface (or none: the guest went away).
 *  - 'copy' (hint: CopyHint): the pixels now at hint.dst are those that were at hint.src
 *    just before (shadow.ts). Emitted only while someone listens for it; a listener must
 *    treat dst as damaged if it cannot copy (the damage that follows leaves dst out).
 */
export interface Display extends EventEmitter {
  readonly name: string;
  /** The current surface, or null while no guest framebuffer is mapped. */
  surface(): Surface | null;
  /** A client needs a full picture: sources may use this to ask the guest for a refresh. */
  requestRefresh?(): void;
}

/** Where client input goes (the vkbd device). Codes are Linux input codes (KEY_*, BTN_*). */
export interface InputSink {
  key(code: number, pressed: boolean): void;
  /** Absolute pointer at (x, y) in a surface of width x height pixels. */
  pointerAbs(x: number, y: number, width: number, height: number): void;
  /** Wheel clicks: positive = away from the user (RFB button 4 / up). */
  wheel(clicks: number): void;
}

export type { Rect };
export type { CopyHint } from './shadow';
