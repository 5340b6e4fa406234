// The cursor channel engine (spice.proto "channel CursorChannel"). The Display has no cursor
// slot yet, so the client gets the default arrow, visible, in CURSOR_INIT; with SET_ACK flow
// control like spice-server's cursor channel.

import { buildCursorInit, type CursorShape, defaultArrowCursor } from '../../shared/spice/cursor-messages';
import { SpiceMsgCursor } from '../../shared/spice/constants';
import { type ChannelIo, SpiceChannel } from './channel';

export class CursorChannel extends SpiceChannel {
  constructor(
    io: ChannelIo,
    private readonly shape: CursorShape = defaultArrowCursor(),
  ) {
    super(io);
  }

  start(): void {
    this.startAcks();
    this.send(SpiceMsgCursor.INIT, buildCursorInit(0, 0, true, this.shape));
  }

  protected onMessage(type: number): void {
    // spice.proto defines no cursor messages from the client.
    this.log.debug({ type }, 'unexpected cursor channel message ignored');
  }
}
