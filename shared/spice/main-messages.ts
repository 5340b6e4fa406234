// Main channel messages (spice.proto "channel MainChannel"; enums.h SPICE_MSG_MAIN_*, SPICE_MSGC_MAIN_*).

import { ByteWriter } from '../bytes';
import { xerror } from '../errors';
import { SpiceMsgcMain } from './constants';
import { fixedBody } from './common-messages';

export interface MainInit {
  sessionId: number;
  displayChannelsHint: number;
  supportedMouseModes: number;
  currentMouseMode: number;
  agentConnected: boolean;
  agentTokens: number;
  multiMediaTime: number;
  ramHint: number;
}

/** u32 session_id | u32 display_channels_hint | u32 supported_mouse_modes | u32 current_mouse_mode |
 *  u32 agent_connected | u32 agent_tokens | u32 multi_media_time | u32 ram_hint */
export function buildMainInit(m: MainInit): Buffer {
  const w = new ByteWriter(32);
  w.u32le(m.sessionId).u32le(m.displayChannelsHint).u32le(m.supportedMouseModes).u32le(m.currentMouseMode);
  w.u32le(m.agentConnected ? 1 : 0)
    .u32le(m.agentTokens)
    .u32le(m.multiMediaTime >>> 0)
    .u32le(m.ramHint);
  return w.finish();
}

/** u32 num_of_channels | { u8 type | u8 id }[num_of_channels] */
export function buildChannelsList(channels: readonly { type: number; id: number }[]): Buffer {
  const w = new ByteWriter(4 + 2 * channels.length);
  w.u32le(channels.length);
  for (const c of channels) w.u8(c.type).u8(c.id);
  return w.finish();
}

/** u16 supported_modes | u16 current_mode (flags16 on the wire) */
export function buildMouseMode(supported: number, current: number): Buffer {
  return new ByteWriter(4).u16le(supported).u16le(current).finish();
}

/** u32 time (ms of the multimedia clock) */
export function buildMultiMediaTime(ms: number): Buffer {
  return new ByteWriter(4).u32le(ms >>> 0).finish();
}

/** NAME: u32 name_len | u8 name[name_len] (the length counts the NUL, like spice-server) */
export function buildName(name: string): Buffer {
  const bytes = Buffer.from(name, 'utf8');
  return new ByteWriter(5 + bytes.length)
    .u32le(bytes.length + 1)
    .bytes(bytes)
    .u8(0)
    .finish();
}

/** UUID: u8 uuid[16] */
export function buildUuid(uuid: Uint8Array): Buffer {
  if (uuid.length !== 16) throw xerror('BYTES_E_RANGE', `a UUID is 16 bytes, got ${uuid.length}`);
  return Buffer.from(uuid);
}

/** Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into 16 bytes, or null if it is not one. */
export function parseUuid(text: string): Uint8Array | null {
  const hex = text.trim().replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return null;
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export type MainClientMessage =
  | { kind: 'attachChannels' }
  | { kind: 'mouseModeRequest'; mode: number }
  | { kind: 'clientInfo' }
  | { kind: 'agent'; type: number }
  | { kind: 'migrate'; type: number }
  | { kind: 'qualityIndicator' };

export function parseMainClientMessage(type: number, body: Uint8Array): MainClientMessage {
  switch (type) {
    case SpiceMsgcMain.ATTACH_CHANNELS: // empty
      return { kind: 'attachChannels' };
    case SpiceMsgcMain.MOUSE_MODE_REQUEST: // u16 mode
      return { kind: 'mouseModeRequest', mode: fixedBody(type, body, 2).u16le() };
    case SpiceMsgcMain.CLIENT_INFO: // u64 cache_size
      return { kind: 'clientInfo' };
    case SpiceMsgcMain.AGENT_START: // u32 num_tokens
    case SpiceMsgcMain.AGENT_DATA: // VDAgent bytes
    case SpiceMsgcMain.AGENT_TOKEN: // u32 num_tokens
      return { kind: 'agent', type };
    case SpiceMsgcMain.MIGRATE_CONNECTED:
    case SpiceMsgcMain.MIGRATE_CONNECT_ERROR:
    case SpiceMsgcMain.MIGRATE_END:
    case SpiceMsgcMain.MIGRATE_DST_DO_SEAMLESS:
    case SpiceMsgcMain.MIGRATE_CONNECTED_SEAMLESS:
      return { kind: 'migrate', type };
    case SpiceMsgcMain.QUALITY_INDICATOR:
      return { kind: 'qualityIndicator' };
    default:
      throw xerror('SPICE_E_BAD_MSG', `unknown main channel message type ${type}`, { type });
  }
}
