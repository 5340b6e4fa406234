// Raw frames of a worker-mode session are encoded on the session's thread (no snapshot copy,
// no transfer): they are there as soon as the request is handled, and the inline twin never
// writes through an encoder with stream state, so a client that lists Raw first and ZRLE
// after it, then switches to ZRLE, decodes every update exactly (shared/rfb decoders keep
// one zlib stream per connection, as real clients do).

import { strict as assert } from 'node:assert';
import type { Surface } from '../../../backend/display/display';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';
import { RfbEncoding } from '../../../backend/vnc/messages';
import { ByteReader } from '../../../shared/bytes';
import { RfbRectDecoder } from '../../../shared/rfb/decoders';
import { Framebuffer } from '../../../shared/rfb/framebuffer';
import type { RfbPixelFormat } from '../../../shared/rfb/pixel-format';
import { connected, fur, setEncodings, TestDisplay } from './helpers';

const W = 256;
const H = 128;

/** Solid top half (solid rects are where a Raw-preferring session may pick another encoder), pattern below. */
function picture(seed: number): Surface {
  const data = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 4;
      const solid = y < H / 2;
      data[i] = solid ? 0x20 : (x * seed) & 0xff;
      data[i + 1] = solid ? 0x40 : (y * 3 + seed) & 0xff;
      data[i + 2] = solid ? 0x60 : (x ^ y) & 0xff;
    }
  }
  return { width: W, height: H, stride: W * 4, format: PIXEL_FORMAT_XRGB8888, data };
}

/** Apply FramebufferUpdates to the client's framebuffer; returns the encodings seen. */
function apply(bytes: Buffer, dec: RfbRectDecoder, fb: Framebuffer): Set<number> {
  const seen = new Set<number>();
  const r = new ByteReader(bytes);
  while (r.remaining > 0) {
    assert.equal(r.u8(), 0, 'a FramebufferUpdate');
    r.u8();
    const n = r.u16be();
    for (let i = 0; i < n; i++) {
      const rect = { x: r.u16be(), y: r.u16be(), width: r.u16be(), height: r.u16be() };
      const enc = r.s32be();
      seen.add(enc);
      dec.decodeRect(r, rect, enc, fb);
    }
  }
  return seen;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((res) => setTimeout(res, 5));
  }
}

describe('vnc/session: Raw frames inline in worker mode', function () {
  this.timeout(20000);

  it('Raw first with ZRLE listed, then ZRLE: frames inline, then from the worker, all exact', async () => {
    const display = new TestDisplay(picture(1));
    const h = connected(display, { encode: 'worker' });
    const dec = new RfbRectDecoder();
    const fb = new Framebuffer(W, H, PIXEL_FORMAT_XRGB8888 as RfbPixelFormat);
    try {
      h.session.receive(setEncodings([RfbEncoding.Raw, RfbEncoding.ZRLE]));
      h.session.receive(fur(false, 0, 0, W, H));
      const first = h.take();
      assert.ok(first.length > W * H * 4, 'the Raw frame is written before receive() returns: no worker round trip');
      assert.deepEqual([...apply(first, dec, fb)], [RfbEncoding.Raw]);
      assert.ok(Buffer.from(fb.pixels).equals(Buffer.from(display.surface()!.data)), 'Raw frame exact');

      // A solid change: the rect a Raw-preferring session may send through another encoder.
      display
        .surface()!
        .data.subarray(0, (W * H * 4) / 2)
        .fill(0x55);
      display.emit('damage', [{ x: 0, y: 0, width: W, height: H / 2 }]);
      h.session.receive(fur(true, 0, 0, W, H));
      const solid = h.take();
      assert.ok(solid.length > 0, 'the solid update is written inline');
      apply(solid, dec, fb);
      assert.ok(Buffer.from(fb.pixels).equals(Buffer.from(display.surface()!.data)), 'solid update exact');

      display.setSurface(picture(7));
      h.session.receive(setEncodings([RfbEncoding.ZRLE, RfbEncoding.Raw]));
      h.session.receive(fur(false, 0, 0, W, H));
      let second = Buffer.alloc(0);
      await until(() => (second = Buffer.concat([second, h.take()])).length > 0, 'the ZRLE frame from the worker');
      assert.deepEqual([...apply(second, dec, fb)], [RfbEncoding.ZRLE]);
      assert.ok(Buffer.from(fb.pixels).equals(Buffer.from(display.surface()!.data)), 'ZRLE frame exact after the Raw one');
      assert.equal(h.closedWith.count, 0, `session open (${h.closedWith.reason ?? ''})`);
      const stats = h.session.stats();
      assert.ok(stats.encoders.Raw && stats.encoders.ZRLE, `both encoders counted: ${Object.keys(stats.encoders).join(', ')}`);
    } finally {
      h.session.close('test done');
    }
  });
});
