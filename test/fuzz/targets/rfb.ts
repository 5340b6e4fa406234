// RFB parsers a network client meets (rfbproto §7.1-7.5): one client message; a serving
// session fed the bytes in pieces (the cut points come from the input's first byte); the
// handshake and security stages with every security family offered. Invariants: a parsed
// message is no longer than the bytes; a session closes only with a typed error.

import { parseClientMessage } from '../../../backend/vnc/client-messages';
import { AuthThrottle } from '../../../backend/auth/throttle';
import { vncAuthResponse } from '../../../backend/vnc/security/vnc-auth';
import { isXenvfbError } from '../../../shared/errors';
import { connected, fur, harness, type Harness, patternSurface, setEncodings, TestDisplay } from '../../unit/vnc/helpers';
import type { FuzzTarget } from '../harness/target';

const COVERS = ['backend/vnc/', 'backend/net/', 'backend/auth/', 'shared/bytes.ts'];
const CHALLENGE = new Uint8Array(16).fill(7);

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** Feed the bytes after the first in pieces of 1 + (first byte % 32) bytes; a typed close is fine. */
function feed(h: Harness, input: Uint8Array): void {
  const piece = 1 + ((input[0] ?? 0) % 32);
  for (let o = 1; o < input.length && !h.session.closed; o += piece) h.session.receive(input.subarray(o, o + piece));
  if (h.session.closed && !isXenvfbError(h.session.error)) throw new Error(`session failed internally: ${h.session.closeReason}`);
  h.session.close('fuzz input done');
}

const messageSeeds = (): Uint8Array[] => [
  Buffer.from([0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]),
  setEncodings([16, 7, -258, -308, -312, -313, 5, 0]),
  fur(false, 0, 0, 64, 32),
  Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]),
  Buffer.from([5, 1, 0, 10, 0, 10]),
  Buffer.from([6, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x62, 0x63]),
  Buffer.from([150, 1, 0, 0, 0, 0, 0, 64, 0, 32]),
  Buffer.from([248, 0, 0, 0, 0x80, 0, 0, 0, 4, 1, 2, 3, 4]),
  Buffer.from([251, 0, 0, 64, 0, 32, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 64, 0, 32, 0, 0, 0, 0]),
  Buffer.from([255, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 30]),
];

const clientMessage: FuzzTarget = {
  name: 'rfb-client-message',
  description: 'one RFB client-to-server message from a connected VNC client (rfbproto §7.5)',
  covers: ['backend/vnc/client-messages.ts', 'backend/vnc/messages.ts', 'shared/bytes.ts'],
  maxLength: 2048,
  seeds: messageSeeds,
  run(input) {
    const r = parseClientMessage(input);
    if (r && (r.size <= 0 || r.size > input.length)) throw new Error(`message size ${r.size} of ${input.length} bytes`);
  },
};

const session: FuzzTarget = {
  name: 'rfb-session',
  description: 'the client messages of a serving RFB session, in pieces (ServerInit done, security None)',
  covers: COVERS,
  maxLength: 4096,
  seeds: () => messageSeeds().map((m) => Buffer.concat([Buffer.of(5), m, fur(true, 0, 0, 64, 32)])),
  run(input) {
    feed(connected(new TestDisplay(patternSurface(64, 32))), input);
  },
};

const throttle = new AuthThrottle({ baseDelayMs: 0, maxDelayMs: 0 });

const handshake: FuzzTarget = {
  name: 'rfb-handshake',
  description: 'ProtocolVersion, security choice, VeNCrypt, VNC-auth response and Plain credentials from a new client',
  covers: COVERS,
  maxLength: 512,
  seeds: () => [
    Buffer.from('\x03RFB 003.008\n\x01\x01', 'latin1'),
    Buffer.concat([Buffer.from('\x05RFB 003.008\n\x02', 'latin1'), vncAuthResponse(Buffer.from('pw'), CHALLENGE), Buffer.of(1)]),
    Buffer.concat([Buffer.from('\x00RFB 003.003\n', 'latin1'), vncAuthResponse(Buffer.from('pw'), CHALLENGE)]),
    Buffer.concat([Buffer.from('\x07RFB 003.007\n\x13', 'latin1'), Buffer.of(0, 2), u32(258)]),
    Buffer.concat([Buffer.from('\x01RFB 003.008\n\x13', 'latin1'), Buffer.of(0, 2), u32(259), u32(4), u32(2), Buffer.from('userpw')]),
  ],
  run(input) {
    const h = harness(new TestDisplay(patternSurface(32, 16)), {
      security: { types: ['none', 'vnc', 'tlsvnc', 'tlsplain'], password: Buffer.from('pw'), users: new Map([['user', 'pw']]) },
      authGate: throttle.gate('198.51.100.7'),
      random: () => CHALLENGE,
      startTls: () => undefined,
    });
    feed(h, input);
  },
};

export const targets = [clientMessage, session, handshake];
