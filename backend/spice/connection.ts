// One SPICE connection (every channel is its own): the link stage (shared/spice/link.ts), then
// the channel engine the link asked for. A protocol engine: bytes in through receive(), bytes
// out through options.write; it never owns a socket.

import { isXenvfbError, type XenvfbError, xerror } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import { channelName, hasCap, SpiceCommonCap, SpiceLinkErr } from '../../shared/spice/constants';
import { SpiceMessageReader } from '../../shared/spice/data-header';
import {
  buildLinkError,
  buildLinkReply,
  buildLinkResult,
  type LinkMess,
  linkErrorFor,
  parseLinkHeader,
  parseLinkMess,
  SPICE_AUTH_MECHANISM_SIZE,
  SPICE_AUTH_SPICE,
  SPICE_LINK_HEADER_SIZE,
  SPICE_MAX_LINK_SIZE,
  SPICE_TICKET_SIZE,
} from '../../shared/spice/link';
import { ByteReader } from '../../shared/bytes';
import type { AuthGate } from '../auth/throttle';
import type { ChannelIo, SpiceChannel } from './channel';
import type { SpiceSessions } from './sessions';
import { checkTicket, decryptTicket, type SpiceTicketing, type TicketKey } from './ticket';

/** Common caps we advertise: AUTH_SELECTION | AUTH_SPICE | MINI_HEADER = 0x0B, like qemu's spice-server. Never SASL. */
export const SPICE_SERVER_COMMON_CAPS = [
  (1 << SpiceCommonCap.PROTOCOL_AUTH_SELECTION) | (1 << SpiceCommonCap.AUTH_SPICE) | (1 << SpiceCommonCap.MINI_HEADER),
];
/** Largest message body a client may send on any channel (the biggest real one is an agent chunk of 2 KiB). */
export const SPICE_MAX_CLIENT_MESSAGE = 64 * 1024;
/** The link stage (header to ticket) must be done within this time. */
export const SPICE_LINK_TIMEOUT_MS = 10_000;

export interface SpiceConnectionOptions {
  write(bytes: Uint8Array): void;
  /** True while the transport holds too much unsent output; call resume() when it drains. */
  backpressured(): boolean;
  /** The connection ended (after the last write): the adapter closes its transport. */
  onClose(reason: string, error?: Error): void;
  log: Logger;
  /** Fresh link keys (ticket.ts TicketKeyPool). */
  keys: { take(): Promise<TicketKey> };
  ticketing: SpiceTicketing;
  sessions: SpiceSessions;
  /** Failed-ticket throttle for this client's address. */
  authGate?: AuthGate;
  /** The whole link stage must end within this (default SPICE_LINK_TIMEOUT_MS; 0: no deadline). */
  linkTimeoutMs?: number;
  /** Server channel caps per channel type (e.g. inputs KEY_SCANCODE). */
  serverChannelCaps?(channelType: number): number[];
}

type Stage = 'header' | 'mess' | 'key' | 'auth' | 'data' | 'closed';

export class SpiceConnection {
  private stage: Stage = 'header';
  private buf: Buffer = Buffer.alloc(0);
  private need = SPICE_LINK_HEADER_SIZE;
  private link: LinkMess | null = null;
  private key: TicketKey | null = null;
  private reader: SpiceMessageReader | null = null;
  private channel: SpiceChannel | null = null;
  private readonly timer: NodeJS.Timeout | null;
  private log: Logger;

  constructor(private readonly opts: SpiceConnectionOptions) {
    this.log = opts.log;
    const ms = opts.linkTimeoutMs ?? SPICE_LINK_TIMEOUT_MS;
    // 0: no deadline (as NetLimits.handshakeStageMs 0 means for VNC).
    this.timer = ms > 0 ? setTimeout(() => this.fail(xerror('SPICE_E_TIMEOUT', `link not done within ${ms} ms`)), ms) : null;
    this.timer?.unref();
  }

  /** The channel type once linked (for logs and stats). */
  get channelType(): number | null {
    return this.link?.channelType ?? null;
  }

  get engine(): SpiceChannel | null {
    return this.channel;
  }

  receive(chunk: Uint8Array): void {
    if (this.stage === 'closed') return;
    try {
      if (this.stage === 'data') return this.receiveData(chunk);
      this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
      // A client sends nothing past its link message until our reply, and nothing past its
      // ticket until our result: more than that much buffered is a hostile client.
      if (this.buf.length > SPICE_LINK_HEADER_SIZE + SPICE_MAX_LINK_SIZE + SPICE_AUTH_MECHANISM_SIZE + SPICE_TICKET_SIZE) {
        throw xerror('SPICE_E_OVERSIZE', `${this.buf.length} bytes sent during the link stage`, { size: this.buf.length });
      }
      this.advance();
    } catch (e) {
      this.fail(e);
    }
  }

  resume(): void {
    this.channel?.resume();
  }

  /** The transport is gone, or the server is closing. */
  close(reason: string, error?: Error): void {
    if (this.stage === 'closed') return;
    this.stage = 'closed';
    if (this.timer) clearTimeout(this.timer);
    if (this.channel) {
      this.channel.closeChannel();
      this.opts.sessions.closed(this.channel);
    }
    this.opts.onClose(reason, error);
  }

  /** Run the link stages while their bytes are in. */
  private advance(): void {
    while (this.stage !== 'closed' && this.stage !== 'key' && this.buf.length >= this.need) {
      const bytes = this.buf.subarray(0, this.need);
      this.buf = this.buf.subarray(this.need);
      if (this.stage === 'header') {
        this.need = parseLinkHeader(bytes).size;
        this.stage = 'mess';
      } else if (this.stage === 'mess') {
        this.linkMess(parseLinkMess(bytes));
      } else if (this.stage === 'auth') {
        this.ticket(bytes);
      }
    }
    if (this.stage === 'data' && this.buf.length > 0) {
      const rest = this.buf;
      this.buf = Buffer.alloc(0);
      this.receiveData(rest);
    }
  }

  private linkMess(link: LinkMess): void {
    this.link = link;
    this.log = this.opts.log.child({ channel: channelName(link.channelType), channelId: link.channelId });
    this.opts.sessions.check(link);
    if (this.opts.authGate?.blocked()) throw xerror('SPICE_E_AUTH_THROTTLED', 'too many wrong tickets from this address; try again later');
    this.stage = 'key';
    this.opts.keys.take().then(
      (key) => {
        if (this.stage !== 'key') return;
        this.key = key;
        this.opts.write(
          buildLinkReply({
            error: SpiceLinkErr.OK,
            pubKey: key.publicDer,
            commonCaps: SPICE_SERVER_COMMON_CAPS,
            channelCaps: this.opts.serverChannelCaps?.(link.channelType) ?? [],
          }),
        );
        const selection = hasCap(link.commonCaps, SpiceCommonCap.PROTOCOL_AUTH_SELECTION);
        this.need = (selection ? SPICE_AUTH_MECHANISM_SIZE : 0) + SPICE_TICKET_SIZE;
        this.stage = 'auth';
        try {
          this.advance();
        } catch (e) {
          this.fail(e);
        }
      },
      (err: Error) => this.fail(xerror('SPICE_E_CONFIG', `could not make a link key: ${err.message}`)),
    );
  }

  /** [u32 auth_mechanism] | u8 encrypted_ticket[128] */
  private ticket(bytes: Uint8Array): void {
    const link = this.link!;
    const r = new ByteReader(bytes);
    if (bytes.length > SPICE_TICKET_SIZE) {
      const mechanism = r.u32le();
      if (mechanism !== SPICE_AUTH_SPICE)
        throw xerror('SPICE_E_BAD_LINK', `auth mechanism ${mechanism} was not offered (only 1, SPICE ticket)`, { mechanism });
    }
    const encrypted = r.bytesView(SPICE_TICKET_SIZE);
    const gate = this.opts.authGate;
    try {
      checkTicket(this.opts.ticketing, decryptTicket(this.key!, encrypted));
    } catch (e) {
      if (isXenvfbError(e) && this.opts.ticketing.password !== null) gate?.failure();
      throw e;
    }
    if (this.opts.ticketing.password !== null) gate?.success();
    this.key = null;
    const mini = hasCap(link.commonCaps, SpiceCommonCap.MINI_HEADER);
    const io: ChannelIo = {
      write: (b) => this.opts.write(b),
      backpressured: () => this.opts.backpressured(),
      close: (reason, error) => this.close(reason, error),
      log: this.log,
      mini,
      channelCaps: link.channelCaps,
    };
    const channel = this.opts.sessions.open(link, io);
    this.opts.write(buildLinkResult(SpiceLinkErr.OK));
    if (this.timer) clearTimeout(this.timer);
    this.channel = channel;
    this.reader = new SpiceMessageReader(mini, SPICE_MAX_CLIENT_MESSAGE);
    this.stage = 'data';
    this.log.info({ mini }, 'SPICE channel linked');
    channel.start();
  }

  private receiveData(chunk: Uint8Array): void {
    const reader = this.reader!;
    reader.push(chunk);
    for (;;) {
      if (this.stage !== 'data') return;
      const m = reader.next();
      if (!m) return;
      this.channel!.receive(m.type, m.body);
    }
  }

  /** Refuse with the SpiceLinkErr matching the typed error (during the link), then close. */
  private fail(err: unknown): void {
    if (this.stage === 'closed') return;
    const e: XenvfbError = isXenvfbError(err) ? err : xerror('SPICE_E_BAD_MSG', (err as Error)?.message ?? String(err));
    const code = linkErrorFor(e.code);
    if (this.stage === 'header' || this.stage === 'mess' || this.stage === 'key') {
      // Before our SpiceLinkReply: the refusal is a reply with only `error` set (reds_send_link_error).
      if (e.code !== 'SPICE_E_BAD_MAGIC' && e.code !== 'SPICE_E_TIMEOUT') this.opts.write(buildLinkError(code));
    } else if (this.stage === 'auth') {
      this.opts.write(buildLinkResult(code));
    }
    this.log.warn({ code: e.code, err: e.message }, 'closing SPICE connection');
    this.close(e.message, e);
  }
}
