// SPICE sessions: a client's main channel makes one (with a random non-zero id that MAIN_INIT
// tells it), and its display, inputs and cursor channels join it by sending that id as
// connection_id (reds.cpp reds_handle_other_links). A new session takes over from the old
// ones (spice-server's behaviour: one client at a time) unless sharing is on. When a session's
// main channel goes, its other channels go too.

import * as crypto from 'node:crypto';
import { xerror } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import { channelName, SpiceChannel as SpiceChannelType, SpiceMouseMode } from '../../shared/spice/constants';
import type { LinkMess } from '../../shared/spice/link';
import type { Display } from '../display/display';
import type { InputSink } from '../input/input-sink';
import type { ChannelIo, SpiceChannel } from './channel';
import { CursorChannel } from './cursor-channel';
import { DisplayChannel } from './display-channel';
import type { ImageCodecName } from './image-codecs';
import { InputsChannel } from './inputs-channel';
import { MainChannel } from './main-channel';

/** The channels every session offers, in CHANNELS_LIST order. */
export const SPICE_SESSION_CHANNELS: readonly { type: number; id: number }[] = [
  { type: SpiceChannelType.DISPLAY, id: 0 },
  { type: SpiceChannelType.INPUTS, id: 0 },
  { type: SpiceChannelType.CURSOR, id: 0 },
];
/** Channels one session may hold open at once (a client opens one of each; reconnects overlap briefly). */
export const SPICE_MAX_CHANNELS_PER_SESSION = 16;
/** Sessions kept at once with sharing on. */
export const SPICE_MAX_SESSIONS = 16;

export interface SpiceSessionsOptions {
  display: Display;
  input: InputSink;
  /** Domain name for MAIN_NAME (the client's window title). */
  name?: string;
  /** Domain UUID for MAIN_UUID. */
  uuid?: Uint8Array;
  /** Several clients at once instead of the newest taking over. */
  shared?: boolean;
  /** Force one image codec for every display channel. */
  codec?: ImageCodecName;
  /** Photo-like rects as JPEG (DisplayChannelOptions.jpegPhotos). */
  jpegPhotos?: boolean;
  /** Still time before JPEG areas are re-sent losslessly (tests). */
  losslessRefreshMs?: number;
  /** false: no MJPEG video streams. */
  streams?: boolean;
  /** Still time before a video stream is destroyed (tests). */
  streamIdleMs?: number;
  log: Logger;
}

interface Session {
  id: number;
  mouseMode: number;
  started: number;
  /** The session's multimedia clock (ms): MAIN_INIT tells it to the client, stream frames are stamped with it. */
  mmTime(): number;
  main: SpiceChannel | null;
  channels: Map<SpiceChannel, ChannelIo>;
}

export class SpiceSessions {
  private readonly sessions = new Map<number, Session>();

  constructor(private readonly opts: SpiceSessionsOptions) {}

  get count(): number {
    return this.sessions.size;
  }

  /** Channels open per session id (for stats and tests). */
  describe(): { id: number; channels: number }[] {
    return [...this.sessions.values()].map((s) => ({ id: s.id, channels: s.channels.size }));
  }

  /** The display channels now linked (stats and tests). */
  displays(): DisplayChannel[] {
    return [...this.sessions.values()].flatMap((s) =>
      [...s.channels.keys()].filter((c): c is DisplayChannel => c instanceof DisplayChannel),
    );
  }

  /** Before the ticket: may this link be served at all? Throws SPICE_E_NO_CHANNEL / SPICE_E_BAD_SESSION. */
  check(link: LinkMess): void {
    if (link.channelType === SpiceChannelType.MAIN) {
      if (link.channelId !== 0) throw xerror('SPICE_E_NO_CHANNEL', `no main channel ${link.channelId}`, { channelId: link.channelId });
      // A non-zero connection_id on main means "migration target" (reds.cpp); we do not migrate.
      if (link.connectionId !== 0)
        throw xerror('SPICE_E_BAD_SESSION', `main link with connection id ${link.connectionId}: migration is not supported`);
      return;
    }
    if (!SPICE_SESSION_CHANNELS.some((c) => c.type === link.channelType && c.id === link.channelId)) {
      throw xerror('SPICE_E_NO_CHANNEL', `no ${channelName(link.channelType)} channel ${link.channelId} here`, {
        channelType: link.channelType,
        channelId: link.channelId,
      });
    }
    const s = this.sessions.get(link.connectionId);
    if (!s) throw xerror('SPICE_E_BAD_SESSION', `no SPICE session ${link.connectionId}`, { connectionId: link.connectionId });
    if (s.channels.size >= SPICE_MAX_CHANNELS_PER_SESSION) {
      throw xerror('SPICE_E_OVERSIZE', `session ${s.id} already has ${s.channels.size} channels`, {
        limit: SPICE_MAX_CHANNELS_PER_SESSION,
      });
    }
  }

  /** After the ticket: the channel engine for this link (check() again: the session may have gone meanwhile). */
  open(link: LinkMess, io: ChannelIo): SpiceChannel {
    this.check(link);
    if (link.channelType === SpiceChannelType.MAIN) return this.openMain(io);
    const s = this.sessions.get(link.connectionId)!;
    const channel = this.makeChannel(link.channelType, io, s);
    s.channels.set(channel, io);
    return channel;
  }

  private openMain(io: ChannelIo): SpiceChannel {
    if (!this.opts.shared) for (const old of [...this.sessions.values()]) this.end(old, 'a new SPICE client took over');
    while (this.sessions.size >= SPICE_MAX_SESSIONS) this.end(this.oldest()!, 'too many SPICE sessions: the oldest goes');
    let id = 0;
    while (id === 0 || this.sessions.has(id)) id = crypto.randomBytes(4).readUInt32LE(0);
    const started = performance.now();
    const mmTime = (): number => Math.floor(performance.now() - started) + 1;
    const session: Session = { id, mouseMode: SpiceMouseMode.CLIENT, started, mmTime, main: null, channels: new Map() };
    const main = new MainChannel(io, {
      id,
      channels: SPICE_SESSION_CHANNELS,
      mmTime,
      get mouseMode() {
        return session.mouseMode;
      },
      set mouseMode(m: number) {
        session.mouseMode = m;
      },
      ...(this.opts.name ? { name: this.opts.name } : {}),
      ...(this.opts.uuid ? { uuid: this.opts.uuid } : {}),
    });
    session.main = main;
    session.channels.set(main, io);
    this.sessions.set(id, session);
    this.opts.log.info({ session: id, shared: !!this.opts.shared }, 'SPICE session started');
    return main;
  }

  private makeChannel(type: number, io: ChannelIo, session: Session): SpiceChannel {
    switch (type) {
      case SpiceChannelType.DISPLAY:
        return new DisplayChannel(io, {
          display: this.opts.display,
          ...(this.opts.codec ? { codec: this.opts.codec } : {}),
          ...(this.opts.losslessRefreshMs !== undefined ? { losslessRefreshMs: this.opts.losslessRefreshMs } : {}),
          ...(this.opts.jpegPhotos ? { jpegPhotos: true } : {}),
          ...(this.opts.streams === false ? { streams: false } : {}),
          ...(this.opts.streamIdleMs !== undefined ? { streamIdleMs: this.opts.streamIdleMs } : {}),
          mmTime: session.mmTime,
        });
      case SpiceChannelType.INPUTS:
        return new InputsChannel(io, { display: this.opts.display, input: this.opts.input });
      default:
        return new CursorChannel(io, this.opts.display);
    }
  }

  /** A channel's connection ended: forget it; the main channel ends its whole session. */
  closed(channel: SpiceChannel): void {
    for (const s of this.sessions.values()) {
      if (!s.channels.delete(channel)) continue;
      if (s.main === channel) this.end(s, 'the main channel closed');
      return;
    }
  }

  /** Close every channel of every session. */
  closeAll(reason: string): void {
    for (const s of [...this.sessions.values()]) this.end(s, reason);
  }

  private end(s: Session, reason: string): void {
    this.sessions.delete(s.id);
    for (const io of [...s.channels.values()]) io.close(reason);
    s.channels.clear();
    this.opts.log.info({ session: s.id, reason }, 'SPICE session ended');
  }

  private oldest(): Session | undefined {
    let best: Session | undefined;
    for (const s of this.sessions.values()) if (!best || s.started < best.started) best = s;
    return best;
  }
}
