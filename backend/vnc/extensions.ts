// The RFB extensions a session negotiates through pseudo-encodings, apart from the update
// path: confirmations sent when SetEncodings first lists one (rfbproto §7.8: Fence needs a
// ServerFence, ContinuousUpdates an EndOfContinuousUpdates, QEMU ExtendedKeyEvent an ack
// rect), DesktopName and LED state, ClientFence answers, and SetDesktopSize replies.
// Continuous updates themselves live in session.ts, next to the update path they change.

import type { Logger } from '../../shared/log';
import type { LockKeyTracker } from '../input/lock-keys';
import type { RfbScreen } from './client-messages';
import { DesktopSizeReason, DesktopSizeStatus, FENCE_KNOWN_FLAGS, FenceFlag, RfbEncoding } from './messages';
import {
  buildEndOfContinuousUpdates,
  buildPseudoUpdate,
  buildServerFence,
  singleScreen,
  writeDesktopName,
  writeExtendedDesktopSize,
  writeQemuExtendedKeyEventAck,
  writeQemuLedState,
} from './pseudo-encodings';

export interface ExtensionHost {
  /** `key`: a reply of which only the latest queued one matters (SessionOutput coalesces them). */
  send(bytes: Uint8Array, key?: string): void;
  /** Did the client's last SetEncodings list this pseudo-encoding? */
  supports(encoding: number): boolean;
  /** The framebuffer size the client holds. */
  size(): { width: number; height: number };
  readonly name: string;
  readonly log: Logger;
}

interface Fence {
  flags: number;
  payload: Uint8Array;
}

export class RfbExtensions {
  /** Pseudo-encodings already confirmed to this client (each is confirmed once). */
  private readonly confirmed = new Set<number>();
  /** A SyncNext fence waiting for the next message to be handled. */
  private syncNext: Fence | null = null;
  private readonly onLeds = (state: number): void => this.sendLeds(state);

  constructor(
    private readonly host: ExtensionHost,
    private readonly locks: LockKeyTracker,
  ) {
    locks.on('change', this.onLeds);
  }

  close(): void {
    this.locks.off('change', this.onLeds);
  }

  /** After SetEncodings: the confirmations each newly listed extension needs. */
  encodingsChanged(): void {
    const h = this.host;
    const first = (e: number): boolean => {
      if (!h.supports(e) || this.confirmed.has(e)) return false;
      this.confirmed.add(e);
      return true;
    };
    // TigerVNC and noVNC only use fences / continuous updates once they saw these.
    if (first(RfbEncoding.Fence)) h.send(buildServerFence(FenceFlag.Request, new Uint8Array(0)));
    if (first(RfbEncoding.ContinuousUpdates)) h.send(buildEndOfContinuousUpdates());
    // QEMU acks ExtendedKeyEvent on every SetEncodings that lists it; clients take repeats.
    if (h.supports(RfbEncoding.QEMUExtendedKeyEvent)) {
      const { width, height } = h.size();
      h.send(buildPseudoUpdate([(w) => writeQemuExtendedKeyEventAck(w, width, height)]), 'qemu-key-ack');
    }
    if (first(RfbEncoding.DesktopName)) h.send(buildPseudoUpdate([(w) => writeDesktopName(w, h.name)]));
    if (first(RfbEncoding.QEMULedState)) this.sendLeds(this.locks.state);
  }

  private sendLeds(state: number): void {
    if (!this.host.supports(RfbEncoding.QEMULedState)) return;
    this.host.send(buildPseudoUpdate([(w) => writeQemuLedState(w, state)]), 'led-state');
  }

  /**
   * ClientFence. Messages are handled one at a time, in order, and their output is written
   * in order, so BlockBefore and BlockAfter hold by construction and the answer goes now;
   * SyncNext waits until the next message was handled (messageHandled()). An answer to our
   * own fence (no Request bit) needs nothing.
   */
  fence(flags: number, payload: Uint8Array): void {
    if (!(flags & FenceFlag.Request)) {
      this.host.log.debug({ flags }, 'fence answered by the client');
      return;
    }
    this.messageHandled();
    const answer = { flags: flags & FENCE_KNOWN_FLAGS, payload };
    if (answer.flags & FenceFlag.SyncNext) this.syncNext = answer;
    else this.host.send(buildServerFence(answer.flags, answer.payload));
  }

  /** A client message other than a fence request was handled: a waiting SyncNext answer goes. */
  messageHandled(): void {
    const f = this.syncNext;
    if (!f) return;
    this.syncNext = null;
    this.host.send(buildServerFence(f.flags, f.payload));
  }

  /** The screen layout as an update of its own (reason: why it is sent). */
  sendLayout(reason: number, status: number = DesktopSizeStatus.Ok): void {
    const { width, height } = this.host.size();
    const screens = singleScreen(width, height);
    this.host.send(
      buildPseudoUpdate([(w) => writeExtendedDesktopSize(w, { reason, status, width, height, screens })]),
      `layout:${reason}:${status}`,
    );
  }

  /**
   * SetDesktopSize. A Xen guest picks its own mode (fbif.h has no backend-to-frontend resize
   * request; the frontend sends XENFB_TYPE_RESIZE when it wants), so no client can change
   * the size: the answer is "prohibited" (1), the status rfbproto gives for a server that
   * does not allow resizing, rather than "out of resources" (2), which would invite a retry
   * with a smaller size. A malformed layout gets "invalid layout" (3), and asking for the
   * current layout succeeds with nothing to do. The reply carries the current layout.
   */
  desktopSizeRequest(width: number, height: number, screens: readonly RfbScreen[]): void {
    const current = this.host.size();
    let status: number = DesktopSizeStatus.Prohibited;
    if (!validLayout(width, height, screens)) status = DesktopSizeStatus.InvalidLayout;
    else if (width === current.width && height === current.height && screens.length === 1) status = DesktopSizeStatus.Ok;
    // debug: a client may send these in a flood; the answer says the same to the client.
    this.host.log.debug({ width, height, screens: screens.length, status }, 'SetDesktopSize');
    this.sendLayout(DesktopSizeReason.ThisClient, status);
  }
}

/** rfbproto §7.5.8: at least one screen, all inside the framebuffer, none empty, ids unique. */
export function validLayout(width: number, height: number, screens: readonly RfbScreen[]): boolean {
  if (width === 0 || height === 0 || screens.length === 0) return false;
  const ids = new Set(screens.map((s) => s.id));
  if (ids.size !== screens.length) return false;
  return screens.every((s) => s.width > 0 && s.height > 0 && s.x + s.width <= width && s.y + s.height <= height);
}
