// Non-incremental FramebufferUpdateRequests are coalesced per frame (issue 15 item 3): a flood
// asks the display for one refresh per frame sent, and the layout reply (ExtendedDesktopSize)
// a client gets per non-incremental request is one queued reply, not one per request. Within
// one frame time a client's explicit requests are answered at once only while its explicit
// budget lasts (EXPLICIT_UPDATE_BURST back to back, EXPLICIT_UPDATE_RATE a second).

import { strict as assert } from 'node:assert';
import { EXPLICIT_UPDATE_BURST } from '../../../backend/updates/update-scheduler';
import { RfbEncoding } from '../../../backend/vnc/messages';
import { connected, fur, patternSurface, setEncodings, TestDisplay } from './helpers';

describe('vnc/session non-incremental request coalescing', () => {
  it('10,000 requests in one frame time: the explicit burst, then one update per frame; one layout reply each', () => {
    const display = new TestDisplay(patternSurface(64, 32));
    // A frozen clock: every request falls in the same frame interval.
    const clock = { now: () => 0, setTimeout: () => null, clearTimeout: () => undefined };
    const h = connected(display, { frameIntervalMs: 16, clock });
    h.session.receive(setEncodings([RfbEncoding.Raw, RfbEncoding.ExtendedDesktopSize]));
    h.take();
    const flood = Buffer.concat(Array.from({ length: 10_000 }, () => fur(false, 1, 1, 1, 1)));
    h.session.receive(flood);
    // The first request goes at once (frame clock open), the next EXPLICIT_UPDATE_BURST on the
    // explicit budget; then one refresh for the frame all the others wait for.
    const sent = 1 + EXPLICIT_UPDATE_BURST;
    assert.equal(display.refreshes, sent + 1);
    const out = h.take();
    // One layout pseudo-update (4 + 12 + 4 + 16: the queued reply all requests share) and
    // the 1x1 updates (4 + 12 + 4 each).
    assert.equal(out.length, 4 + 12 + 4 + 16 + sent * (4 + 12 + 4), `${out.length} bytes`);
    assert.equal(h.session.stats().repliesCoalesced, 9_999);
  });

  it('each frame sent may ask again (unpaced: every request is a frame)', () => {
    const display = new TestDisplay(patternSurface(64, 32));
    const h = connected(display);
    h.session.receive(fur(false, 0, 0, 8, 8));
    h.session.receive(fur(false, 0, 0, 8, 8));
    assert.equal(display.refreshes, 2);
  });
});
