// bench:spice's frame marker: what the workloads stamp, frames-client.py reads back from the
// centre of each block (the same arithmetic here), and it must fit every workload's first rect.

import { strict as assert } from 'node:assert';
import { H, MARKER_BITS, MARKER_BLOCK, stampMarker, VIDEO, W, WORKLOADS } from '../../../scripts/bench/spice/workloads';

function readMarker(px: Uint32Array, x: number, y: number): number {
  let v = 0;
  for (let bit = 0; bit < MARKER_BITS; bit++) {
    const g = (px[(y + MARKER_BLOCK / 2) * W + x + bit * MARKER_BLOCK + MARKER_BLOCK / 2]! >> 8) & 0xff;
    v |= (g >= 128 ? 1 : 0) << bit;
  }
  return v;
}

describe('bench:spice frame marker', () => {
  it('reads back every frame number modulo 2^MARKER_BITS, over any picture', () => {
    const px = new Uint32Array(W * H).fill(0x808080);
    for (const f of [0, 1, 2, 1000, 4095, 4096, 4097, 123456]) {
      stampMarker(px, 600, 300, f);
      assert.equal(readMarker(px, 600, 300), f % 2 ** MARKER_BITS);
    }
  });

  it("fits inside every workload's first changed rectangle", () => {
    for (const w of [...WORKLOADS, VIDEO]) {
      const px = new Uint32Array(W * H);
      w.init(px);
      const r = w.step(px, 1)[0]!;
      assert.ok(r.width >= MARKER_BITS * MARKER_BLOCK && r.height >= MARKER_BLOCK, w.name);
    }
  });
});
