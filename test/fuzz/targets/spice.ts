// SPICE parsers a network client meets (spice-protocol, ../shared/reference/spice.md): the
// link header and SpiceLinkMess with its caps; and a linked channel's byte stream, split into
// messages by the mini or full data header and each parsed as the channel's server does
// (common messages first, then main, display or inputs). The input's first byte picks the
// header kind, the channel and the piece size. Invariants: a message body is no longer than
// the reader's bound; caps counts stay within SPICE_MAX_LINK_CAPS. The socket-level stages
// (ticket, RSA, throttle) are fuzzed in test/unit/spice/fuzz.test.ts.

import { parseCommonClientMessage } from '../../../shared/spice/common-messages';
import { SpiceChannel, SpiceMsgc, SpiceMsgcDisplay, SpiceMsgcInputs, SpiceMsgcMain } from '../../../shared/spice/constants';
import { frameMessage, SpiceMessageReader } from '../../../shared/spice/data-header';
import { parseDisplayClientMessage } from '../../../shared/spice/display-messages';
import { parseInputsClientMessage } from '../../../shared/spice/inputs-messages';
import { buildLinkMess, parseLinkHeader, parseLinkMess, SPICE_LINK_HEADER_SIZE, SPICE_MAX_LINK_CAPS } from '../../../shared/spice/link';
import { parseMainClientMessage } from '../../../shared/spice/main-messages';
import type { FuzzTarget } from '../harness/target';

/** The server's bound on one client message (backend/spice/connection.ts). */
const MAX_BODY = 64 * 1024;

const link: FuzzTarget = {
  name: 'spice-link',
  description: 'the first bytes a SPICE client sends on a channel: link header and SpiceLinkMess with caps',
  covers: ['shared/spice/link.ts', 'shared/bytes.ts'],
  maxLength: 1024,
  seeds: () => [
    buildLinkMess({ connectionId: 0, channelType: SpiceChannel.MAIN, channelId: 0, commonCaps: [0x0d], channelCaps: [0x1f] }),
    buildLinkMess({ connectionId: 0x1234, channelType: SpiceChannel.DISPLAY, channelId: 0, commonCaps: [0x0b], channelCaps: [0xffff, 1] }),
    buildLinkMess({ connectionId: 7, channelType: SpiceChannel.INPUTS, channelId: 0, commonCaps: [], channelCaps: [] }),
  ],
  run(input) {
    const h = parseLinkHeader(input.subarray(0, SPICE_LINK_HEADER_SIZE));
    const m = parseLinkMess(input.subarray(SPICE_LINK_HEADER_SIZE, SPICE_LINK_HEADER_SIZE + h.size));
    if (m.commonCaps.length > SPICE_MAX_LINK_CAPS || m.channelCaps.length > SPICE_MAX_LINK_CAPS) throw new Error('caps over the bound');
  },
};

const CHANNELS = [SpiceChannel.MAIN, SpiceChannel.DISPLAY, SpiceChannel.INPUTS, SpiceChannel.CURSOR] as const;

function parseForChannel(channel: number, type: number, body: Uint8Array): void {
  if (parseCommonClientMessage(type, body)) return;
  if (channel === SpiceChannel.MAIN) parseMainClientMessage(type, body);
  else if (channel === SpiceChannel.DISPLAY) parseDisplayClientMessage(type, body);
  else if (channel === SpiceChannel.INPUTS) parseInputsClientMessage(type, body);
}

/** First byte: bit 0 = mini header, bits 1-2 = channel, bits 3-7 = piece size - 1. */
function control(mini: boolean, channelIndex: number, piece: number): number {
  return (mini ? 1 : 0) | (channelIndex << 1) | ((piece - 1) << 3);
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}

const channelSeeds = (): Uint8Array[] => {
  const m = (mini: boolean, type: number, body: number[]): Buffer => frameMessage(mini, 1n, type, Uint8Array.from(body));
  return [
    Buffer.concat([
      Buffer.of(control(true, 0, 32)),
      m(true, SpiceMsgcMain.ATTACH_CHANNELS, []),
      m(true, SpiceMsgcMain.MOUSE_MODE_REQUEST, [2, 0]),
      m(true, SpiceMsgc.PONG, [...u32(1), ...u32(0), ...u32(0)]),
    ]),
    Buffer.concat([
      Buffer.of(control(false, 1, 7)),
      m(false, SpiceMsgcDisplay.INIT, [1, ...u32(0), ...u32(0), ...u32(4096 * 1024), 0, 0, 0, 0, 0, 0, 0, 0]),
      m(false, SpiceMsgcDisplay.PREFERRED_COMPRESSION, [3]),
      m(false, SpiceMsgc.ACK, []),
    ]),
    Buffer.concat([
      Buffer.of(control(true, 2, 3)),
      m(true, SpiceMsgcInputs.KEY_DOWN, u32(0x1e)),
      m(true, SpiceMsgcInputs.KEY_SCANCODE, [0xe0, 0x48, 0xe0, 0xc8]),
      m(true, SpiceMsgcInputs.MOUSE_POSITION, [...u32(10), ...u32(20), 1, 0, 0]),
      m(true, SpiceMsgcInputs.MOUSE_PRESS, [1, 1, 0]),
      m(true, SpiceMsgcInputs.KEY_MODIFIERS, [2, 0]),
    ]),
  ];
};

const channelStream: FuzzTarget = {
  name: 'spice-channel-stream',
  description: 'the messages of a linked SPICE channel (main, display, inputs, cursor), split by the data header',
  covers: ['shared/spice/', 'shared/bytes.ts'],
  maxLength: 4096,
  seeds: channelSeeds,
  run(input) {
    const c = input[0] ?? 0;
    const reader = new SpiceMessageReader((c & 1) === 1, MAX_BODY);
    const channel = CHANNELS[(c >> 1) & 3]!;
    const piece = 1 + (c >> 3);
    for (let o = 1; o < input.length; o += piece) {
      reader.push(input.subarray(o, o + piece));
      for (let msg = reader.next(); msg; msg = reader.next()) {
        if (msg.body.length > MAX_BODY) throw new Error(`message body of ${msg.body.length} bytes passed the reader`);
        parseForChannel(channel, msg.type, msg.body);
      }
    }
    if (reader.bufferedBytes > input.length) throw new Error('reader holds more bytes than it was given');
  },
};

export const targets = [link, channelStream];
