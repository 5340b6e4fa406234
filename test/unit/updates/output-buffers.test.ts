// SpareBuffers (backend/updates/output-buffers.ts): the few warm shared buffers encoded frames
// are copied into, bounded on each side of the encode worker link.

import { strict as assert } from 'node:assert';
import { OUTPUT_BUFFER_BYTES_KEPT, OUTPUT_BUFFERS_KEPT, outputCapacity, SpareBuffers } from '../../../backend/updates/output-buffers';

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

describe('updates/output-buffers', () => {
  it('copies into a new buffer with room to spare, then into the same buffer once it is given back', () => {
    const spares = new SpareBuffers();
    const a = spares.copy(bytes(100_000, 7));
    assert.equal(a.byteLength, 100_000);
    assert.ok(a.buffer instanceof SharedArrayBuffer);
    assert.equal(a.buffer.byteLength, outputCapacity(100_000));
    assert.ok(a.buffer.byteLength >= 100_000 + 12_500, 'an eighth on top');
    assert.ok(a.every((v) => v === 7));
    spares.give(a.buffer);
    const b = spares.copy(bytes(110_000, 9));
    assert.ok(b.buffer === a.buffer, 'a slightly larger frame fits the kept buffer');
    assert.equal(b.byteLength, 110_000);
    assert.ok(b.every((v) => v === 9));
    assert.equal(spares.reused, 1);
    assert.equal(spares.size, 0);
  });

  it('takes the smallest kept buffer that fits, and never one more than twice the need', () => {
    const spares = new SpareBuffers();
    const big = new SharedArrayBuffer(8 << 20);
    const mid = new SharedArrayBuffer(1 << 20);
    spares.give(big);
    spares.give(mid);
    assert.ok(spares.copy(bytes(600_000, 1)).buffer === mid);
    // 100 KB in an 8 MB buffer would pin 8 MB for a small frame: a new one instead.
    const small = spares.copy(bytes(100_000, 1));
    assert.ok(small.buffer !== big);
    assert.ok(spares.copy(bytes(5 << 20, 1)).buffer === big);
    assert.equal(spares.reused, 2);
  });

  it('keeps at most OUTPUT_BUFFERS_KEPT buffers and OUTPUT_BUFFER_BYTES_KEPT bytes, and only shared ones', () => {
    const spares = new SpareBuffers();
    for (let i = 0; i < OUTPUT_BUFFERS_KEPT + 3; i++) spares.give(new SharedArrayBuffer(1024));
    assert.equal(spares.size, OUTPUT_BUFFERS_KEPT);
    const few = new SpareBuffers();
    few.give(new SharedArrayBuffer(OUTPUT_BUFFER_BYTES_KEPT - 10));
    few.give(new SharedArrayBuffer(64));
    assert.equal(few.size, 1, 'past the byte bound');
    // A plain ArrayBuffer may be transferred (detached) by whoever holds it: never kept.
    const few2 = new SpareBuffers();
    few2.give(new ArrayBuffer(64));
    assert.equal(few2.size, 0);
    assert.equal(few.takeAll().length, 1);
    assert.equal(few.size, 0);
  });
});
