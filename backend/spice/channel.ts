// What every SPICE channel engine shares once its link is done: one output path (framing with
// the mini or full header, serials, backpressure), the common messages (ACK_SYNC, ACK, PONG,
// DISCONNECTING), and SET_ACK flow control like spice-server's red-channel-client.cpp: after
// SET_ACK{generation, window} the client ACKs every `window` messages, and the server stops
// sending updates while more than 2 * window messages are unacknowledged.

import { type Logger } from '../../shared/log';
import { isXenvfbError, xerror } from '../../shared/errors';
import { buildSetAck, parseCommonClientMessage } from '../../shared/spice/common-messages';
import { SpiceMsg } from '../../shared/spice/constants';
import { frameMessage } from '../../shared/spice/data-header';

/** spice-server's CLIENT_ACK_WINDOW: the client ACKs every this many messages. */
export const SPICE_ACK_WINDOW = 20;

/** What a channel engine needs from its connection. */
export interface ChannelIo {
  /** Bytes to the client. */
  write(bytes: Uint8Array): void;
  /** True while the transport holds too many unsent bytes; resume() follows when it drains. */
  backpressured(): boolean;
  /** End the connection (after the last write). */
  close(reason: string, error?: Error): void;
  log: Logger;
  /** Mini header negotiated (SPICE_COMMON_CAP_MINI_HEADER from the client). */
  mini: boolean;
  /** The client's channel capability words. */
  channelCaps: readonly number[];
}

export interface ChannelStats {
  messagesSent: number;
  bytesSent: number;
  /** Messages sent and not yet acknowledged (0 before SET_ACK). */
  unacked: number;
}

export abstract class SpiceChannel {
  protected readonly log: Logger;
  private serial = 0n;
  private ackGeneration = 0;
  private ackWindow = 0;
  private ackSynced = false;
  private unacked = 0;
  protected closed = false;
  readonly stats: ChannelStats = { messagesSent: 0, bytesSent: 0, unacked: 0 };

  constructor(protected readonly io: ChannelIo) {
    this.log = io.log;
  }

  /** The link is done: send the channel's first messages. */
  abstract start(): void;
  /** A channel-specific client message (type >= 101). */
  protected abstract onMessage(type: number, body: Uint8Array): void;
  /** The transport drained or the client acknowledged: send what was held back. */
  resume(): void {}
  /** The connection is gone: drop listeners and timers. */
  protected dispose(): void {}

  /** One message from the client. Throws a typed error on a malformed one (the connection closes). */
  receive(type: number, body: Uint8Array): void {
    if (this.closed) return;
    const common = parseCommonClientMessage(type, body);
    if (common === null) return this.onMessage(type, body);
    switch (common.kind) {
      case 'ackSync':
        // The client counts messages from its receipt of SET_ACK, as we do from sending it.
        this.ackSynced = common.generation === this.ackGeneration;
        return;
      case 'ack': {
        if (!this.ackSynced) return;
        const wasStalled = this.ackStalled;
        this.unacked = Math.max(0, this.unacked - this.ackWindow);
        this.stats.unacked = this.unacked;
        if (wasStalled && !this.ackStalled) this.resume();
        return;
      }
      case 'disconnecting':
        this.log.debug({}, 'client says it is disconnecting');
        return;
      default:
        return;
    }
  }

  /** Frame and write one message. */
  protected send(type: number, body: Uint8Array): void {
    if (this.closed) return;
    this.serial += 1n;
    const bytes = frameMessage(this.io.mini, this.serial, type, body);
    this.stats.messagesSent++;
    this.stats.bytesSent += bytes.length;
    if (this.ackWindow > 0) this.stats.unacked = ++this.unacked;
    this.io.write(bytes);
  }

  /** Turn flow control on (display and cursor channels, like spice-server's HandleAcks). */
  protected startAcks(window = SPICE_ACK_WINDOW): void {
    this.ackGeneration++;
    this.ackSynced = false;
    this.send(SpiceMsg.SET_ACK, buildSetAck(this.ackGeneration, window));
    this.ackWindow = window;
    this.unacked = 0;
  }

  /** More than 2 * window messages unacknowledged (red-channel-client.cpp waiting_for_ack). */
  get ackStalled(): boolean {
    return this.ackWindow > 0 && this.unacked > 2 * this.ackWindow;
  }

  /** May the channel send another update now? */
  protected get maySend(): boolean {
    return !this.closed && !this.ackStalled && !this.io.backpressured();
  }

  /** Close the connection with a typed reason. */
  fail(err: unknown): void {
    if (this.closed) return;
    const e = isXenvfbError(err) ? err : xerror('SPICE_E_BAD_MSG', (err as Error)?.message ?? String(err));
    this.log.warn({ code: e.code, err: e.message }, 'closing SPICE channel');
    this.io.close(e.message, e);
  }

  /** The connection ended (either side). */
  closeChannel(): void {
    if (this.closed) return;
    this.closed = true;
    this.dispose();
  }
}
