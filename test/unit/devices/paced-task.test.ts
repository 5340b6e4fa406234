import { strict as assert } from 'node:assert';
import { TokenBucket } from '../../../shared/token-bucket';
import { PacedTask } from '../../../backend/devices/paced-task';

describe('TokenBucket', () => {
  it('gives `burst` tokens at once, then `rate` a second, never more than burst saved', () => {
    const b = new TokenBucket(100, 3, 0);
    assert.deepEqual([b.take(0), b.take(0), b.take(0), b.take(0)], [true, true, true, false]);
    assert.equal(b.waitMs(0), 10);
    assert.equal(b.take(9), false);
    assert.equal(b.take(10), true);
    // A long quiet spell saves up to burst only.
    assert.deepEqual(
      [1, 2, 3, 4].map(() => b.take(10_000)),
      [true, true, true, false],
    );
  });

  it('refuses nonsense parameters', () => {
    assert.throws(() => new TokenBucket(0, 1, 0), RangeError);
    assert.throws(() => new TokenBucket(10, 0, 0), RangeError);
  });
});

describe('PacedTask', () => {
  it('runs a burst at once, folds the rest into one later run, and loses no kick', async () => {
    let runs = 0;
    const task = new PacedTask(() => runs++, { rate: 200, burst: 5 });
    for (let i = 0; i < 1000; i++) task.kick();
    assert.equal(runs, 5);
    assert.equal(task.stats.deferred, 995);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(runs, 6, 'the kicks past the burst became exactly one run');
    task.kick();
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(runs, 7);
    task.stop();
  });

  it('runs nothing after stop()', async () => {
    let runs = 0;
    const task = new PacedTask(() => runs++, { rate: 100, burst: 1 });
    task.kick();
    task.kick();
    task.stop();
    task.kick();
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(runs, 1);
  });
});
