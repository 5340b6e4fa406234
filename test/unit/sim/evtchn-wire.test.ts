import { strict as assert } from 'node:assert';
import { isXenvfbError } from '../../../shared/errors';
import {
  EVTCHN_WIRE_MAX_FRAME,
  type EvtchnClientMessage,
  type EvtchnServerMessage,
  clientMessageDecoder,
  decodeClientMessage,
  encodeClientMessage,
  encodeServerMessage,
  serverMessageDecoder,
} from '../../../shared/platform/sim/evtchn-wire';

// Golden frames built by hand from the layout in evtchn-wire.ts, independent of the writer:
// u16le length (type + payload) | u8 type | payload (little-endian).
const le16 = (v: number): number[] => [v & 0xff, v >> 8];
const le32 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
const golden = (type: number, payload: number[]): Buffer => Buffer.from([...le16(1 + payload.length), type, ...payload]);

const clientCases: { name: string; msg: EvtchnClientMessage; bytes: Buffer }[] = [
  {
    name: 'ALLOC_UNBOUND',
    msg: { type: 'alloc-unbound', reqId: 0x01020304, remoteDomid: 7 },
    bytes: golden(0x01, [...le32(0x01020304), ...le16(7)]),
  },
  {
    name: 'BIND_INTERDOMAIN',
    msg: { type: 'bind-interdomain', reqId: 9, remoteDomid: 0x7fef, remotePort: 4095 },
    bytes: golden(0x02, [...le32(9), ...le16(0x7fef), ...le32(4095)]),
  },
  { name: 'UNBIND', msg: { type: 'unbind', reqId: 0xffffffff, port: 3 }, bytes: golden(0x03, [...le32(0xffffffff), ...le32(3)]) },
  { name: 'NOTIFY', msg: { type: 'notify', port: 1 }, bytes: golden(0x04, le32(1)) },
  { name: 'UNMASK', msg: { type: 'unmask', port: 2 }, bytes: golden(0x05, le32(2)) },
];

const serverCases: { name: string; msg: EvtchnServerMessage; bytes: Buffer }[] = [
  { name: 'REPLY', msg: { type: 'reply', reqId: 5, port: 12 }, bytes: golden(0x81, [...le32(5), ...le32(12)]) },
  {
    name: 'ERROR',
    msg: { type: 'error', reqId: 6, code: 'EVTCHN_E_BAD_PORT', message: 'no' },
    bytes: golden(0x82, [...le32(6), ...le16(1), ...le16(2), 0x6e, 0x6f]),
  },
  { name: 'EVENT', msg: { type: 'event', port: 4 }, bytes: golden(0x83, le32(4)) },
];

describe('sim evtchn wire codec', () => {
  for (const c of clientCases) {
    describe(`client ${c.name}`, () => {
      it('encodes to the golden bytes', () => assert.deepEqual(encodeClientMessage(c.msg), c.bytes));
      it('decodes the golden bytes', () => assert.deepEqual(clientMessageDecoder().push(c.bytes), [c.msg]));
      it('round-trips', () => assert.deepEqual(clientMessageDecoder().push(encodeClientMessage(c.msg)), [c.msg]));
      it('decodes when split at every byte', () => {
        for (let cut = 0; cut <= c.bytes.length; cut += 1) {
          const d = clientMessageDecoder();
          const first = d.push(c.bytes.subarray(0, cut));
          const second = d.push(c.bytes.subarray(cut));
          assert.deepEqual([...first, ...second], [c.msg], `cut at ${cut}`);
          assert.equal(d.buffered, 0);
        }
      });
    });
  }

  for (const c of serverCases) {
    describe(`server ${c.name}`, () => {
      it('encodes to the golden bytes', () => assert.deepEqual(encodeServerMessage(c.msg), c.bytes));
      it('decodes the golden bytes', () => assert.deepEqual(serverMessageDecoder().push(c.bytes), [c.msg]));
      it('decodes when split at every byte', () => {
        for (let cut = 0; cut <= c.bytes.length; cut += 1) {
          const d = serverMessageDecoder();
          assert.deepEqual([...d.push(c.bytes.subarray(0, cut)), ...d.push(c.bytes.subarray(cut))], [c.msg]);
        }
      });
    });
  }

  it('decodes several frames from one chunk, fed one byte at a time', () => {
    const all = Buffer.concat(clientCases.map((c) => c.bytes));
    const d = clientMessageDecoder();
    const out: EvtchnClientMessage[] = [];
    for (const b of all) out.push(...d.push(Buffer.from([b])));
    assert.deepEqual(
      out,
      clientCases.map((c) => c.msg),
    );
  });

  it('says how many bytes the current frame still needs', () => {
    const d = clientMessageDecoder();
    assert.equal(d.needMore(), 0);
    d.push(clientCases[3]!.bytes.subarray(0, 1));
    assert.equal(d.needMore(), 1);
    d.push(clientCases[3]!.bytes.subarray(1, 4));
    assert.equal(d.needMore(), 3);
  });

  it('accepts a frame at the length limit and refuses one past it', () => {
    const atLimit = Buffer.from([...le16(EVTCHN_WIRE_MAX_FRAME), 0x04]);
    assert.deepEqual(clientMessageDecoder().push(atLimit), []); // waits for the rest
    const past = Buffer.from([...le16(EVTCHN_WIRE_MAX_FRAME + 1), 0x04]);
    assert.throws(
      () => clientMessageDecoder().push(past),
      (e) => isXenvfbError(e, 'SIM_E_PROTOCOL'),
    );
    assert.throws(
      () => clientMessageDecoder().push(Buffer.from([0, 0])),
      (e) => isXenvfbError(e, 'SIM_E_PROTOCOL'),
    );
  });

  it('refuses unknown types, short and long payloads with SIM_E_PROTOCOL', () => {
    const bad = (e: unknown): boolean => isXenvfbError(e, 'SIM_E_PROTOCOL');
    assert.throws(() => decodeClientMessage(0x7e, new Uint8Array(4)), bad);
    assert.throws(() => decodeClientMessage(0x81, new Uint8Array(8)), bad); // a server op from a client
    assert.throws(() => decodeClientMessage(0x04, new Uint8Array(3)), bad);
    assert.throws(() => decodeClientMessage(0x04, new Uint8Array(5)), bad);
    assert.throws(() => serverMessageDecoder().push(golden(0x82, [...le32(1), ...le16(1), ...le16(5), 0x41])), bad);
  });
});
