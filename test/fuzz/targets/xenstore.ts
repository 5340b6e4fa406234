// The xenstore wire a domain's connection carries to our xenstored (xs_wire.h,
// docs/xenstore.md): the incremental packet parser, and the embedded xenstored engine fed
// whole request streams as dom0 or as an unprivileged guest (domain 1, introduced). The
// first input byte picks the connection (bit 0: 1 = the guest) and the piece size (bits
// 1-7). Invariants: a parsed packet's payload fits XENSTORE_PAYLOAD_MAX; whatever the server
// writes back parses as xenstore packets of known reply types. The socket adapter is fuzzed
// over real unix sockets in test/fuzz/xenstored-socket.test.ts.

import { XenstoreEngine } from '../../../shared/xenstore/server/engine';
import { encodeMessage, stringsPayload, writePayload, XENSTORE_PAYLOAD_MAX, XsParser, XsType } from '../../../shared/xenstore/wire';
import type { FuzzTarget } from '../harness/target';

const req = (type: XsType, payload: Uint8Array = Buffer.alloc(0), txId = 0, reqId = 1): Buffer =>
  encodeMessage({ type, reqId, txId, payload });
const s = (...strings: string[]): Buffer => stringsPayload(...strings);

const REQUESTS: Buffer[][] = [
  [
    req(XsType.XS_MKDIR, s('/local/domain/1/data')),
    req(XsType.XS_WRITE, writePayload('/local/domain/1/data/x', 'hello')),
    req(XsType.XS_READ, s('/local/domain/1/data/x')),
    req(XsType.XS_DIRECTORY, s('/local/domain/1')),
    req(XsType.XS_GET_PERMS, s('/local/domain/1/data')),
    req(XsType.XS_SET_PERMS, s('/local/domain/1/data', 'b1', 'r0')),
  ],
  [
    req(XsType.XS_WATCH, s('/local/domain/1/data', 'tok')),
    req(XsType.XS_WATCH, s('@releaseDomain', 'rel')),
    req(XsType.XS_WRITE, writePayload('data/y', 'rel')),
    req(XsType.XS_RM, s('/local/domain/1/data')),
    req(XsType.XS_UNWATCH, s('/local/domain/1/data', 'tok')),
    req(XsType.XS_RESET_WATCHES),
  ],
  [
    req(XsType.XS_TRANSACTION_START, s('')),
    req(XsType.XS_WRITE, writePayload('/local/domain/1/t', 'v'), 1),
    req(XsType.XS_DIRECTORY_PART, s('/local/domain/1', '0'), 1),
    req(XsType.XS_TRANSACTION_END, s('T'), 1),
    req(XsType.XS_GET_DOMAIN_PATH, s('1')),
    req(XsType.XS_IS_DOMAIN_INTRODUCED, s('1')),
  ],
  [
    req(XsType.XS_INTRODUCE, s('2', '1234', '5')),
    req(XsType.XS_SET_TARGET, s('2', '1')),
    req(XsType.XS_GET_QUOTA, s()),
    req(XsType.XS_SET_QUOTA, s('nodes', '100')),
    req(XsType.XS_GET_FEATURE, s('1')),
    req(XsType.XS_CONTROL, s('print', 'x')),
    req(XsType.XS_RELEASE, s('2')),
    req(XsType.XS_RESUME, s('1')),
  ],
];

const parser: FuzzTarget = {
  name: 'xenstore-parser',
  description: 'the xenstore packet parser fed a connection byte stream in pieces (xs_wire.h header + payload)',
  covers: ['shared/xenstore/wire.ts'],
  maxLength: 8192,
  seeds: () => REQUESTS.map((r) => Buffer.concat([Buffer.of(5 << 1), ...r])),
  run(input) {
    const p = new XsParser();
    const piece = 1 + ((input[0] ?? 0) >> 1);
    for (let o = 1; o < input.length; o += piece) {
      for (const m of p.push(input.subarray(o, o + piece))) {
        if (m.payload.length > XENSTORE_PAYLOAD_MAX) throw new Error(`payload of ${m.payload.length} bytes parsed`);
      }
    }
  },
};

const REPLY_TYPES = new Set<number>(Object.values(XsType).filter((v): v is number => typeof v === 'number'));

const requests: FuzzTarget = {
  name: 'xenstore-requests',
  description: 'request streams to the embedded xenstored from dom0 or from an unprivileged guest domain',
  covers: ['shared/xenstore/'],
  maxLength: 8192,
  seeds: () => REQUESTS.flatMap((r) => [Buffer.concat([Buffer.of(1 | (9 << 1)), ...r]), Buffer.concat([Buffer.of(127 << 1), ...r])]),
  // The engine answers everything on the wire; any exception escaping it is a finding.
  expected: () => false,
  run(input) {
    const engine = new XenstoreEngine({ log: () => undefined, now: () => 0 });
    engine.introduceDomain(1);
    const out = new XsParser();
    let closed = false;
    const conn = engine.connect((input[0] ?? 0) & 1 ? { domid: 1, privileged: false } : { domid: 0, privileged: true }, {
      write: (bytes) => {
        let replies;
        try {
          replies = out.push(bytes);
        } catch (e) {
          throw new Error(`the server wrote a packet that does not parse: ${(e as Error).message}`);
        }
        for (const m of replies) if (!REPLY_TYPES.has(m.type)) throw new Error(`reply of unknown type ${m.type}`);
      },
      close: () => {
        closed = true;
      },
    });
    const piece = 1 + ((input[0] ?? 0) >> 1);
    for (let o = 1; o < input.length && !closed; o += piece) conn.receive(input.subarray(o, o + piece));
    engine.disconnect(conn);
  },
};

export const targets = [parser, requests];
