import { strict as assert } from 'node:assert';
import * as fc from 'fast-check';
import { isXenvfbError } from '../../../shared/errors';
import {
  XENSTORE_ABS_PATH_MAX,
  XENSTORE_PAYLOAD_MAX,
  XENSTORE_REL_PATH_MAX,
  XS_ERRNOS,
  type XsMessage,
  XsParser,
  XsType,
  encodeMessage,
  errorPayload,
  formatPerm,
  isValidPath,
  parseErrorPayload,
  parseExactStrings,
  parsePerm,
  parsePerms,
  parseStrings,
  parseWritePayload,
  stringsPayload,
  validatePath,
  writePayload,
  xsTypeName,
} from '../../../shared/xenstore/wire';

// Golden bytes built by hand, independent of encodeMessage and the payload helpers.
function golden(type: number, reqId: number, txId: number, payload: string): Buffer {
  const body = Buffer.from(payload, 'latin1');
  const h = Buffer.alloc(16);
  h.writeUInt32LE(type, 0);
  h.writeUInt32LE(reqId, 4);
  h.writeUInt32LE(txId, 8);
  h.writeUInt32LE(body.length, 12);
  return Buffer.concat([h, body]);
}

interface Case {
  name: string;
  wire: Buffer;
  type: XsType;
  reqId: number;
  txId: number;
  /** NUL-separated fields, or a WRITE's path + raw value. */
  strings?: string[];
  write?: { path: string; value: string };
  raw?: string;
}

const s = (name: string, type: XsType, num: number, reqId: number, txId: number, strings: string[], text: string): Case => ({
  name,
  wire: golden(num, reqId, txId, text),
  type,
  reqId,
  txId,
  strings,
});

const CASES: Case[] = [
  s('CONTROL print', XsType.XS_CONTROL, 0, 1, 0, ['print', 'hi'], 'print\0hi\0'),
  s('DIRECTORY request', XsType.XS_DIRECTORY, 1, 2, 0, ['/local'], '/local\0'),
  s('DIRECTORY reply', XsType.XS_DIRECTORY, 1, 2, 0, ['domain', 'pool'], 'domain\0pool\0'),
  s('READ request', XsType.XS_READ, 2, 6, 0, ['/a/b/c'], '/a/b/c\0'),
  { name: 'READ reply (no NUL)', wire: golden(2, 6, 0, 'value'), type: XsType.XS_READ, reqId: 6, txId: 0, raw: 'value' },
  s('GET_PERMS reply', XsType.XS_GET_PERMS, 3, 7, 0, ['n0', 'r1', 'b5'], 'n0\0r1\0b5\0'),
  s('WATCH request', XsType.XS_WATCH, 4, 8, 0, ['/a', '1:tok'], '/a\x001:tok\0'),
  s('WATCH with depth', XsType.XS_WATCH, 4, 8, 0, ['@releaseDomain', 't', '1'], '@releaseDomain\0t\x001\0'),
  s('UNWATCH', XsType.XS_UNWATCH, 5, 9, 0, ['/a', 'tok'], '/a\0tok\0'),
  s('TRANSACTION_START', XsType.XS_TRANSACTION_START, 6, 10, 0, [''], '\0'),
  s('TRANSACTION_START reply', XsType.XS_TRANSACTION_START, 6, 10, 0, ['42'], '42\0'),
  s('TRANSACTION_END commit', XsType.XS_TRANSACTION_END, 7, 11, 42, ['T'], 'T\0'),
  s('INTRODUCE', XsType.XS_INTRODUCE, 8, 12, 0, ['3', '4096', '7'], '3\x004096\x007\0'),
  s('RELEASE', XsType.XS_RELEASE, 9, 13, 0, ['3'], '3\0'),
  s('GET_DOMAIN_PATH reply', XsType.XS_GET_DOMAIN_PATH, 10, 14, 0, ['/local/domain/3'], '/local/domain/3\0'),
  {
    name: 'WRITE (no NUL after value)',
    wire: golden(11, 15, 3, '/a/b\0hello'),
    type: XsType.XS_WRITE,
    reqId: 15,
    txId: 3,
    write: { path: '/a/b', value: 'hello' },
  },
  {
    name: 'WRITE empty value',
    wire: golden(11, 16, 0, '/a\0'),
    type: XsType.XS_WRITE,
    reqId: 16,
    txId: 0,
    write: { path: '/a', value: '' },
  },
  s('MKDIR', XsType.XS_MKDIR, 12, 17, 0, ['/a'], '/a\0'),
  s('RM', XsType.XS_RM, 13, 18, 0, ['/a'], '/a\0'),
  s('SET_PERMS', XsType.XS_SET_PERMS, 14, 19, 0, ['/a', 'n1', 'r0'], '/a\0n1\0r0\0'),
  s('WATCH_EVENT', XsType.XS_WATCH_EVENT, 15, 0, 0, ['/a/b', '1:tok'], '/a/b\x001:tok\0'),
  s('IS_DOMAIN_INTRODUCED reply', XsType.XS_IS_DOMAIN_INTRODUCED, 17, 20, 0, ['T'], 'T\0'),
  s('RESUME', XsType.XS_RESUME, 18, 21, 0, ['3'], '3\0'),
  s('SET_TARGET', XsType.XS_SET_TARGET, 19, 22, 0, ['3', '4'], '3\x004\0'),
  s('RESET_WATCHES', XsType.XS_RESET_WATCHES, 21, 23, 0, [''], '\0'),
  s('DIRECTORY_PART', XsType.XS_DIRECTORY_PART, 22, 24, 0, ['/a', '0'], '/a\x000\0'),
  s('GET_FEATURE', XsType.XS_GET_FEATURE, 23, 25, 0, ['0'], '0\0'),
  s('SET_FEATURE', XsType.XS_SET_FEATURE, 24, 26, 0, ['0', '1'], '0\x001\0'),
  s('GET_QUOTA', XsType.XS_GET_QUOTA, 25, 27, 0, [''], '\0'),
  s('SET_QUOTA', XsType.XS_SET_QUOTA, 26, 28, 0, ['0', 'x'], '0\0x\0'),
  s('INVALID', XsType.XS_INVALID, 0xffff, 0xffffffff, 0xfffffffe, ['x'], 'x\0'),
  ...XS_ERRNOS.map((e) => s(`ERROR ${e}`, XsType.XS_ERROR, 16, 30, 0, [e], `${e}\0`)),
];

function payloadFor(c: Case): Buffer {
  if (c.write) return writePayload(c.write.path, c.write.value);
  if (c.raw !== undefined) return Buffer.from(c.raw);
  return stringsPayload(...c.strings!);
}

function checkDecoded(c: Case, m: XsMessage): void {
  assert.equal(m.type, c.type);
  assert.equal(m.reqId, c.reqId);
  assert.equal(m.txId, c.txId);
  if (c.write) {
    const w = parseWritePayload(m.payload);
    assert.deepEqual({ path: w.path, value: w.value.toString() }, c.write);
  } else if (c.raw !== undefined) {
    assert.equal(m.payload.toString(), c.raw);
  } else {
    assert.deepEqual(parseExactStrings(m.payload, c.strings!.length), c.strings);
  }
}

describe('xenstore wire: golden messages', () => {
  it('covers every defined message type', () => {
    const types = new Set(CASES.map((c) => c.type));
    for (let t = 0; t <= 26; t++) if (t !== 20) assert.ok(types.has(t), xsTypeName(t));
  });
  for (const c of CASES) {
    describe(c.name, () => {
      it('decodes', () => {
        const msgs = new XsParser().push(c.wire);
        assert.equal(msgs.length, 1);
        checkDecoded(c, msgs[0]!);
      });
      it('encodes', () => {
        assert.equal(
          encodeMessage({ type: c.type, reqId: c.reqId, txId: c.txId, payload: payloadFor(c) }).toString('hex'),
          c.wire.toString('hex'),
        );
      });
      it('round-trips', () => {
        const m = new XsParser().push(c.wire)[0]!;
        assert.deepEqual(new XsParser().push(encodeMessage(m)), [m]);
      });
      it('parses split at every byte', () => {
        for (let cut = 0; cut <= c.wire.length; cut++) {
          const p = new XsParser();
          const a = p.push(c.wire.subarray(0, cut));
          if (cut < c.wire.length) {
            assert.equal(a.length, 0);
            assert.ok(p.needed > 0);
          }
          const b = p.push(c.wire.subarray(cut));
          const all = [...a, ...b];
          assert.equal(all.length, 1);
          checkDecoded(c, all[0]!);
          assert.equal(p.needed, 16);
        }
      });
    });
  }
  it('parses several messages in one chunk and one byte at a time', () => {
    const stream = Buffer.concat(CASES.map((c) => c.wire));
    assert.equal(new XsParser().push(stream).length, CASES.length);
    const p = new XsParser();
    let n = 0;
    for (const byte of stream) n += p.push(Buffer.from([byte])).length;
    assert.equal(n, CASES.length);
  });
});

describe('xenstore wire: tables and helpers', () => {
  it('names types and errors in spec order', () => {
    assert.equal(xsTypeName(2), 'XS_READ');
    assert.equal(xsTypeName(22), 'XS_DIRECTORY_PART');
    assert.equal(xsTypeName(0xffff), 'XS_INVALID');
    assert.equal(xsTypeName(20), 'XS_UNKNOWN(20)');
    assert.equal(XsType.XS_WATCH_EVENT, 15);
    assert.deepEqual(XS_ERRNOS.slice(0, 5), ['EINVAL', 'EACCES', 'EEXIST', 'EISDIR', 'ENOENT']);
    assert.equal(XS_ERRNOS.indexOf('EAGAIN'), 12);
    assert.equal(XS_ERRNOS[15], 'EPERM');
    assert.equal(parseErrorPayload(errorPayload('EAGAIN')), 'EAGAIN');
    assert.equal(parseErrorPayload(Buffer.from('EWHAT\0')), 'EINVAL');
  });
  it('splits NUL-separated strings', () => {
    assert.deepEqual(parseStrings(Buffer.from('a\0b\0')), ['a', 'b']);
    assert.deepEqual(parseStrings(Buffer.from('a\0b')), ['a', 'b']);
    assert.deepEqual(parseStrings(Buffer.alloc(0)), []);
    assert.throws(
      () => parseExactStrings(Buffer.from('a'), 1),
      (e) => isXenvfbError(e, 'XS_E_BAD_PAYLOAD'),
    );
    assert.throws(
      () => parseExactStrings(Buffer.from('a\0b\0'), 1),
      (e) => isXenvfbError(e, 'XS_E_BAD_PAYLOAD'),
    );
    assert.throws(
      () => parseWritePayload(Buffer.from('/a')),
      (e) => isXenvfbError(e, 'XS_E_BAD_PAYLOAD'),
    );
  });
  it('accepts a payload of XENSTORE_PAYLOAD_MAX and refuses one byte more', () => {
    const max = Buffer.alloc(XENSTORE_PAYLOAD_MAX, 0x61);
    assert.equal(new XsParser().push(encodeMessage({ type: 2, payload: max }))[0]!.payload.length, XENSTORE_PAYLOAD_MAX);
    assert.throws(
      () => encodeMessage({ type: 2, payload: Buffer.alloc(XENSTORE_PAYLOAD_MAX + 1) }),
      (e) => isXenvfbError(e, 'XS_E_OVERSIZE'),
    );
    const p = new XsParser();
    const over = golden(2, 1, 0, '');
    over.writeUInt32LE(XENSTORE_PAYLOAD_MAX + 1, 12);
    assert.throws(
      () => p.push(over),
      (e) => isXenvfbError(e, 'XS_E_OVERSIZE'),
    );
    assert.throws(
      () => p.push(Buffer.alloc(1)),
      (e) => isXenvfbError(e, 'XS_E_OVERSIZE'),
      'stays failed',
    );
  });
  it('validates paths like xenstored', () => {
    for (const ok of ['/', '/a', '/local/domain/1/device/vfb/0', '/a-b_c@d', 'device/vfb']) {
      assert.ok(isValidPath(ok, { allowRelative: true }), ok);
    }
    for (const bad of ['', '/a/', '//a', '/a//b', '/a b', '/a.b', '/ä']) assert.ok(!isValidPath(bad, { allowRelative: true }), bad);
    assert.ok(!isValidPath('a/b'));
    assert.ok(isValidPath('@releaseDomain', { allowSpecial: true }));
    assert.ok(!isValidPath('@releaseDomain'));
    assert.ok(isValidPath(`/${'a'.repeat(XENSTORE_ABS_PATH_MAX - 1)}`));
    assert.ok(!isValidPath(`/${'a'.repeat(XENSTORE_ABS_PATH_MAX)}`));
    assert.ok(isValidPath('a'.repeat(XENSTORE_REL_PATH_MAX), { allowRelative: true }));
    assert.ok(!isValidPath('a'.repeat(XENSTORE_REL_PATH_MAX + 1), { allowRelative: true }));
    assert.throws(
      () => validatePath('/a/'),
      (e) => isXenvfbError(e, 'XS_E_BAD_PATH'),
    );
  });
  it('codes permissions', () => {
    assert.deepEqual(parsePerm('n0'), { domid: 0, read: false, write: false });
    assert.deepEqual(parsePerm('r1'), { domid: 1, read: true, write: false });
    assert.deepEqual(parsePerm('w2'), { domid: 2, read: false, write: true });
    assert.deepEqual(parsePerm('b5'), { domid: 5, read: true, write: true });
    for (const p of ['n0', 'r1', 'w2', 'b5', 'b32752']) assert.equal(formatPerm(parsePerm(p)), p);
    for (const bad of ['', 'x1', 'r', 'r-1', 'r1a', 'b99999'])
      assert.throws(
        () => parsePerm(bad),
        (e) => isXenvfbError(e, 'XS_E_BAD_PERMS'),
        bad,
      );
    assert.throws(
      () => parsePerms([]),
      (e) => isXenvfbError(e, 'XS_E_BAD_PERMS'),
    );
  });
});

describe('xenstore wire: fuzz', () => {
  /** Every input ends in messages, "need more", or a typed error; never anything else. */
  function feed(chunks: Uint8Array[]): void {
    const p = new XsParser();
    try {
      for (const c of chunks) {
        for (const m of p.push(c)) assert.ok(m.payload.length <= XENSTORE_PAYLOAD_MAX);
        assert.ok(p.needed > 0 && p.needed <= Math.max(16, XENSTORE_PAYLOAD_MAX));
      }
    } catch (e) {
      if (!isXenvfbError(e, 'XS_E_OVERSIZE')) throw e;
    }
  }
  it('random bytes in random chunks', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), feed), { numRuns: 500 });
  });
  it('mutated valid packets', () => {
    const stream = Buffer.concat(CASES.map((c) => c.wire));
    const mutation = fc.array(fc.tuple(fc.nat(stream.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 });
    fc.assert(
      fc.property(mutation, fc.array(fc.nat(stream.length), { maxLength: 6 }), (muts, cuts) => {
        const b = Buffer.from(stream);
        for (const [at, v] of muts) b[at] = v;
        const points = [0, ...cuts.sort((x, y) => x - y), b.length];
        feed(points.slice(1).map((end, i) => b.subarray(points[i], end)));
      }),
      { numRuns: 500 },
    );
  });
});
