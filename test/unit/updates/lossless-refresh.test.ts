// "Busy" (a lower JPEG quality is fine) means the content changes while the client holds it
// lossy, as video does; a still area re-sent on request (a non-incremental update request)
// is not busy and keeps its quality.

import { strict as assert } from 'node:assert';
import { LossyRegion } from '../../../backend/updates/lossless-refresh';

describe('updates/lossless-refresh: busy means changing', () => {
  const r = { x: 0, y: 0, width: 1920, height: 1080 };

  it('an area re-sent lossy without damage is not busy', () => {
    const l = new LossyRegion();
    l.addLossy(r, 0);
    for (let t = 16; t < 200; t += 16) {
      assert.equal(l.recentlyLossy(r, t, 100), false, `t=${t}`);
      l.addLossy(r, t);
    }
  });

  it('damaged while lossy it is busy, also right after it is re-sent, until it has been still for the window', () => {
    const l = new LossyRegion();
    l.addLossy(r, 0);
    l.touch({ x: 100, y: 100, width: 10, height: 10 }, 70);
    assert.equal(l.recentlyLossy(r, 80, 100), true);
    l.addLossy(r, 90);
    assert.equal(l.recentlyLossy(r, 95, 100), true);
    assert.equal(l.recentlyLossy(r, 171, 100), false);
  });

  it('only the part that changed is busy', () => {
    const l = new LossyRegion();
    l.addLossy({ x: 0, y: 0, width: 100, height: 100 }, 0);
    l.addLossy({ x: 200, y: 0, width: 100, height: 100 }, 0);
    l.touch({ x: 210, y: 10, width: 5, height: 5 }, 10);
    assert.equal(l.recentlyLossy({ x: 0, y: 0, width: 100, height: 100 }, 20, 100), false);
    assert.equal(l.recentlyLossy({ x: 200, y: 0, width: 100, height: 100 }, 20, 100), true);
  });
});
