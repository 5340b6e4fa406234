// EventPacer: a port firing at a device's real rate is delivered at once, every time; a port
// that re-fires as soon as it is delivered (a notify storm) gets at most its token rate; a
// held port is dropped by forget() and close().

import { strict as assert } from 'node:assert';
import { EventPacer } from '../../../shared/platform/event-pacer';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('EventPacer', function () {
  this.timeout(10000);

  it('delivers a port firing at 200/s at once, every time', async () => {
    const got: number[] = [];
    const pacer = new EventPacer((p) => got.push(p), { rate: 1000, burst: 10 });
    for (let i = 0; i < 40; i++) {
      pacer.fired(3);
      assert.equal(got.length, i + 1, `firing ${i} delivered synchronously`);
      await sleep(5);
    }
    assert.equal(pacer.deferred, 0);
    pacer.close();
  });

  it('holds a storming port to its rate and delivers each held firing once', async () => {
    const rate = 500;
    const burst = 20;
    let delivered = 0;
    let storming = true;
    // The peer notifies again the moment the port is unmasked: fired() right after deliver().
    const pacer: EventPacer = new EventPacer(
      () => {
        delivered++;
        if (storming) setImmediate(() => pacer.fired(7));
      },
      { rate, burst },
    );
    const t0 = performance.now();
    pacer.fired(7);
    await sleep(300);
    storming = false;
    const seconds = (performance.now() - t0) / 1000;
    await sleep(20);
    const bound = burst + rate * (seconds + 0.02) + 2;
    console.log(`      storm: ${delivered} deliveries in ${seconds.toFixed(2)} s (bound ${bound.toFixed(0)}), ${pacer.deferred} held`);
    assert.ok(delivered <= bound, `${delivered} deliveries > ${bound.toFixed(0)}`);
    assert.ok(delivered > burst, 'the storm is still served, at the paced rate');
    assert.ok(pacer.deferred > 0);
    pacer.close();
  });

  it('forget() and close() drop a held port', async () => {
    const got: number[] = [];
    const pacer = new EventPacer((p) => got.push(p), { rate: 1, burst: 1 });
    pacer.fired(1);
    pacer.fired(2);
    pacer.fired(1); // held: bucket of port 1 is empty
    pacer.fired(2); // held
    pacer.forget(1);
    pacer.close();
    await sleep(1100);
    assert.deepEqual(got, [1, 2]);
  });
});
