// GuestDisplay.requestRefresh: however many clients ask, at most one refresh per
// REFRESH_MIN_INTERVAL_MS (issue 15 item 3: each refresh compares the whole guest frame).

import { strict as assert } from 'node:assert';
import { GuestDisplay, REFRESH_MIN_INTERVAL_MS } from '../../../backend/display/guest-display';

describe('display/guest-display refresh coalescing', () => {
  it('the first request refreshes at once; a burst within the interval gives one more refresh, at its end', async () => {
    const d = new GuestDisplay('t');
    let runs = 0;
    d.onRefreshRequest(() => runs++);
    d.requestRefresh();
    assert.equal(runs, 1);
    for (let i = 0; i < 10_000; i++) d.requestRefresh();
    assert.equal(runs, 1, 'the burst waits for the interval');
    await new Promise((r) => setTimeout(r, REFRESH_MIN_INTERVAL_MS * 3));
    assert.equal(runs, 2, 'one refresh for the whole burst');
    assert.equal(d.stats.refreshes, 2);
    assert.equal(d.stats.refreshesCoalesced, 10_000);
  });

  it('a removed hook cancels the pending refresh', async () => {
    const d = new GuestDisplay('t');
    let runs = 0;
    d.onRefreshRequest(() => runs++);
    d.requestRefresh();
    d.requestRefresh();
    d.onRefreshRequest(undefined);
    await new Promise((r) => setTimeout(r, REFRESH_MIN_INTERVAL_MS * 3));
    assert.equal(runs, 1);
  });
});
