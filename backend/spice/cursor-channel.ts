// The cursor channel engine (spice.proto "channel CursorChannel"), fed by the Display's cursor
// slot: INIT with the guest's shape (the default arrow while the guest gives none, as for
// every Xen PV guest), then SET on a new shape, MOVE on a new position, HIDE when hidden.
// With SET_ACK flow control like spice-server's cursor channel.

import { xerror } from '../../shared/errors';
import { buildCursorInit, buildCursorMove, buildCursorSet, type CursorShape, defaultArrowCursor } from '../../shared/spice/cursor-messages';
import { SpiceMsgCursor } from '../../shared/spice/constants';
import type { CursorShape as DisplayCursorShape, CursorState, Display } from '../display/display';
import { type ChannelIo, SpiceChannel } from './channel';

/** Largest cursor sent (spice-server's stream device limit, red-stream-device.cpp: 1024 x 1024); bigger shows the arrow. */
export const SPICE_MAX_CURSOR_SIDE = 1024;

/** A Display cursor (RGBA, straight alpha) as a SPICE ALPHA cursor (B, G, R, A). */
export function spiceCursorFrom(shape: DisplayCursorShape, unique: bigint): CursorShape | null {
  if (shape.width > SPICE_MAX_CURSOR_SIDE || shape.height > SPICE_MAX_CURSOR_SIDE || shape.rgba.length < shape.width * shape.height * 4)
    return null;
  const bgra = new Uint8Array(shape.width * shape.height * 4);
  for (let i = 0; i < bgra.length; i += 4) {
    bgra[i] = shape.rgba[i + 2]!;
    bgra[i + 1] = shape.rgba[i + 1]!;
    bgra[i + 2] = shape.rgba[i]!;
    bgra[i + 3] = shape.rgba[i + 3]!;
  }
  return { unique, width: shape.width, height: shape.height, hotX: shape.hotX, hotY: shape.hotY, bgra };
}

export class CursorChannel extends SpiceChannel {
  private shown: DisplayCursorShape | null | undefined = undefined;
  private unique = 1n;
  private readonly onCursor = (c: CursorState) => this.update(c);

  constructor(
    io: ChannelIo,
    private readonly display: Display,
  ) {
    super(io);
  }

  start(): void {
    this.startAcks();
    const c = this.display.cursor();
    this.shown = c.shape;
    this.send(SpiceMsgCursor.INIT, buildCursorInit(c.x, c.y, c.visible, this.shape(c.shape)));
    this.display.on('cursor', this.onCursor);
  }

  private shape(s: DisplayCursorShape | null): CursorShape {
    return (s && spiceCursorFrom(s, ++this.unique)) ?? defaultArrowCursor();
  }

  private update(c: CursorState): void {
    if (this.ackStalled) return; // a cursor update is replaced by the next one: dropping is safe
    if (!c.visible) {
      this.send(SpiceMsgCursor.HIDE, new Uint8Array(0));
      this.shown = undefined;
    } else if (c.shape !== this.shown) {
      this.shown = c.shape;
      this.send(SpiceMsgCursor.SET, buildCursorSet(c.x, c.y, true, this.shape(c.shape)));
    } else {
      this.send(SpiceMsgCursor.MOVE, buildCursorMove(c.x, c.y));
    }
  }

  protected onMessage(type: number): void {
    // spice.proto defines no cursor messages from the client.
    throw xerror('SPICE_E_BAD_MSG', `unknown cursor channel message type ${type}`, { type });
  }

  protected override dispose(): void {
    this.display.off('cursor', this.onCursor);
  }
}
