import { strict as assert } from 'assert';
import { ByteReader, ByteWriter } from '../../../shared/bytes';
import { isXenvfbError, ErrorCode } from '../../../shared/errors';

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => isXenvfbError(e, code));
}

// Golden input: every field at a literal offset, written with Buffer, not ByteWriter.
function golden(): Buffer {
  const b = Buffer.alloc(48);
  b.writeUInt8(0xfe, 0); // u8
  b.writeInt8(-2, 1); // s8
  b.writeUInt16LE(0xbeef, 2);
  b.writeUInt16BE(0xbeef, 4);
  b.writeInt16LE(-2, 6);
  b.writeInt16BE(-3, 8);
  b.writeUInt32LE(0xdeadbeef, 10);
  b.writeUInt32BE(0xdeadbeef, 14);
  b.writeInt32LE(-5, 18);
  b.writeInt32BE(-6, 22);
  b.writeBigUInt64LE(0x0102030405060708n, 26);
  b.writeBigUInt64BE(0x0102030405060708n, 34);
  b.write('hi', 42, 'latin1');
  b.write('é', 44, 'utf8'); // 2 bytes
  return b;
}

describe('shared/bytes', () => {
  describe('ByteReader', () => {
    it('reads every type at its golden offset', () => {
      const r = new ByteReader(golden());
      assert.equal(r.u8(), 0xfe);
      assert.equal(r.s8(), -2);
      assert.equal(r.u16le(), 0xbeef);
      assert.equal(r.u16be(), 0xbeef);
      assert.equal(r.s16le(), -2);
      assert.equal(r.s16be(), -3);
      assert.equal(r.u32le(), 0xdeadbeef);
      assert.equal(r.u32be(), 0xdeadbeef);
      assert.equal(r.s32le(), -5);
      assert.equal(r.s32be(), -6);
      assert.equal(r.u64le(), 0x0102030405060708n);
      assert.equal(r.u64be(), 0x0102030405060708n);
      assert.equal(r.ascii(2), 'hi');
      assert.equal(r.utf8(2), 'é');
      assert.equal(r.remaining, 2);
      assert.equal(r.offset, 46);
    });

    it('starts at a given offset and honours a subarray byteOffset', () => {
      const big = Buffer.alloc(16);
      big.writeUInt32LE(0x11223344, 8);
      const r = new ByteReader(big.subarray(4), 4);
      assert.equal(r.u32le(), 0x11223344);
    });

    it('bytesView is a view, skip advances', () => {
      const b = Buffer.from([1, 2, 3, 4, 5]);
      const r = new ByteReader(b);
      r.skip(1);
      const v = r.bytesView(2);
      assert.deepEqual([...v], [2, 3]);
      b[1] = 9;
      assert.equal(v[0], 9);
      assert.equal(r.offset, 3);
    });

    it('need() accepts exactly the remaining bytes and rejects one more', () => {
      const r = new ByteReader(new Uint8Array(4));
      r.need(4);
      throwsCode(() => r.need(5), 'BYTES_E_SHORT');
      throwsCode(() => r.need(-1), 'BYTES_E_SHORT');
    });

    const readers: Array<[string, number, (r: ByteReader) => unknown]> = [
      ['u8', 1, (r) => r.u8()],
      ['s8', 1, (r) => r.s8()],
      ['u16le', 2, (r) => r.u16le()],
      ['u16be', 2, (r) => r.u16be()],
      ['s16le', 2, (r) => r.s16le()],
      ['s16be', 2, (r) => r.s16be()],
      ['u32le', 4, (r) => r.u32le()],
      ['u32be', 4, (r) => r.u32be()],
      ['s32le', 4, (r) => r.s32le()],
      ['s32be', 4, (r) => r.s32be()],
      ['u64le', 8, (r) => r.u64le()],
      ['u64be', 8, (r) => r.u64be()],
      ['bytesView', 3, (r) => r.bytesView(3)],
      ['skip', 3, (r) => r.skip(3)],
      ['ascii', 3, (r) => r.ascii(3)],
      ['utf8', 3, (r) => r.utf8(3)],
    ];
    for (const [name, size, read] of readers) {
      it(`${name} reads with ${size} bytes left and throws BYTES_E_SHORT with ${size - 1}`, () => {
        const ok = new ByteReader(new Uint8Array(size));
        read(ok);
        assert.equal(ok.remaining, 0);
        const short = new ByteReader(new Uint8Array(size - 1));
        throwsCode(() => read(short), 'BYTES_E_SHORT');
        assert.equal(short.offset, 0, 'a failed read does not advance');
      });
    }
  });

  describe('ByteWriter', () => {
    it('writes every type to the golden bytes', () => {
      const w = new ByteWriter(4);
      w.u8(0xfe).s8(-2).u16le(0xbeef).u16be(0xbeef).s16le(-2).s16be(-3);
      w.u32le(0xdeadbeef).u32be(0xdeadbeef).s32le(-5).s32be(-6);
      w.u64le(0x0102030405060708n).u64be(0x0102030405060708n).ascii('hi').utf8('é');
      w.zeros(2);
      assert.deepEqual(w.finish(), golden());
      assert.equal(w.length, 48);
    });

    it('round-trips through ByteReader', () => {
      const w = new ByteWriter().s32be(-123456).u16le(7).bytes(Uint8Array.of(9, 8));
      const r = new ByteReader(w.finish());
      assert.equal(r.s32be(), -123456);
      assert.equal(r.u16le(), 7);
      assert.deepEqual([...r.bytesView(2)], [9, 8]);
    });

    it('grows past its initial capacity and keeps earlier bytes', () => {
      const w = new ByteWriter(1);
      for (let i = 0; i < 1000; i++) w.u8(i & 0xff);
      const out = w.finish();
      assert.equal(out.length, 1000);
      for (let i = 0; i < 1000; i++) assert.equal(out[i], i & 0xff);
      w.bytes(new Uint8Array(5000));
      assert.equal(w.finish().length, 6000);
      assert.equal(w.finish()[999], 999 & 0xff);
    });

    it('zeros() clears reused storage', () => {
      const w = new ByteWriter(16);
      w.u32le(0xffffffff);
      w.length = 0;
      w.zeros(4);
      assert.deepEqual([...w.finish()], [0, 0, 0, 0]);
    });

    it('direct() hands out the storage after growth: byte-at-a-time writes across every doubling survive', () => {
      // The ZRLE bug of issue 14 lost the byte written at each doubling; 1 MiB crosses 16 of them.
      const w = new ByteWriter(16);
      const n = 1 << 20;
      for (let i = 0; i < n; i++) w.direct(1, (buf, at) => ((buf[at] = (i * 31) & 0xff), at + 1));
      const out = w.finish();
      assert.equal(out.length, n);
      for (let i = 0; i < n; i++) if (out[i] !== ((i * 31) & 0xff)) assert.fail(`byte ${i} is ${out[i]}`);
    });

    it('direct() keeps only what fill reports, and rejects an end outside its room', () => {
      const w = new ByteWriter(4).u8(7);
      w.direct(100, (buf, at) => {
        buf.fill(9, at, at + 100);
        return at + 3;
      });
      assert.deepEqual([...w.finish()], [7, 9, 9, 9]);
      throwsCode(() => w.direct(2, (_b, at) => at + 3), 'BYTES_E_RANGE');
      throwsCode(() => w.direct(2, (_b, at) => at - 1), 'BYTES_E_RANGE');
      throwsCode(() => w.direct(-1, (_b, at) => at), 'BYTES_E_RANGE');
      assert.equal(w.length, 4, 'a rejected direct() leaves the length as it was');
    });

    it('direct() refuses writes to the same writer from inside fill (BYTES_E_REENTRANT)', () => {
      const w = new ByteWriter(4);
      throwsCode(() => w.direct(1, (_b, at) => (w.bytes(new Uint8Array(64)), at)), 'BYTES_E_REENTRANT');
      w.u8(1); // usable again afterwards
      assert.deepEqual([...w.finish()], [1]);
    });

    const limits: Array<[string, (w: ByteWriter, v: number) => unknown, number, number]> = [
      ['u8', (w, v) => w.u8(v), 0, 0xff],
      ['s8', (w, v) => w.s8(v), -0x80, 0x7f],
      ['u16le', (w, v) => w.u16le(v), 0, 0xffff],
      ['u16be', (w, v) => w.u16be(v), 0, 0xffff],
      ['s16le', (w, v) => w.s16le(v), -0x8000, 0x7fff],
      ['s16be', (w, v) => w.s16be(v), -0x8000, 0x7fff],
      ['u32le', (w, v) => w.u32le(v), 0, 0xffffffff],
      ['u32be', (w, v) => w.u32be(v), 0, 0xffffffff],
      ['s32le', (w, v) => w.s32le(v), -0x80000000, 0x7fffffff],
      ['s32be', (w, v) => w.s32be(v), -0x80000000, 0x7fffffff],
    ];
    for (const [name, write, min, max] of limits) {
      it(`${name} accepts ${min}..${max} and throws BYTES_E_RANGE one past either end`, () => {
        const w = new ByteWriter();
        write(w, min);
        write(w, max);
        throwsCode(() => write(w, min - 1), 'BYTES_E_RANGE');
        throwsCode(() => write(w, max + 1), 'BYTES_E_RANGE');
        throwsCode(() => write(w, 0.5), 'BYTES_E_RANGE');
        throwsCode(() => write(w, NaN), 'BYTES_E_RANGE');
      });
    }

    it('placeholderU32 + patchU32le/patchU32be/patchU16be back-patch in place', () => {
      const w = new ByteWriter();
      w.u8(1);
      const le = w.placeholderU32();
      const be = w.placeholderU32();
      const be16 = w.length;
      w.u16be(0);
      w.u8(2);
      assert.equal(le, 1);
      assert.equal(be, 5);
      w.patchU32le(le, 0x01020304).patchU32be(be, 0x01020304).patchU16be(be16, 0xabcd);
      assert.deepEqual([...w.finish()], [1, 4, 3, 2, 1, 1, 2, 3, 4, 0xab, 0xcd, 2]);
    });

    it('patch methods range-check their value', () => {
      const w = new ByteWriter();
      const at = w.placeholderU32();
      throwsCode(() => w.patchU32le(at, 0x100000000), 'BYTES_E_RANGE');
      throwsCode(() => w.patchU32be(at, -1), 'BYTES_E_RANGE');
      throwsCode(() => w.patchU16be(at, 0x10000), 'BYTES_E_RANGE');
    });

    it('finish() covers only the written bytes', () => {
      const w = new ByteWriter(64).u8(7);
      assert.equal(w.finish().length, 1);
      assert.ok(Buffer.isBuffer(w.finish()));
    });

    it('reset() starts over in the same storage when it is big enough, and grows when not', () => {
      const w = new ByteWriter(64);
      w.u32be(0xdeadbeef).u8(7);
      const first = w.finish();
      w.reset(32).u8(1);
      assert.equal(w.length, 1);
      assert.equal(w.finish().buffer, first.buffer, 'storage kept');
      assert.deepEqual([...w.finish()], [1]);
      assert.equal(first[0], 1, 'an earlier finish() view sees the next writes (callers copy what must outlive a reset)');
      w.reset(4096).u16be(0x0102);
      assert.notEqual(w.finish().buffer, first.buffer, 'storage grown');
      assert.deepEqual([...w.finish()], [1, 2]);
      throwsCode(() => w.direct(4, () => (w.reset(8), 0)), 'BYTES_E_REENTRANT');
    });
  });
});
