// backend/idle-memory.ts: an idle backend gives its heap back once, some quiet time after the
// moments it knows allocation stopped, only while no one watches, and only when V8's own
// memory reducer is off (with it on, a GC of ours would start the reducer's timer again).

import { strict as assert } from 'node:assert';
import { IdleMemory, memoryReducerOff } from '../../../backend/idle-memory';
import { lowMemoryNotification } from '../../../native';
import { silentLogger } from '../../../shared/log';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function idle(opts: { watched?: boolean; enabled?: boolean } = {}) {
  const display = { watched: opts.watched ?? false };
  let calls = 0;
  const memory = new IdleMemory(display, { log: silentLogger, delayMs: 30, enabled: opts.enabled ?? true, giveBack: () => calls++ });
  return { display, memory, calls: () => calls };
}

describe('backend/idle-memory', () => {
  it('gives back once after the pokes stop, not per poke', async () => {
    const t = idle();
    for (let i = 0; i < 5; i++) {
      t.memory.poke();
      await sleep(10);
    }
    assert.equal(t.calls(), 0, 'still poked within the delay');
    await sleep(80);
    assert.equal(t.calls(), 1);
    assert.equal(t.memory.givenBack, 1);
    await sleep(80);
    assert.equal(t.calls(), 1, 'no timer after the give-back');
  });

  it('does nothing while someone watches; the leaving viewer pokes again', async () => {
    const t = idle({ watched: true });
    t.memory.poke();
    await sleep(80);
    assert.equal(t.calls(), 0);
    t.display.watched = false;
    t.memory.poke();
    await sleep(80);
    assert.equal(t.calls(), 1);
  });

  it('disabled (memory reducer on) never calls; close() cancels a pending give-back', async () => {
    const off = idle({ enabled: false });
    off.memory.poke();
    const closed = idle();
    closed.memory.poke();
    closed.memory.close();
    await sleep(80);
    assert.equal(off.calls(), 0);
    assert.equal(closed.calls(), 0);
  });

  it('is on by default only under --no-memory-reducer', () => {
    assert.equal(memoryReducerOff(['--no-memory-reducer']), true);
    assert.equal(memoryReducerOff(['--max-old-space-size=100']), false);
    assert.equal(memoryReducerOff([]), false);
    assert.equal(new IdleMemory({ watched: false }, { log: silentLogger }).enabled, memoryReducerOff() && lowMemoryNotification !== null);
  });

  it("the addon's LowMemoryNotification runs and frees unreferenced memory", () => {
    assert.ok(lowMemoryNotification, 'the addon has no lowMemoryNotification: rebuild it (npm run install)');
    let junk: unknown[] | null = Array.from({ length: 2e5 }, (_, i) => ({ i, s: `x${i}` }));
    const held = process.memoryUsage().heapUsed;
    assert.equal(junk.length, 2e5);
    junk = null;
    lowMemoryNotification();
    assert.ok(process.memoryUsage().heapUsed < held, `heap used ${process.memoryUsage().heapUsed} after, ${held} before`);
  });
});
