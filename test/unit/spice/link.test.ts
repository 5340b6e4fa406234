// SPICE link and framing codecs: golden bytes from spice/protocol.h layouts (built by the
// test helpers, not by the code under test), decode, encode, and split at every byte.

import { strict as assert } from 'node:assert';
import { isXenvfbError } from '../../../shared/errors';
import {
  buildLinkError,
  buildLinkMess,
  buildLinkReply,
  parseLinkHeader,
  parseLinkMess,
  SPICE_LINK_REPLY_SIZE,
  SPICE_MAX_LINK_CAPS,
  SPICE_MAX_LINK_SIZE,
} from '../../../shared/spice/link';
import { frameMessage, SpiceMessageReader } from '../../../shared/spice/data-header';
import { buildDrawCopy, bitmapPayload, DRAW_COPY_IMAGE_OFFSET } from '../../../shared/spice/display-messages';
import { capsWords, hasCap } from '../../../shared/spice/constants';
import { linkBytes } from './helpers';

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => isXenvfbError(e) && e.code === code);
}

describe('SPICE link codec (spice/protocol.h)', function () {
  const golden = linkBytes({ connectionId: 0x11223344, type: 2, id: 0, common: [0x0d], channel: [0x3bf] });

  it('parses a SpiceLinkHeader + SpiceLinkMess as spice-gtk sends it', function () {
    const h = parseLinkHeader(golden.subarray(0, 16));
    assert.deepEqual(h, { major: 2, minor: 2, size: 26 });
    const m = parseLinkMess(golden.subarray(16));
    assert.deepEqual(m, { connectionId: 0x11223344, channelType: 2, channelId: 0, commonCaps: [0x0d], channelCaps: [0x3bf] });
    assert.ok(hasCap(m.commonCaps, 3) && !hasCap(m.commonCaps, 1));
  });

  it('buildLinkMess writes the same bytes (round trip)', function () {
    assert.deepEqual(buildLinkMess(parseLinkMess(golden.subarray(16))), golden);
  });

  it('SpiceLinkReply is 178 bytes + caps after a 16-byte header, caps_offset 178', function () {
    const key = new Uint8Array(162).fill(7);
    const b = buildLinkReply({ error: 0, pubKey: key, commonCaps: [0x0b], channelCaps: [] });
    assert.equal(b.length, 16 + SPICE_LINK_REPLY_SIZE + 4);
    assert.equal(b.subarray(0, 4).toString('latin1'), 'REDQ');
    assert.equal(b.readUInt32LE(12), 182);
    assert.equal(b.readUInt32LE(16), 0);
    assert.deepEqual(b.subarray(20, 182), Buffer.from(key));
    assert.deepEqual([b.readUInt32LE(182), b.readUInt32LE(186), b.readUInt32LE(190), b.readUInt32LE(194)], [1, 0, 178, 0x0b]);
    const err = buildLinkError(7);
    assert.equal(err.readUInt32LE(16), 7);
    assert.ok(err.subarray(20).every((x) => x === 0));
  });

  it('refuses bad magic, major version, sizes past SPICE_MAX_LINK_SIZE, caps past SPICE_MAX_LINK_CAPS, caps outside the message', function () {
    const bad = Buffer.from(golden);
    bad[0] = 0x47;
    throwsCode(() => parseLinkHeader(bad.subarray(0, 16)), 'SPICE_E_BAD_MAGIC');
    const v = Buffer.from(golden);
    v.writeUInt32LE(1, 4);
    throwsCode(() => parseLinkHeader(v.subarray(0, 16)), 'SPICE_E_BAD_VERSION');
    const atLimit = Buffer.from(golden.subarray(0, 16));
    atLimit.writeUInt32LE(SPICE_MAX_LINK_SIZE, 12);
    assert.equal(parseLinkHeader(atLimit).size, SPICE_MAX_LINK_SIZE);
    atLimit.writeUInt32LE(SPICE_MAX_LINK_SIZE + 1, 12);
    throwsCode(() => parseLinkHeader(atLimit), 'SPICE_E_OVERSIZE');
    atLimit.writeUInt32LE(17, 12);
    throwsCode(() => parseLinkHeader(atLimit), 'SPICE_E_OVERSIZE');
    const many = Buffer.from(golden.subarray(16));
    many.writeUInt32LE(SPICE_MAX_LINK_CAPS + 1, 6);
    throwsCode(() => parseLinkMess(many), 'SPICE_E_OVERSIZE');
    const outside = Buffer.from(golden.subarray(16));
    outside.writeUInt32LE(3, 10);
    throwsCode(() => parseLinkMess(outside), 'SPICE_E_BAD_LINK');
    const low = Buffer.from(golden.subarray(16));
    low.writeUInt32LE(4, 14);
    throwsCode(() => parseLinkMess(low), 'SPICE_E_BAD_LINK');
  });

  it('capsWords / hasCap agree on bit numbering', function () {
    assert.deepEqual(capsWords([0, 1, 3]), [0x0b]);
    assert.deepEqual(capsWords([33]), [0, 2]);
    assert.ok(hasCap([0, 2], 33) && !hasCap([0, 2], 32) && !hasCap([], 0));
  });
});

describe('SPICE data framing', function () {
  it('mini header: u16 type | u32 size; full header: u64 serial | u16 type | u32 size | u32 sub_list', function () {
    assert.deepEqual(frameMessage(true, 9n, 0x0103, Buffer.from([0xaa])), Buffer.from([3, 1, 1, 0, 0, 0, 0xaa]));
    assert.deepEqual(
      frameMessage(false, 5n, 0x0103, Buffer.from([0xaa])),
      Buffer.from([5, 0, 0, 0, 0, 0, 0, 0, 3, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0xaa]),
    );
  });

  for (const mini of [true, false]) {
    it(`${mini ? 'mini' : 'full'} header reader: whole messages at every split point`, function () {
      const msgs = [
        frameMessage(mini, 1n, 101, Buffer.alloc(0)),
        frameMessage(mini, 2n, 112, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])),
      ];
      const all = Buffer.concat(msgs);
      for (let cut = 0; cut <= all.length; cut++) {
        const r = new SpiceMessageReader(mini, 64);
        const got: { type: number; body: number[] }[] = [];
        for (const part of [all.subarray(0, cut), all.subarray(cut)]) {
          r.push(part);
          for (let m = r.next(); m; m = r.next()) got.push({ type: m.type, body: [...m.body] });
        }
        assert.deepEqual(got, [
          { type: 101, body: [] },
          { type: 112, body: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] },
        ]);
        assert.equal(r.bufferedBytes, 0);
      }
    });
  }

  it('a body at the limit is read; one byte past it is SPICE_E_OVERSIZE as soon as the header is in', function () {
    const r = new SpiceMessageReader(true, 16);
    r.push(frameMessage(true, 1n, 103, Buffer.alloc(16)));
    assert.equal(r.next()?.body.length, 16);
    const over = new SpiceMessageReader(true, 16);
    over.push(frameMessage(true, 1n, 103, Buffer.alloc(17)).subarray(0, 6));
    throwsCode(() => over.next(), 'SPICE_E_OVERSIZE');
  });
});

describe('SPICE DRAW_COPY layout (spice.proto, verified against qemu captures)', function () {
  it('BITMAP 32BIT TOP_DOWN: image at 57, pixels at 93, total 93 + 4wh', function () {
    const pixels = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
    const b = buildDrawCopy({ x: 5, y: 7, width: 2, height: 3 }, { id: 42n, ...bitmapPayload(2, 3, pixels) });
    assert.equal(b.length, 93 + 24);
    assert.equal(DRAW_COPY_IMAGE_OFFSET, 57);
    // base: surface 0 | box top,left,bottom,right | clip NONE
    assert.deepEqual(
      [b.readUInt32LE(0), b.readInt32LE(4), b.readInt32LE(8), b.readInt32LE(12), b.readInt32LE(16), b[20]],
      [0, 7, 5, 10, 7, 0],
    );
    // src_bitmap ptr | src_area 0,0,h,w | rop OP_PUT | scale | mask flags, pos, ptr
    assert.deepEqual([b.readUInt32LE(21), b.readInt32LE(25), b.readInt32LE(29), b.readInt32LE(33), b.readInt32LE(37)], [57, 0, 0, 3, 2]);
    assert.deepEqual([b.readUInt16LE(41), b[43], b[44], b.readInt32LE(45), b.readInt32LE(49), b.readUInt32LE(53)], [8, 0, 0, 0, 0, 0]);
    // image descriptor: id | type BITMAP | flags | w | h; bitmap: fmt 32BIT | TOP_DOWN | x | y | stride | palette 0
    assert.deepEqual([b.readBigUInt64LE(57), b[65], b[66], b.readUInt32LE(67), b.readUInt32LE(71)], [42n, 0, 0, 2, 3]);
    assert.deepEqual([b[75], b[76], b.readUInt32LE(77), b.readUInt32LE(81), b.readUInt32LE(85), b.readUInt32LE(89)], [8, 4, 2, 3, 8, 0]);
    assert.deepEqual(b.subarray(93), Buffer.from(pixels));
  });
});
