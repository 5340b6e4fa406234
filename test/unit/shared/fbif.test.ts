import { strict as assert } from 'assert';
import fc from 'fast-check';
import {
  XENFB_TYPE_REFRESH_PERIOD,
  XENFB_TYPE_UPDATE,
  XENFB_TYPE_RESIZE,
  XENFB_NO_REFRESH,
  XENFB_EVENT_SIZE,
  XENFB_IN_RING_LEN,
  XENFB_OUT_RING_LEN,
  XENFB_IN_RING_OFFS,
  XENFB_OUT_RING_OFFS,
  XENFB_IN_RING_SIZE,
  XENFB_OUT_RING_SIZE,
  FbPageOffsets,
  FB_MAX_MEM_LENGTH,
  FB_MAX_DIMENSION,
  parseFbAbi,
  pdLayout,
  readFbPageHeader,
  writeFbPageHeader,
  readPd,
  writePd,
  readDirPage,
  writeDirPage,
  readFbFrames,
  readDirPages,
  writeDirPages,
  dirPagesNeeded,
  fbPagesNeeded,
  validateFbGeometry,
  encodeFbOutEvent,
  decodeFbOutEvent,
  encodeFbInEvent,
  decodeFbInEvent,
  xenfbTypeName,
  FbOutEvent,
  FbInEvent,
  FbGeometryInput,
} from '../../../shared/fbif';
import { isXenvfbError, ErrorCode } from '../../../shared/errors';

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => isXenvfbError(e, code));
}

// ---- independent golden builders: Buffer writes at literal offsets from fbif.h ----
function goldenUpdate(x: number, y: number, w: number, h: number): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 2;
  b.writeInt32LE(x, 4);
  b.writeInt32LE(y, 8);
  b.writeInt32LE(w, 12);
  b.writeInt32LE(h, 16);
  return b;
}
function goldenResize(w: number, h: number, stride: number, depth: number, offset: number): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 3;
  b.writeInt32LE(w, 4);
  b.writeInt32LE(h, 8);
  b.writeInt32LE(stride, 12);
  b.writeInt32LE(depth, 16);
  b.writeInt32LE(offset, 20);
  return b;
}
function goldenRefresh(period: number): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 1;
  b.writeUInt32LE(period, 4);
  return b;
}
function goldenPage(h: { width: number; height: number; lineLength: number; memLength: number; depth: number }): Buffer {
  const p = Buffer.alloc(4096);
  p.writeInt32LE(h.width, 16);
  p.writeInt32LE(h.height, 20);
  p.writeUInt32LE(h.lineLength, 24);
  p.writeUInt32LE(h.memLength, 28);
  p.writeUInt8(h.depth, 32);
  return p;
}

const u8 = (b: Buffer) => new Uint8Array(b);

describe('shared/fbif', () => {
  describe('constants (fbif.h)', () => {
    it('match the header', () => {
      assert.equal(XENFB_TYPE_REFRESH_PERIOD, 1);
      assert.equal(XENFB_TYPE_UPDATE, 2);
      assert.equal(XENFB_TYPE_RESIZE, 3);
      assert.equal(XENFB_NO_REFRESH, 0);
      assert.equal(XENFB_EVENT_SIZE, 40);
      assert.equal(XENFB_IN_RING_LEN, Math.floor(XENFB_IN_RING_SIZE / XENFB_EVENT_SIZE));
      assert.equal(XENFB_OUT_RING_LEN, Math.floor(XENFB_OUT_RING_SIZE / XENFB_EVENT_SIZE));
      assert.equal(XENFB_OUT_RING_OFFS, XENFB_IN_RING_OFFS + XENFB_IN_RING_SIZE);
      assert.deepEqual(FbPageOffsets, {
        inCons: 0,
        inProd: 4,
        outCons: 8,
        outProd: 12,
        width: 16,
        height: 20,
        lineLength: 24,
        memLength: 28,
        depth: 32,
      });
      assert.equal(xenfbTypeName(2), 'XENFB_TYPE_UPDATE');
      assert.match(xenfbTypeName(99), /99/);
    });
  });

  describe('page header', () => {
    const h = { width: 1024, height: 768, lineLength: 4096, memLength: 4096 * 768, depth: 32 };
    it('decodes golden bytes', () => assert.deepEqual(readFbPageHeader(goldenPage(h)), h));
    it('encodes to golden bytes', () => {
      const p = new Uint8Array(4096);
      writeFbPageHeader(p, h);
      assert.deepEqual(p, u8(goldenPage(h)));
    });
    it('round-trips extremes (raw, unvalidated)', () => {
      const ext = { width: -1, height: 0x7fffffff, lineLength: 0xffffffff, memLength: 0, depth: 255 };
      const p = new Uint8Array(4096);
      writeFbPageHeader(p, ext);
      assert.deepEqual(readFbPageHeader(p), ext);
      assert.deepEqual(readFbPageHeader(goldenPage(ext)), ext);
    });
    it('rejects a short page and out-of-range fields by code', () => {
      throwsCode(() => readFbPageHeader(new Uint8Array(32)), 'BYTES_E_SHORT');
      readFbPageHeader(new Uint8Array(33));
      throwsCode(() => writeFbPageHeader(new Uint8Array(32), h), 'BYTES_E_SHORT');
      throwsCode(() => writeFbPageHeader(new Uint8Array(64), { ...h, depth: 256 }), 'BYTES_E_RANGE');
    });
  });

  describe('parseFbAbi', () => {
    const page32 = Buffer.alloc(4096); // pd[1] (32-bit) == 0
    const page64 = Buffer.alloc(4096);
    page64.writeUInt32LE(0x1234, 40); // low half of pd[0] (64-bit)
    it('takes the protocol node as written', () => {
      assert.equal(parseFbAbi('x86_64-abi', page32), 'x86_64-abi');
      assert.equal(parseFbAbi('x86_32-abi', page64), 'x86_32-abi');
    });
    it('guesses like QEMU when the node is missing or says arm-abi', () => {
      for (const p of [undefined, '', 'arm-abi']) {
        assert.equal(parseFbAbi(p, page32), 'x86_32-abi');
        assert.equal(parseFbAbi(p, page64), 'x86_64-abi');
      }
    });
    it('rejects unknown strings with FB_E_BAD_PROTOCOL', () => {
      for (const p of ['x86_64', 'X86_64-ABI', 'ppc-abi', ' x86_64-abi']) throwsCode(() => parseFbAbi(p, page64), 'FB_E_BAD_PROTOCOL');
    });
  });

  describe('page directory', () => {
    it('has the gcc-computed layouts', () => {
      assert.deepEqual(pdLayout('x86_64-abi'), { offset: 40, entrySize: 8, entriesPerDirPage: 512, maxUsable: 123 });
      assert.deepEqual(pdLayout('x86_32-abi'), { offset: 36, entrySize: 4, entriesPerDirPage: 1024, maxUsable: 247 });
      for (const abi of ['x86_64-abi', 'x86_32-abi'] as const) {
        const l = pdLayout(abi);
        assert.ok(l.offset + l.maxUsable * l.entrySize <= XENFB_IN_RING_OFFS);
        assert.ok(l.offset + (l.maxUsable + 1) * l.entrySize > XENFB_IN_RING_OFFS);
      }
    });

    it('64-bit: decodes, encodes and round-trips golden u64 entries at 40', () => {
      const frames = [0x12345, 0xfedcba9876, Number.MAX_SAFE_INTEGER];
      const g = Buffer.alloc(4096);
      frames.forEach((f, i) => g.writeBigUInt64LE(BigInt(f), 40 + 8 * i));
      assert.deepEqual(readPd(g, 'x86_64-abi', 3), frames);
      const p = new Uint8Array(4096);
      writePd(p, 'x86_64-abi', frames);
      assert.deepEqual(p, u8(g));
    });

    it('32-bit: decodes, encodes and round-trips golden u32 entries at 36', () => {
      const frames = [1, 0xffffffff, 77];
      const g = Buffer.alloc(4096);
      frames.forEach((f, i) => g.writeUInt32LE(f, 36 + 4 * i));
      assert.deepEqual(readPd(g, 'x86_32-abi', 3), frames);
      const p = new Uint8Array(4096);
      writePd(p, 'x86_32-abi', frames);
      assert.deepEqual(p, u8(g));
    });

    it('rejects frames beyond 2^53 and counts past maxUsable with FB_E_BAD_PD', () => {
      const g = Buffer.alloc(4096);
      g.writeBigUInt64LE(2n ** 53n, 40);
      throwsCode(() => readPd(g, 'x86_64-abi', 1), 'FB_E_BAD_PD');
      readPd(new Uint8Array(4096), 'x86_64-abi', 123);
      throwsCode(() => readPd(new Uint8Array(4096), 'x86_64-abi', 124), 'FB_E_BAD_PD');
      readPd(new Uint8Array(4096), 'x86_32-abi', 247);
      throwsCode(() => readPd(new Uint8Array(4096), 'x86_32-abi', 248), 'FB_E_BAD_PD');
      throwsCode(() => readPd(new Uint8Array(4096), 'x86_32-abi', -1), 'FB_E_BAD_PD');
      throwsCode(() => writePd(new Uint8Array(4096), 'x86_32-abi', [0x100000000]), 'FB_E_BAD_PD');
      throwsCode(() => writePd(new Uint8Array(4096), 'x86_64-abi', [Number.MAX_SAFE_INTEGER + 1]), 'FB_E_BAD_PD');
      throwsCode(() => writePd(new Uint8Array(4096), 'x86_64-abi', new Array(124).fill(1)), 'FB_E_BAD_PD');
    });

    it('directory pages: golden read/write at each limit and one past', () => {
      const g = Buffer.alloc(4096);
      for (let i = 0; i < 512; i++) g.writeBigUInt64LE(BigInt(1000 + i), 8 * i);
      const frames = readDirPage(g, 'x86_64-abi', 512);
      assert.equal(frames[511], 1511);
      const p = new Uint8Array(4096);
      writeDirPage(p, 'x86_64-abi', frames);
      assert.deepEqual(p, u8(g));
      throwsCode(() => readDirPage(g, 'x86_64-abi', 513), 'FB_E_BAD_PD');
      assert.equal(readDirPage(new Uint8Array(4096), 'x86_32-abi', 1024).length, 1024);
      throwsCode(() => readDirPage(new Uint8Array(4096), 'x86_32-abi', 1025), 'FB_E_BAD_PD');
    });

    it('counts pages like QEMU xenfb_map_fb', () => {
      assert.equal(fbPagesNeeded(0), 0);
      assert.equal(fbPagesNeeded(1), 1);
      assert.equal(fbPagesNeeded(4096), 1);
      assert.equal(fbPagesNeeded(4097), 2);
      assert.equal(dirPagesNeeded(512, 'x86_64-abi'), 1);
      assert.equal(dirPagesNeeded(513, 'x86_64-abi'), 2);
      assert.equal(dirPagesNeeded(1024, 'x86_32-abi'), 1);
      assert.equal(dirPagesNeeded(1025, 'x86_32-abi'), 2);
      assert.equal(dirPagesNeeded(fbPagesNeeded(FB_MAX_MEM_LENGTH), 'x86_64-abi'), 32);
    });

    it('readFbFrames walks pd[] once and reads the directory pages mapped in one batch', () => {
      const memLength = 600 * 4096 + 1; // 601 fb pages -> 2 dir pages on 64-bit
      const page = Buffer.alloc(4096);
      page.writeBigUInt64LE(7n, 40);
      page.writeBigUInt64LE(9n, 48);
      const dirs = Buffer.alloc(2 * 4096);
      for (let i = 0; i < 512; i++) dirs.writeBigUInt64LE(BigInt(0x10000 + i), 8 * i);
      for (let i = 0; i < 89; i++) dirs.writeBigUInt64LE(BigInt(0x20000 + i), 4096 + 8 * i);
      const seen: (readonly number[])[] = [];
      const frames = readFbFrames(page, 'x86_64-abi', memLength, (f) => {
        seen.push(f);
        return dirs;
      });
      assert.deepEqual(seen, [[7, 9]]);
      assert.equal(frames.length, 601);
      assert.equal(frames[0], 0x10000);
      assert.equal(frames[511], 0x10000 + 511);
      assert.equal(frames[512], 0x20000);
      assert.equal(frames[600], 0x20000 + 88);
      // A mapping shorter than the directory pages it should hold: a typed error, no overread.
      throwsCode(() => readFbFrames(page, 'x86_64-abi', memLength, () => dirs.subarray(0, 4096)), 'FB_E_BAD_PD');
      // More directory pages than pd[] can hold (x86_64: 123).
      throwsCode(() => readFbFrames(page, 'x86_64-abi', 124 * 512 * 4096, () => dirs), 'FB_E_BAD_PD');
    });

    it('writeDirPages / readDirPages: golden layout over page boundaries, both ABIs', () => {
      for (const [abi, size, per] of [
        ['x86_64-abi', 8, 512],
        ['x86_32-abi', 4, 1024],
      ] as const) {
        const frames = Array.from({ length: per + 3 }, (_, i) => 0x30000 + i);
        const g = Buffer.alloc(2 * 4096);
        frames.forEach((f, i) => {
          const at = Math.floor(i / per) * 4096 + (i % per) * size;
          if (size === 8) g.writeBigUInt64LE(BigInt(f), at);
          else g.writeUInt32LE(f, at);
        });
        const out = new Uint8Array(2 * 4096);
        writeDirPages(out, abi, frames);
        assert.deepEqual(out, u8(g), abi);
        assert.deepEqual(readDirPages(g, abi, frames.length), frames, abi);
        throwsCode(() => writeDirPages(new Uint8Array(4096), abi, frames), 'FB_E_BAD_PD');
        throwsCode(() => readDirPages(g.subarray(0, 4096), abi, frames.length), 'FB_E_BAD_PD');
      }
    });
  });

  describe('validateFbGeometry', () => {
    const ok: FbGeometryInput = { width: 800, height: 600, lineLength: 3200, depth: 32, memLength: 2 * 1024 * 1024 };

    it('accepts the fbfront default and normalises lineLength to stride', () => {
      assert.deepEqual(validateFbGeometry(ok), {
        width: 800,
        height: 600,
        stride: 3200,
        depth: 32,
        offset: 0,
        memLength: 2 * 1024 * 1024,
      });
      assert.equal(validateFbGeometry({ ...ok, lineLength: undefined, stride: 3300 }).stride, 3300);
    });

    it('depth: each of 8/16/24/32, nothing else (FB_E_BAD_GEOMETRY)', () => {
      for (const depth of [8, 16, 24, 32]) validateFbGeometry({ ...ok, depth, lineLength: 800 * (depth / 8) });
      for (const depth of [0, 1, 4, 15, 31, 33, 64]) throwsCode(() => validateFbGeometry({ ...ok, depth }), 'FB_E_BAD_GEOMETRY');
    });

    it('width and height: 1 and FB_MAX_DIMENSION pass, 0 and one past fail', () => {
      const big = { width: 1, height: 1, lineLength: 4, depth: 32, memLength: FB_MAX_MEM_LENGTH };
      validateFbGeometry(big);
      validateFbGeometry({ ...big, width: FB_MAX_DIMENSION, lineLength: FB_MAX_DIMENSION * 4 });
      validateFbGeometry({ ...big, height: FB_MAX_DIMENSION });
      throwsCode(
        () => validateFbGeometry({ ...big, width: FB_MAX_DIMENSION + 1, lineLength: (FB_MAX_DIMENSION + 1) * 4 }),
        'FB_E_BAD_GEOMETRY',
      );
      throwsCode(() => validateFbGeometry({ ...big, height: FB_MAX_DIMENSION + 1 }), 'FB_E_BAD_GEOMETRY');
      for (const bad of [0, -1, 1.5, NaN]) {
        throwsCode(() => validateFbGeometry({ ...big, width: bad }), 'FB_E_BAD_GEOMETRY');
        throwsCode(() => validateFbGeometry({ ...big, height: bad }), 'FB_E_BAD_GEOMETRY');
      }
      validateFbGeometry({ ...big, width: 10, lineLength: 40 }, { maxMemLength: FB_MAX_MEM_LENGTH, maxDimension: 10 });
      throwsCode(
        () => validateFbGeometry({ ...big, width: 11, lineLength: 44 }, { maxMemLength: FB_MAX_MEM_LENGTH, maxDimension: 10 }),
        'FB_E_BAD_GEOMETRY',
      );
    });

    it('stride: width*bpp passes, one less fails with FB_E_BAD_STRIDE (24-bit too)', () => {
      validateFbGeometry({ ...ok, lineLength: 3200 });
      throwsCode(() => validateFbGeometry({ ...ok, lineLength: 3199 }), 'FB_E_BAD_STRIDE');
      validateFbGeometry({ ...ok, depth: 24, lineLength: 2400 });
      throwsCode(() => validateFbGeometry({ ...ok, depth: 24, lineLength: 2399 }), 'FB_E_BAD_STRIDE');
      throwsCode(() => validateFbGeometry({ ...ok, lineLength: undefined }), 'FB_E_BAD_STRIDE');
      throwsCode(() => validateFbGeometry({ ...ok, lineLength: ok.memLength + 1, height: 1 }), 'FB_E_BAD_STRIDE');
    });

    it('memory: offset + stride*height == memLength passes, one byte more fails (FB_E_BAD_MEM)', () => {
      const exact = { ...ok, memLength: 3200 * 600 };
      validateFbGeometry(exact);
      throwsCode(() => validateFbGeometry({ ...exact, memLength: 3200 * 600 - 1 }), 'FB_E_BAD_MEM');
      validateFbGeometry({ ...exact, memLength: 3200 * 600 + 10, offset: 10 });
      throwsCode(() => validateFbGeometry({ ...exact, memLength: 3200 * 600 + 10, offset: 11 }), 'FB_E_BAD_MEM');
      throwsCode(() => validateFbGeometry({ ...ok, offset: -1 }), 'FB_E_BAD_MEM');
      throwsCode(() => validateFbGeometry({ ...ok, memLength: 0 }), 'FB_E_BAD_MEM');
    });

    it('memLength: the limit passes, one past fails; custom limits apply', () => {
      validateFbGeometry({ ...ok, memLength: FB_MAX_MEM_LENGTH });
      throwsCode(() => validateFbGeometry({ ...ok, memLength: FB_MAX_MEM_LENGTH + 1 }), 'FB_E_BAD_MEM');
      validateFbGeometry(ok, { maxMemLength: ok.memLength });
      throwsCode(() => validateFbGeometry(ok, { maxMemLength: ok.memLength - 1 }), 'FB_E_BAD_MEM');
    });

    it('puts the offending values in details', () => {
      try {
        validateFbGeometry({ ...ok, lineLength: 100 });
        assert.fail('no throw');
      } catch (e) {
        assert.ok(isXenvfbError(e, 'FB_E_BAD_STRIDE'));
        assert.equal(e.details.stride, 100);
        assert.equal(e.details.width, 800);
        assert.equal(e.details.minStride, 3200);
      }
    });

    it('fuzz: random page headers end in a geometry or a typed FB_E_* error', () => {
      const codes = new Set(['FB_E_BAD_GEOMETRY', 'FB_E_BAD_STRIDE', 'FB_E_BAD_MEM']);
      const s32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
      const u32 = fc.integer({ min: 0, max: 0xffffffff });
      const small = fc.integer({ min: -4, max: 5000 });
      fc.assert(
        fc.property(
          fc.oneof(s32, small),
          fc.oneof(s32, small),
          fc.oneof(u32, fc.integer({ min: 0, max: 20000 })),
          fc.oneof(u32, fc.integer({ min: 0, max: 1 << 26 })),
          fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(8, 16, 24, 32)),
          (width, height, lineLength, memLength, depth) => {
            const page = goldenPage({ width, height, lineLength, memLength, depth });
            try {
              const g = validateFbGeometry(readFbPageHeader(page));
              assert.ok(g.offset + g.stride * g.height <= g.memLength);
              assert.ok(g.stride >= (g.width * g.depth) / 8);
              assert.ok(g.memLength <= FB_MAX_MEM_LENGTH);
            } catch (e) {
              if (!(isXenvfbError(e) && codes.has(e.code))) throw e;
            }
          },
        ),
        { numRuns: 2000 },
      );
    });
  });

  describe('out events (frontend -> backend)', () => {
    const cases: Array<[string, FbOutEvent, Buffer]> = [
      ['update', { type: 'update', x: 1, y: 2, width: 3, height: 4 }, goldenUpdate(1, 2, 3, 4)],
      [
        'update with negative and extreme s32',
        { type: 'update', x: -5, y: 0x7fffffff, width: -0x80000000, height: 0 },
        goldenUpdate(-5, 0x7fffffff, -0x80000000, 0),
      ],
      ['resize', { type: 'resize', width: 1024, height: 768, stride: 4096, depth: 32, offset: 0 }, goldenResize(1024, 768, 4096, 32, 0)],
      [
        'resize with negative offset',
        { type: 'resize', width: -1, height: -2, stride: -3, depth: -4, offset: -5 },
        goldenResize(-1, -2, -3, -4, -5),
      ],
    ];
    for (const [name, ev, golden] of cases) {
      it(`${name}: decode, encode, round trip`, () => {
        assert.deepEqual(decodeFbOutEvent(golden), ev);
        assert.deepEqual(encodeFbOutEvent(ev), u8(golden));
        assert.deepEqual(decodeFbOutEvent(encodeFbOutEvent(ev)), ev);
      });
    }

    it('ignores padding bytes and reads a slot inside a larger page', () => {
      const page = Buffer.alloc(4096, 0xaa);
      goldenResize(640, 480, 2560, 32, 0).copy(page, XENFB_OUT_RING_OFFS + 40 * 50);
      page.fill(0xaa, XENFB_OUT_RING_OFFS + 40 * 50 + 24, XENFB_OUT_RING_OFFS + 40 * 51);
      page.fill(0xaa, XENFB_OUT_RING_OFFS + 40 * 50 + 1, XENFB_OUT_RING_OFFS + 40 * 50 + 4);
      const slot = page.subarray(XENFB_OUT_RING_OFFS + 40 * 50, XENFB_OUT_RING_OFFS + 40 * 51);
      assert.deepEqual(decodeFbOutEvent(slot), {
        type: 'resize',
        width: 640,
        height: 480,
        stride: 2560,
        depth: 32,
        offset: 0,
      });
    });

    it('unknown types (0, 1 = in-only, 4, 255) throw FB_E_BAD_EVENT with the code', () => {
      for (const code of [0, 1, 4, 255]) {
        const b = Buffer.alloc(40);
        b[0] = code;
        assert.throws(
          () => decodeFbOutEvent(b),
          (e: unknown) => isXenvfbError(e, 'FB_E_BAD_EVENT') && e.details.code === code,
        );
      }
    });

    it('a slot shorter than 40 bytes throws BYTES_E_SHORT', () => {
      throwsCode(() => decodeFbOutEvent(goldenUpdate(1, 2, 3, 4).subarray(0, 39)), 'BYTES_E_SHORT');
    });

    it('encode range-checks s32 fields', () => {
      throwsCode(() => encodeFbOutEvent({ type: 'update', x: 0x80000000, y: 0, width: 1, height: 1 }), 'BYTES_E_RANGE');
    });

    it('fuzz: random 40-byte slots end in an event or FB_E_BAD_EVENT', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 40, maxLength: 40 }), fc.constantFrom(undefined, 2, 3), (bytes, force) => {
          if (force !== undefined) bytes[0] = force;
          try {
            const ev = decodeFbOutEvent(bytes);
            assert.ok(ev.type === 'update' || ev.type === 'resize');
            const again = encodeFbOutEvent(ev);
            assert.deepEqual(decodeFbOutEvent(again), ev);
          } catch (e) {
            if (!isXenvfbError(e, 'FB_E_BAD_EVENT')) throw e;
          }
        }),
        { numRuns: 3000 },
      );
    });
  });

  describe('in events (backend -> frontend)', () => {
    const cases: Array<[string, FbInEvent, Buffer]> = [
      ['refresh-period 50 ms', { type: 'refresh-period', period: 50 }, goldenRefresh(50)],
      ['refresh-period XENFB_NO_REFRESH', { type: 'refresh-period', period: XENFB_NO_REFRESH }, goldenRefresh(0)],
      ['refresh-period u32 max', { type: 'refresh-period', period: 0xffffffff }, goldenRefresh(0xffffffff)],
    ];
    for (const [name, ev, golden] of cases) {
      it(`${name}: decode, encode, round trip`, () => {
        assert.deepEqual(decodeFbInEvent(golden), ev);
        assert.deepEqual(encodeFbInEvent(ev), u8(golden));
        assert.deepEqual(decodeFbInEvent(encodeFbInEvent(ev)), ev);
      });
    }

    it('unknown in events decode (frontends ignore them) and encode as a bare type byte', () => {
      const b = Buffer.alloc(40);
      b[0] = 9;
      b[5] = 1;
      assert.deepEqual(decodeFbInEvent(b), { type: 'unknown', code: 9 });
      const enc = Buffer.alloc(40);
      enc[0] = 9;
      assert.deepEqual(encodeFbInEvent({ type: 'unknown', code: 9 }), u8(enc));
      throwsCode(() => encodeFbInEvent({ type: 'unknown', code: 256 }), 'BYTES_E_RANGE');
    });

    it('fuzz: random slots always decode', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 40, maxLength: 40 }), (bytes) => {
          const ev = decodeFbInEvent(bytes);
          assert.ok(ev.type === 'refresh-period' || (ev.type === 'unknown' && ev.code === bytes[0]));
        }),
        { numRuns: 1000 },
      );
    });
  });
});
