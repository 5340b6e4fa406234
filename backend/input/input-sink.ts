// Where client input goes: the guest's vkbd device (kbdif.h XENKBD_TYPE_KEY / MOTION / POS).
// Every display protocol turns its own events into these calls (vnc/rfb-input.ts for RFB;
// SPICE's inputs channel likewise), so the device sees one vocabulary: Linux input codes
// (linux-input-codes.ts, include/uapi/linux/input-event-codes.h).

export interface InputSink {
  /** A key (KEY_*) went down or up. */
  key(code: number, pressed: boolean): void;
  /** A pointer button (BTN_LEFT, BTN_MIDDLE, BTN_RIGHT, BTN_SIDE, BTN_EXTRA, ...) went down or up. */
  button(code: number, pressed: boolean): void;
  /** The pointer is at (x, y) in a surface of width x height pixels. */
  pointerAbs(x: number, y: number, width: number, height: number): void;
  /** The pointer moved by (dx, dy) pixels (SPICE server mouse mode, relative devices). */
  pointerRel(dx: number, dy: number): void;
  /**
   * Wheel clicks. vertical > 0: away from the user (RFB button 4, SPICE UP); horizontal > 0:
   * to the right. kbdif.h carries only a vertical wheel (rel_z): horizontal clicks are dropped
   * by the vkbd device.
   */
  wheel(vertical: number, horizontal?: number): void;
}
