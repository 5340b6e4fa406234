// A session's pending copies (Display 'copy' events) and how they combine with its pending
// damage. The session's picture of the client: outside the pending region the client holds
// the display's surface as it was when the area was last sent. A copy keeps that true when
// the client does the same copy (CopyRect) and the pending parts of the source move with it
// (QEMU vnc_copy / TigerVNC ComparingUpdateTracker do the same with their own copies). Copies
// go out first in the next update, in order; the damage then sent is relative to the client
// after those copies, which is what the region tracks. When a copy cannot be used (no
// CopyRect, lossy pixels under the source, too many queued) its destination is damage.

import { intersectRect, isEmptyRect } from '../../shared/region';
import type { CopyHint } from '../display/display';
import type { PendingRegion } from '../updates/pending-region';
import type { EncoderStats } from './encode-manager';
import { COPYRECT_DATA_SIZE, RECT_HEADER_SIZE } from './server-messages';

/**
 * Past this many queued copies (no update could go for a while) they all become damage: the
 * bound on what a guest that only copies, or a client that never asks, can queue. An X server
 * scrolls a partly covered window as one copy per visible rect: rfbproxy's xclock recording
 * has 8-11 copies in one update, so 8 turned every such scroll into pixels (bench:peers
 * sessions: 14 CopyRects sent for its 59 copies, 2.1x LibVNCServer's bytes over Raw).
 */
export const MAX_PENDING_COPIES = 64;

export class PendingCopies {
  private queued: CopyHint[] = [];
  /** Taken for the frame being encoded (its job sends them first); counted once it is sent. */
  private inFrame: CopyHint[] = [];
  private readonly totals: EncoderStats = { rects: 0, pixels: 0, bytes: 0, ms: 0 };

  get isEmpty(): boolean {
    return this.queued.length === 0;
  }

  /**
   * A copy happened on the display. `usable`: the client takes CopyRect and holds exact pixels
   * under the source (nothing lossy there).
   */
  copied(c: CopyHint, pending: PendingRegion, usable: boolean): void {
    if (!usable) {
      pending.add(c.dst);
      return;
    }
    const dx = c.dst.x - c.src.x;
    const dy = c.dst.y - c.src.y;
    for (const p of [...pending.rects]) {
      const moved = intersectRect(p, c.src);
      if (!isEmptyRect(moved)) pending.add({ x: moved.x + dx, y: moved.y + dy, width: moved.width, height: moved.height });
    }
    this.queued.push({ src: { ...c.src }, dst: { ...c.dst } });
    if (this.queued.length > MAX_PENDING_COPIES) this.dropAll(pending);
  }

  /** Without the copies the client's picture differs from ours only inside their destinations. */
  dropAll(pending: PendingRegion): void {
    for (const c of this.queued) pending.add(c.dst);
    this.queued = [];
  }

  /** The client's picture is gone (resize, ServerInit): queued copies mean nothing. */
  clear(): void {
    this.queued = [];
  }

  /** An update is being built: the queued copies belong to its job, sent before its rects. */
  startFrame(): CopyHint[] {
    this.inFrame = this.queued;
    this.queued = [];
    return this.inFrame;
  }

  /** The frame went out: count its copies. */
  frameSent(): void {
    const copies = this.inFrame;
    this.inFrame = [];
    this.totals.rects += copies.length;
    this.totals.pixels += copies.reduce((n, c) => n + c.dst.width * c.dst.height, 0);
    this.totals.bytes += copies.length * (RECT_HEADER_SIZE + COPYRECT_DATA_SIZE);
  }

  /** Stats in the encode manager's shape, keyed 'CopyRect' once any was sent. */
  stats(): Record<string, EncoderStats> {
    return this.totals.rects > 0 ? { CopyRect: { ...this.totals } } : {};
  }
}
