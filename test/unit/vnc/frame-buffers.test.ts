// A session's frames live in buffers its encoder reuses (encode-frame.ts SyncFrameEncoder,
// output-buffers.ts for the worker): the transport gets each frame with a release, and a
// buffer is written into again only after its release ran, so bytes a socket still holds are
// never overwritten. A large inline frame (1080p Raw) leaves in parts, views of the same buffer,
// after whatever the session queued before it, and the buffer comes back only with the rest's
// release.

import { strict as assert } from 'node:assert';
import { INLINE_PART_BYTES } from '../../../backend/vnc/encode-frame';
import { RfbEncoding } from '../../../backend/vnc/messages';
import { connected, decodeUpdates, fur, patternSurface, setEncodings, TestDisplay } from './helpers';

interface Written {
  bytes: Buffer;
  buffer: ArrayBufferLike;
  release?: () => void;
}

/** A session whose transport keeps every write as given (no copy) with its release. */
function rig(): { writes: Written[]; display: TestDisplay; request(incremental: boolean): Written } {
  const display = new TestDisplay(patternSurface(64, 32));
  const writes: Written[] = [];
  const h = connected(display, {
    write: (b, release) => writes.push({ bytes: Buffer.from(b.buffer, b.byteOffset, b.byteLength), buffer: b.buffer, release }),
  });
  let seed = 1;
  return {
    writes,
    display,
    request(incremental) {
      // New pixels in the top-left corner, then a request: one Raw frame comes back.
      const s = display.surface()!;
      for (let y = 0; y < 8; y++) s.data.fill(seed++ & 0xff, y * s.stride, y * s.stride + 32);
      display.emit('damage', [{ x: 0, y: 0, width: 8, height: 8 }]);
      const before = writes.length;
      h.session.receive(fur(incremental, 0, 0, 64, 32));
      assert.equal(writes.length, before + 1, 'one frame written');
      return writes.at(-1)!;
    },
  };
}

describe('vnc frame buffers', () => {
  it('a frame buffer is reused only after the transport released it', () => {
    const r = rig();
    const f1 = r.request(false);
    assert.equal(typeof f1.release, 'function', 'a frame comes with its release');
    const copy1 = Buffer.from(f1.bytes);
    // Not released (the socket still holds it): the next frame goes into another buffer and
    // the first frame's bytes are untouched.
    const f2 = r.request(false);
    assert.notEqual(f2.buffer, f1.buffer);
    assert.ok(f1.bytes.equals(copy1), 'a frame still held by the transport was overwritten');
    f1.release!();
    f1.release!(); // a second call changes nothing
    const f3 = r.request(false);
    assert.equal(f3.buffer, f1.buffer, 'the released buffer is reused');
    assert.notEqual(f3.buffer, f2.buffer);
    // The reused buffer carries the new frame, not the old one's bytes.
    assert.equal(f3.bytes.length, copy1.length);
    assert.ok(!f3.bytes.equals(copy1));
  });

  it('a 1080p Raw frame leaves in parts of its own buffer, after the output queued before it, and is the whole picture', () => {
    const display = new TestDisplay(patternSurface(1920, 1080));
    const writes: Written[] = [];
    const h = connected(display, {
      write: (b, release) => writes.push({ bytes: Buffer.from(b.buffer, b.byteOffset, b.byteLength), buffer: b.buffer, release }),
    });
    writes.length = 0; // the handshake
    // One input chunk: SetEncodings with Fence (the server answers with a ServerFence, queued
    // while the chunk is handled) and a full request.
    h.session.receive(Buffer.concat([setEncodings([RfbEncoding.Raw, RfbEncoding.Fence]), fur(false, 0, 0, 1920, 1080)]));
    assert.equal(writes[0]!.bytes[0], 248, 'the ServerFence queued before the frame goes first');
    const frame = writes.slice(1);
    assert.ok(frame.length >= 7, `${frame.length} writes for an 8 MB frame`);
    const parts = frame.slice(0, -1);
    const rest = frame.at(-1)!;
    for (const p of parts) {
      assert.equal(typeof p.release, 'function', 'each part comes with its release');
      assert.equal(p.buffer, rest.buffer, 'parts are views of the frame buffer, not copies');
      assert.ok(p.bytes.length >= INLINE_PART_BYTES);
    }
    assert.equal(typeof rest.release, 'function');
    const bytes = Buffer.concat(frame.map((w) => w.bytes));
    const [update, ...more] = decodeUpdates(bytes, 4);
    assert.equal(more.length, 0);
    const s = display.surface()!;
    let rows = 0;
    for (const r of update!) {
      assert.equal(r.encoding, RfbEncoding.Raw);
      assert.deepEqual([r.x, r.width], [0, 1920]);
      assert.ok(r.data.equals(Buffer.from(s.data.subarray(r.y * s.stride, (r.y + r.height) * s.stride))), `rows ${r.y}..`);
      rows += r.height;
    }
    assert.equal(rows, 1080);
    // The rest released (the output copied it, say) while a part is still queued in the
    // transport: the next frame is written elsewhere, and the parts stay intact.
    const kept = Buffer.from(bytes);
    rest.release!();
    for (const p of parts.slice(1)) p.release!();
    writes.length = 0;
    h.session.receive(fur(false, 0, 0, 1920, 1080));
    const second = writes.slice();
    assert.ok(second.every((w) => w.buffer !== rest.buffer));
    assert.ok(Buffer.concat(frame.map((w) => w.bytes)).equals(kept));
    // Once the last part is released too, the buffer is reused (the second frame's is still held).
    parts[0]!.release!();
    writes.length = 0;
    h.session.receive(fur(false, 0, 0, 1920, 1080));
    assert.ok(
      writes.some((w) => w.buffer === rest.buffer),
      'the released buffer is reused',
    );
  });
});
