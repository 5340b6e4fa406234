// The lock-key (Caps, Num, Scroll) state we believe the guest has, for the QEMU LED state
// pseudo-encoding (rfbproto §7.8.21). A Xen guest never reports its LEDs to the backend
// (kbdif.h has no LED event), so the state is inferred: it starts all-off (a fresh Linux
// console) and each lock key pressed by any client toggles its bit. A guest that changes a
// lock by itself (setleds, another input) makes the guess wrong until the next press.
// One tracker per guest input sink, shared by every session feeding that sink.

import { EventEmitter } from 'node:events';
import type { InputSink } from './input-sink';
import { KEY_CAPSLOCK, KEY_NUMLOCK, KEY_SCROLLLOCK } from './linux-input-codes';

/** Bits as the QEMU LED state byte: 0 scroll, 1 num, 2 caps. */
export const LOCK_SCROLL = 1 << 0;
export const LOCK_NUM = 1 << 1;
export const LOCK_CAPS = 1 << 2;
const LOCK_BITS = new Map<number, number>([
  [KEY_SCROLLLOCK, LOCK_SCROLL],
  [KEY_NUMLOCK, LOCK_NUM],
  [KEY_CAPSLOCK, LOCK_CAPS],
]);

/** Events: 'change' (state: number). */
export class LockKeyTracker extends EventEmitter {
  private bits = 0;

  get state(): number {
    return this.bits;
  }

  /** A key went down or up on the guest; a lock key's press toggles its bit. */
  key(code: number, pressed: boolean): void {
    const bit = LOCK_BITS.get(code);
    if (bit === undefined || !pressed) return;
    this.bits ^= bit;
    this.emit('change', this.bits);
  }
}

const trackers = new WeakMap<InputSink, LockKeyTracker>();

/** The tracker of the guest behind this input sink (created on first use). */
export function lockKeysFor(sink: InputSink): LockKeyTracker {
  let t = trackers.get(sink);
  if (!t) {
    t = new LockKeyTracker();
    t.setMaxListeners(0); // one listener per client session
    trackers.set(sink, t);
  }
  return t;
}

/** An InputSink that reports key presses to the tracker before passing them on. */
export function trackingLockKeys(sink: InputSink, tracker: LockKeyTracker): InputSink {
  return {
    key: (code, pressed) => {
      sink.key(code, pressed);
      tracker.key(code, pressed);
    },
    button: (code, pressed) => sink.button(code, pressed),
    pointerAbs: (x, y, w, h) => sink.pointerAbs(x, y, w, h),
    pointerRel: (dx, dy) => sink.pointerRel(dx, dy),
    wheel: (vertical, horizontal) => sink.wheel(vertical, horizontal),
  };
}
