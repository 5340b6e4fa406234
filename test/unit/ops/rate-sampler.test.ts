// Client rates for status: sampled when asked, never on a timer (an idle backend must not
// wake up), and meaningful at the first request (measured since the client connected).

import { strict as assert } from 'node:assert';
import { RateSampler } from '../../../backend/control/status';
import type { DisplayClientInfo, DisplayServer } from '../../../backend/display-server';

function serverWith(clients: DisplayClientInfo[]): { server: DisplayServer } {
  const server = { protocol: 'vnc', clientInfo: () => clients } as unknown as DisplayServer;
  return { server };
}

describe('control/status RateSampler', () => {
  it('first request: rate since the client connected; then since the previous sample', () => {
    const c: DisplayClientInfo = { id: 1, peer: 'p', websocket: false, bytesOut: 3000, updates: 30, queuedBytes: 0, connectedAt: 10_000 };
    const rates = new RateSampler(() => [serverWith([c])]);
    rates.sample(12_000);
    assert.deepEqual(rates.rate('vnc', 1), { fps: 15, bytesPerSecond: 1500 });
    c.updates = 90;
    c.bytesOut = 9000;
    rates.sample(13_000);
    assert.deepEqual(rates.rate('vnc', 1), { fps: 60, bytesPerSecond: 6000 });
  });

  it('requests closer than MIN_SAMPLE_MS keep the last rate; a gone client is forgotten', () => {
    const clients: DisplayClientInfo[] = [{ id: 2, peer: 'p', websocket: false, bytesOut: 0, updates: 0, queuedBytes: 0, connectedAt: 0 }];
    const rates = new RateSampler(() => [serverWith(clients)]);
    rates.sample(1000);
    clients[0]!.updates = 10;
    rates.sample(1100);
    assert.equal(rates.rate('vnc', 2).fps, 0);
    rates.sample(2000);
    assert.equal(rates.rate('vnc', 2).fps, 10);
    clients.length = 0;
    rates.sample(3000);
    assert.deepEqual(rates.rate('vnc', 2), { fps: 0, bytesPerSecond: 0 });
  });
});
