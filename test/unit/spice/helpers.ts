// Test-side SPICE client pieces, written from spice/protocol.h independently of the codecs
// under test: link messages as literal byte layouts, the ticket encrypted with node:crypto,
// and a reader that splits the server's output into mini-header messages.

import * as crypto from 'node:crypto';
import { SpiceConnection, type SpiceConnectionOptions } from '../../../backend/spice/connection';
import { SpiceSessions } from '../../../backend/spice/sessions';
import { newTicketKey, type SpiceTicketing, type TicketKey } from '../../../backend/spice/ticket';
import { AuthThrottle } from '../../../backend/auth/throttle';
import { patternSurface, RecordingInput, TestDisplay } from '../vnc/helpers';
import { captureLogger, type CapturedLog } from '../../helpers/capture-logger';

/** One RSA key for every test link (making one per test costs ~6 ms each). */
let sharedKey: TicketKey | null = null;
export function testKey(): TicketKey {
  sharedKey ??= newTicketKey();
  return sharedKey;
}

/**
 * "REDQ" | major 2 | minor 2 | size, then SpiceLinkMess: connection_id | channel_type | channel_id |
 * num_common_caps | num_channel_caps | caps_offset (18) | caps.
 */
export function linkBytes(o: { connectionId?: number; type: number; id?: number; common?: number[]; channel?: number[] }): Buffer {
  const common = o.common ?? [0x0d]; // spice-gtk: AUTH_SELECTION | AUTH_SASL | MINI_HEADER
  const channel = o.channel ?? [];
  const body = Buffer.alloc(18 + 4 * (common.length + channel.length));
  body.writeUInt32LE(o.connectionId ?? 0, 0);
  body[4] = o.type;
  body[5] = o.id ?? 0;
  body.writeUInt32LE(common.length, 6);
  body.writeUInt32LE(channel.length, 10);
  body.writeUInt32LE(18, 14);
  [...common, ...channel].forEach((c, i) => body.writeUInt32LE(c, 18 + 4 * i));
  const head = Buffer.from([0x52, 0x45, 0x44, 0x51, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
  head.writeUInt32LE(body.length, 12);
  return Buffer.concat([head, body]);
}

/** u32 auth_mechanism (1 = SPICE) | RSA-OAEP-SHA1(password + NUL) under the server's key. */
export function ticketBytes(pubKeyDer: Uint8Array, password: string, withMechanism = true): Buffer {
  const key = crypto.createPublicKey({ key: Buffer.from(pubKeyDer), format: 'der', type: 'spki' });
  const enc = crypto.publicEncrypt(
    { key, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
    Buffer.from(`${password}\0`),
  );
  return withMechanism ? Buffer.concat([Buffer.from([1, 0, 0, 0]), enc]) : enc;
}

/** A mini-header client message: u16 type | u32 size | body. */
export function clientMsg(type: number, body: Uint8Array = new Uint8Array(0)): Buffer {
  const h = Buffer.alloc(6);
  h.writeUInt16LE(type, 0);
  h.writeUInt32LE(body.length, 2);
  return Buffer.concat([h, body]);
}

export interface Peer {
  conn: SpiceConnection;
  out: Buffer[];
  closed: { reason: string; error?: Error } | null;
  /** All output so far. */
  bytes(): Buffer;
  backlogged: boolean;
}

export interface World {
  display: TestDisplay;
  input: RecordingInput;
  sessions: SpiceSessions;
  throttle: AuthThrottle;
  log: CapturedLog;
  ticketing: SpiceTicketing;
  connect(extra?: Partial<SpiceConnectionOptions>): Peer;
}

export function world(opts: { ticketing?: SpiceTicketing; width?: number; height?: number; shared?: boolean } = {}): World {
  const display = new TestDisplay(patternSurface(opts.width ?? 64, opts.height ?? 48));
  const input = new RecordingInput();
  const log = captureLogger();
  const sessions = new SpiceSessions({ display, input, log: log.logger, ...(opts.shared ? { shared: true } : {}) });
  const throttle = new AuthThrottle();
  const ticketing = opts.ticketing ?? { password: null };
  return {
    display,
    input,
    sessions,
    throttle,
    log,
    ticketing,
    connect(extra = {}) {
      const peer = { out: [] as Buffer[], closed: null, backlogged: false } as unknown as Peer;
      peer.bytes = () => Buffer.concat(peer.out);
      peer.conn = new SpiceConnection({
        write: (b) => peer.out.push(Buffer.from(b)),
        backpressured: () => peer.backlogged,
        onClose: (reason, error) => (peer.closed = { reason, ...(error ? { error } : {}) }),
        log: log.logger,
        keys: { take: () => Promise.resolve(testKey()) },
        ticketing,
        sessions,
        authGate: throttle.gate('10.0.0.1'),
        ...extra,
      });
      return peer;
    },
  };
}

/** Let the key promise and queued flushes run. */
export function settle(): Promise<void> {
  return new Promise((r) => setImmediate(() => setImmediate(r)));
}

/** The server's link reply: 16-byte header + SpiceLinkReply; returns error and the public key. */
export function readLinkReply(b: Buffer): { error: number; pubKey: Buffer; size: number; commonCaps: number } {
  const size = b.readUInt32LE(12);
  const body = b.subarray(16, 16 + size);
  return { error: body.readUInt32LE(0), pubKey: body.subarray(4, 166), size, commonCaps: body.length >= 182 ? body.readUInt32LE(178) : 0 };
}

/** Split mini-header server messages. */
export function serverMessages(b: Buffer): { type: number; body: Buffer }[] {
  const out: { type: number; body: Buffer }[] = [];
  let o = 0;
  while (o + 6 <= b.length) {
    const type = b.readUInt16LE(o);
    const size = b.readUInt32LE(o + 2);
    if (o + 6 + size > b.length) break;
    out.push({ type, body: b.subarray(o + 6, o + 6 + size) });
    o += 6 + size;
  }
  return out;
}

/** Link a channel through the ticket; returns the peer and the bytes after the link result. */
export async function linked(w: World, link: Parameters<typeof linkBytes>[0], password = ''): Promise<{ peer: Peer; data: () => Buffer }> {
  const peer = w.connect();
  peer.conn.receive(linkBytes(link));
  await settle();
  const reply = readLinkReply(peer.bytes());
  if (reply.error !== 0) throw new Error(`link refused: ${reply.error}`);
  const replyLen = 16 + reply.size;
  peer.conn.receive(ticketBytes(reply.pubKey, password));
  await settle();
  const all = peer.bytes();
  const result = all.readUInt32LE(replyLen);
  if (result !== 0) throw new Error(`link result ${result}`);
  return { peer, data: () => peer.bytes().subarray(replyLen + 4) };
}
