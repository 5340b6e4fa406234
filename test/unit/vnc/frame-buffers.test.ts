// A session's frames live in buffers its encoder reuses (encode-frame.ts SyncFrameEncoder,
// output-buffers.ts for the worker): the transport gets each frame with a release, and a
// buffer is written into again only after its release ran, so bytes a socket still holds are
// never overwritten.

import { strict as assert } from 'node:assert';
import { connected, fur, patternSurface, TestDisplay } from './helpers';

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
});
