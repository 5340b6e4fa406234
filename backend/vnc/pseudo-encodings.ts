// Server-to-client wire formats of the pseudo-encodings and extension messages (rfbproto
// §7.6.5 EndOfContinuousUpdates, §7.6.6 ServerFence, §7.8 pseudo-encodings), pure builders
// with no session state. Each pseudo-rect is written into a FramebufferUpdate by the caller.

import { ByteWriter } from '../../shared/bytes';
import type { RfbScreen } from './client-messages';
import { RECT_HEADER_SIZE, writeFramebufferUpdateHeader, writeRectHeader } from './server-messages';
import { DesktopSizeReason, DesktopSizeStatus, RfbEncoding, ServerMessageType } from './messages';

/**
 * The one screen we report. Its id is 1, not 0 as QEMU uses: libvncclient 0.9.14
 * (`rfbproto.c`) treats a screen with id 0 as invalid and then ignores the new size.
 */
export const RFB_SCREEN_ID = 1;

/** The layout of a single-screen desktop of width x height. */
export function singleScreen(width: number, height: number): RfbScreen[] {
  return [{ id: RFB_SCREEN_ID, x: 0, y: 0, width, height, flags: 0 }];
}

export interface ExtendedDesktopSize {
  /** DesktopSizeReason. */
  reason: number;
  /** DesktopSizeStatus. */
  status: number;
  width: number;
  height: number;
  screens: readonly RfbScreen[];
}

/** Bytes a pseudo-rect writer adds to an update (rect header included). */
export function extendedDesktopSizeLength(screens: number): number {
  return RECT_HEADER_SIZE + 1 + 3 + screens * (4 + 2 + 2 + 2 + 2 + 4);
}

// header(x=reason, y=status, w, h, -308) | u8 screens | 3 pad | SCREEN{u32 id | u16 x, y, w, h | u32 flags}[screens]
export function writeExtendedDesktopSize(w: ByteWriter, e: ExtendedDesktopSize): void {
  writeRectHeader(w, { x: e.reason, y: e.status, width: e.width, height: e.height }, RfbEncoding.ExtendedDesktopSize);
  w.u8(e.screens.length).zeros(3);
  for (const s of e.screens) w.u32be(s.id).u16be(s.x).u16be(s.y).u16be(s.width).u16be(s.height).u32be(s.flags);
}

// header(0, 0, w, h, -223), no data
export function writeDesktopSize(w: ByteWriter, width: number, height: number): void {
  writeRectHeader(w, { x: 0, y: 0, width, height }, RfbEncoding.DesktopSize);
}

/** A FramebufferUpdate holding only a server-side size change: ExtendedDesktopSize when the client has it, else DesktopSize. */
export function buildDesktopSizeUpdate(extended: boolean, width: number, height: number): Uint8Array {
  const w = new ByteWriter(4 + extendedDesktopSizeLength(1));
  writeFramebufferUpdateHeader(w, 1);
  if (extended) {
    const e = { reason: DesktopSizeReason.Server, status: DesktopSizeStatus.Ok, width, height, screens: singleScreen(width, height) };
    writeExtendedDesktopSize(w, e);
  } else {
    writeDesktopSize(w, width, height);
  }
  return w.finish();
}

// header(0, 0, 0, 0, -307) | u32 length | u8 name[length] (UTF-8)
export function writeDesktopName(w: ByteWriter, name: string): void {
  const bytes = Buffer.from(name, 'utf8');
  writeRectHeader(w, { x: 0, y: 0, width: 0, height: 0 }, RfbEncoding.DesktopName);
  w.u32be(bytes.length).bytes(bytes);
}

// header(0, 0, w, h, -258), no data: QEMU's ack (`send_ext_key_event_ack`) carries the screen size
export function writeQemuExtendedKeyEventAck(w: ByteWriter, width: number, height: number): void {
  writeRectHeader(w, { x: 0, y: 0, width, height }, RfbEncoding.QEMUExtendedKeyEvent);
}

// header(0, 0, 1, 1, -261) | u8 state (QemuLed bits), as QEMU's `vnc_led_state_change`
export function writeQemuLedState(w: ByteWriter, state: number): void {
  writeRectHeader(w, { x: 0, y: 0, width: 1, height: 1 }, RfbEncoding.QEMULedState);
  w.u8(state);
}

/** A FramebufferUpdate holding only pseudo-rects, each written by one of the writers above. */
export function buildPseudoUpdate(rects: ReadonlyArray<(w: ByteWriter) => void>): Buffer {
  const w = new ByteWriter(4 + rects.length * (RECT_HEADER_SIZE + 32));
  writeFramebufferUpdateHeader(w, rects.length);
  for (const write of rects) write(w);
  return w.finish();
}

// u8 type=150
export function buildEndOfContinuousUpdates(): Buffer {
  return Buffer.of(ServerMessageType.EndOfContinuousUpdates);
}

// u8 type=248 | 3 pad | u32 flags | u8 length | u8 payload[length]
export function buildServerFence(flags: number, payload: Uint8Array): Buffer {
  const w = new ByteWriter(1 + 3 + 4 + 1 + payload.length);
  w.u8(ServerMessageType.ServerFence)
    .zeros(3)
    .u32be(flags >>> 0)
    .u8(payload.length)
    .bytes(payload);
  return w.finish();
}
