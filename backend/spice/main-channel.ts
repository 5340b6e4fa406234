// The main channel engine (spice.proto "channel MainChannel"): INIT with the session id, the
// channel list on ATTACH_CHANNELS, mouse mode changes, the domain's name and UUID, a periodic
// PING, and the clear statement that no guest agent exists (a Xen PV guest has no virtio-serial).

import { buildNotify, buildPing } from '../../shared/spice/common-messages';
import {
  hasCap,
  SpiceMainCap,
  SpiceMouseMode,
  SpiceMsg,
  SpiceMsgMain,
  SpiceNotifySeverity,
  SpiceNotifyVisibility,
} from '../../shared/spice/constants';
import {
  buildChannelsList,
  buildMainInit,
  buildMouseMode,
  buildMultiMediaTime,
  buildName,
  buildUuid,
  parseMainClientMessage,
} from '../../shared/spice/main-messages';
import { type ChannelIo, SpiceChannel } from './channel';

/** How often the main channel pings an idle client (spice-server pings for latency; we for liveness). */
export const SPICE_PING_INTERVAL_MS = 10_000;
/** What the client is told about the missing agent (printed by spice-gtk, shown by some UIs). */
export const SPICE_NO_AGENT_NOTICE =
  'xenvfb: this Xen guest has no SPICE agent; clipboard, file transfer and resize from the client are not available';

export interface MainChannelSession {
  readonly id: number;
  readonly channels: readonly { type: number; id: number }[];
  /** The session's multimedia clock, ms. */
  mmTime(): number;
  mouseMode: number;
  readonly name?: string;
  readonly uuid?: Uint8Array;
}

export class MainChannel extends SpiceChannel {
  private pingTimer: NodeJS.Timeout | null = null;
  private pingId = 0;

  constructor(
    io: ChannelIo,
    private readonly session: MainChannelSession,
  ) {
    super(io);
  }

  start(): void {
    const s = this.session;
    this.send(
      SpiceMsgMain.INIT,
      buildMainInit({
        sessionId: s.id,
        displayChannelsHint: 1,
        supportedMouseModes: SpiceMouseMode.SERVER | SpiceMouseMode.CLIENT,
        currentMouseMode: s.mouseMode,
        agentConnected: false,
        agentTokens: 0,
        multiMediaTime: s.mmTime(),
        ramHint: 0,
      }),
    );
    if (hasCap(this.io.channelCaps, SpiceMainCap.NAME_AND_UUID)) {
      if (s.name) this.send(SpiceMsgMain.NAME, buildName(s.name));
      if (s.uuid) this.send(SpiceMsgMain.UUID, buildUuid(s.uuid));
    }
    this.send(SpiceMsg.NOTIFY, buildNotify(SpiceNotifySeverity.INFO, SpiceNotifyVisibility.LOW, SPICE_NO_AGENT_NOTICE));
    this.pingTimer = setInterval(() => this.ping(), SPICE_PING_INTERVAL_MS);
    this.pingTimer.unref();
  }

  private ping(): void {
    if (this.io.backpressured()) return;
    this.send(SpiceMsg.PING, buildPing(++this.pingId, process.hrtime.bigint()));
    this.send(SpiceMsgMain.MULTI_MEDIA_TIME, buildMultiMediaTime(this.session.mmTime()));
  }

  protected onMessage(type: number, body: Uint8Array): void {
    const m = parseMainClientMessage(type, body);
    switch (m.kind) {
      case 'attachChannels':
        this.send(SpiceMsgMain.CHANNELS_LIST, buildChannelsList(this.session.channels));
        return;
      case 'mouseModeRequest': {
        // Either mode is fine: client mode maps to the vkbd absolute pointer, server mode to
        // relative motion the inputs channel turns into absolute positions.
        if (m.mode === SpiceMouseMode.SERVER || m.mode === SpiceMouseMode.CLIENT) this.session.mouseMode = m.mode;
        else this.log.debug({ mode: m.mode }, 'unknown mouse mode requested; keeping the current one');
        this.send(SpiceMsgMain.MOUSE_MODE, buildMouseMode(SpiceMouseMode.SERVER | SpiceMouseMode.CLIENT, this.session.mouseMode));
        return;
      }
      case 'agent':
        // No agent: spice-gtk does not send these after INIT said agent_connected = 0.
        this.log.debug({ type: m.type }, 'agent message without an agent ignored');
        return;
      default:
        return;
    }
  }

  protected override dispose(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }
}
