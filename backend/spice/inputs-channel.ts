// The inputs channel engine (spice.proto "channel InputsChannel"): set-1 keys to Linux key
// codes, client-mode (absolute) and server-mode (relative) pointer, buttons including side
// and extra, the wheel, MOUSE_MOTION_ACK every SPICE_INPUT_MOTION_ACK_BUNCH motion messages
// (clients stop sending motion after 2 * bunch unacked: channel-inputs.c), and lock-key state:
// the guest's Caps/Num/Scroll lock as VNC believes it too (input/lock-keys.ts: a Xen guest never
// reports its LEDs, so presses are counted), told to the client in INIT and KEY_MODIFIERS
// whenever it changes; a client's KEY_MODIFIERS (its own lock state) that differs makes us press
// and release the guest's lock keys until they agree, as spice-server does (inputs-channel.cpp).
// SpiceKeyboardModifierFlags and the QEMU LED byte use the same bits (1 scroll, 2 num, 4 caps).
// Keys and buttons still held when the client goes are released.

import { SPICE_INPUT_MOTION_ACK_BUNCH, SpiceMouseButton, SpiceMouseButtonMask, SpiceMsgInputs } from '../../shared/spice/constants';
import { buildInputsModifiers, parseInputsClientMessage, scancodeBytes } from '../../shared/spice/inputs-messages';
import type { Display } from '../display/display';
import type { InputSink } from '../input/input-sink';
import {
  BTN_EXTRA,
  BTN_LEFT,
  BTN_MIDDLE,
  BTN_RIGHT,
  BTN_SIDE,
  KEY_CAPSLOCK,
  KEY_NUMLOCK,
  KEY_SCROLLLOCK,
} from '../input/linux-input-codes';
import { LOCK_CAPS, LOCK_NUM, LOCK_SCROLL, type LockKeyTracker, lockKeysFor, trackingLockKeys } from '../input/lock-keys';
import { type ChannelIo, SpiceChannel } from './channel';
import { Set1Decoder } from './scancodes';

/** SPICE button-state mask bits -> Linux button codes. */
const BUTTONS: ReadonlyArray<[number, number]> = [
  [SpiceMouseButtonMask.LEFT, BTN_LEFT],
  [SpiceMouseButtonMask.MIDDLE, BTN_MIDDLE],
  [SpiceMouseButtonMask.RIGHT, BTN_RIGHT],
  [SpiceMouseButtonMask.SIDE, BTN_SIDE],
  [SpiceMouseButtonMask.EXTRA, BTN_EXTRA],
];

/** SpiceMouseButton (MOUSE_PRESS/RELEASE) -> its mask bit. */
const BUTTON_MASK: Record<number, number> = {
  [SpiceMouseButton.LEFT]: SpiceMouseButtonMask.LEFT,
  [SpiceMouseButton.MIDDLE]: SpiceMouseButtonMask.MIDDLE,
  [SpiceMouseButton.RIGHT]: SpiceMouseButtonMask.RIGHT,
  [SpiceMouseButton.SIDE]: SpiceMouseButtonMask.SIDE,
  [SpiceMouseButton.EXTRA]: SpiceMouseButtonMask.EXTRA,
};

/** Lock bits (SpiceKeyboardModifierFlags = QEMU LED bits) -> the Linux key that toggles them. */
const LOCK_KEYS: ReadonlyArray<[number, number]> = [
  [LOCK_SCROLL, KEY_SCROLLLOCK],
  [LOCK_NUM, KEY_NUMLOCK],
  [LOCK_CAPS, KEY_CAPSLOCK],
];

export interface InputsChannelOptions {
  display: Display;
  input: InputSink;
}

export class InputsChannel extends SpiceChannel {
  private readonly keys = new Set1Decoder();
  private readonly held = new Set<number>();
  private readonly heldButtons = new Set<number>();
  private buttons = 0;
  private motions = 0;
  /** The guest's lock keys as every client of this guest sees them (shared with VNC). */
  private readonly locks: LockKeyTracker;
  /** The guest's input, with lock-key presses counted. */
  private readonly input: InputSink;
  private readonly onLocks = (state: number) => this.send(SpiceMsgInputs.KEY_MODIFIERS, buildInputsModifiers(state));

  constructor(
    io: ChannelIo,
    private readonly opts: InputsChannelOptions,
  ) {
    super(io);
    this.locks = lockKeysFor(opts.input);
    this.input = trackingLockKeys(opts.input, this.locks);
  }

  start(): void {
    this.send(SpiceMsgInputs.INIT, buildInputsModifiers(this.locks.state));
    this.locks.on('change', this.onLocks);
  }

  /** The client's lock state: tap each guest lock key that differs (its press toggles the tracker, which tells the client). */
  private syncLocks(client: number): void {
    for (const [bit, code] of LOCK_KEYS) {
      if ((client & bit) === (this.locks.state & bit)) continue;
      if (this.held.has(code)) continue; // the client is holding it: its own release comes
      this.input.key(code, true);
      this.input.key(code, false);
    }
  }

  protected onMessage(type: number, body: Uint8Array): void {
    const m = parseInputsClientMessage(type, body);
    switch (m.kind) {
      case 'keyDown':
      case 'keyUp':
        return this.scancodes(scancodeBytes(m.code));
      case 'keyScancode':
        return this.scancodes(m.bytes);
      case 'keyModifiers':
        return this.syncLocks(m.modifiers);
      case 'position':
        this.moveTo(m.x, m.y);
        this.setButtons(m.buttons);
        return this.motionAck();
      case 'motion':
        // Server mouse mode: the guest gets the motion as relative (kbdif XENKBD_TYPE_MOTION).
        if (m.dx !== 0 || m.dy !== 0) this.opts.input.pointerRel(m.dx, m.dy);
        this.setButtons(m.buttons);
        return this.motionAck();
      case 'press':
      case 'release':
        return this.button(m.button, m.kind === 'press', m.buttons);
    }
  }

  private scancodes(bytes: Iterable<number>): void {
    const before = this.keys.unknown;
    for (const ev of this.keys.feed(bytes)) this.key(ev.code, ev.pressed);
    if (this.keys.unknown !== before) this.log.debug({ bytes: [...bytes] }, 'scancode with no Linux key ignored');
  }

  private moveTo(x: number, y: number): void {
    const s = this.opts.display.surface();
    if (!s) return;
    const cx = Math.max(0, Math.min(s.width - 1, x));
    const cy = Math.max(0, Math.min(s.height - 1, y));
    this.opts.input.pointerAbs(cx, cy, s.width, s.height);
  }

  private motionAck(): void {
    if (++this.motions % SPICE_INPUT_MOTION_ACK_BUNCH === 0) this.send(SpiceMsgInputs.MOUSE_MOTION_ACK, new Uint8Array(0));
  }

  private button(button: number, pressed: boolean, state: number): void {
    if (button === SpiceMouseButton.UP || button === SpiceMouseButton.DOWN) {
      // The wheel: one click per press; the release carries nothing.
      if (pressed) this.opts.input.wheel(button === SpiceMouseButton.UP ? +1 : -1);
      return;
    }
    const bit = BUTTON_MASK[button];
    if (bit === undefined) return;
    // buttons_state is the state after this event in spice-gtk, before it in older clients: trust the event.
    this.setButtons(pressed ? state | bit : state & ~bit);
  }

  private setButtons(state: number): void {
    const changed = (state ^ this.buttons) & ~(SpiceMouseButtonMask.UP | SpiceMouseButtonMask.DOWN);
    for (const [bit, code] of BUTTONS) if (changed & bit) this.pointerButton(code, (state & bit) !== 0);
    this.buttons = state;
  }

  private key(code: number, pressed: boolean): void {
    if (pressed) this.held.add(code);
    else if (!this.held.delete(code)) return; // a release of something never pressed here
    this.input.key(code, pressed);
  }

  private pointerButton(code: number, pressed: boolean): void {
    if (pressed) this.heldButtons.add(code);
    else if (!this.heldButtons.delete(code)) return;
    this.opts.input.button(code, pressed);
  }

  protected override dispose(): void {
    this.locks.off('change', this.onLocks);
    for (const code of [...this.held]) this.key(code, false);
    for (const code of [...this.heldButtons]) this.pointerButton(code, false);
    this.buttons = 0;
  }
}
