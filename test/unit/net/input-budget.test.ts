// InputBudget (backend/net/input-budget.ts) and StageDeadline (backend/net/stage-deadline.ts).

import { strict as assert } from 'node:assert';
import { budgeted, INPUT_BURST_MS, INPUT_CPU_SHARE, InputBudget } from '../../../backend/net/input-budget';
import { StageDeadline } from '../../../backend/net/stage-deadline';

describe('net/input-budget', () => {
  it('a burst within INPUT_BURST_MS is free; past it the pause repays the overdraft at INPUT_CPU_SHARE', () => {
    const clock = { t: 0 };
    const b = new InputBudget({ now: () => clock.t });
    const spend = (ms: number) => b.run(() => (clock.t += ms));
    assert.equal(spend(INPUT_BURST_MS), 0, 'the whole burst');
    // Meanwhile INPUT_BURST_MS * share refilled; 50 ms more overdraws by the rest.
    const over = 50 - INPUT_BURST_MS * INPUT_CPU_SHARE;
    const wait = spend(50);
    assert.equal(wait, Math.ceil(over / INPUT_CPU_SHARE));
    assert.equal(b.throttled, 1);
    clock.t += wait;
    assert.equal(spend(0), 0, 'refilled after the pause');
  });

  it('work the handler reports as exempt (frame starts, paced elsewhere) is not charged', () => {
    const clock = { t: 0 };
    const b = new InputBudget({ now: () => clock.t, burstMs: 10, share: 0.1 });
    assert.equal(
      b.run(
        () => (clock.t += 500),
        () => 495,
      ),
      0,
      '500 ms of which 495 exempt: within the burst',
    );
    assert.ok(b.run(() => (clock.t += 50)) > 0, 'charged in full without the exemption');
  });

  it('budgeted(): pauses the source once per overdraft and resumes it; a lone client is never paused', async () => {
    let t = 0;
    const b = new InputBudget({ now: () => t, burstMs: 1, share: 1 });
    const calls: string[] = [];
    const source = { pause: () => calls.push('pause'), resume: () => calls.push('resume') };
    let contended = false;
    const feed = budgeted(
      b,
      source,
      () => contended,
      (ms: number) => (t += ms),
    );
    feed(50);
    assert.deepEqual(calls, [], 'alone: never paused');
    contended = true;
    feed(5);
    feed(5);
    assert.deepEqual(calls, ['pause'], 'one pause while paused');
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(calls, ['pause', 'resume']);
  });
});

describe('net/stage-deadline', () => {
  it('a new stage replaces the timer; the same stage keeps it; 0 means none', () => {
    const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
    const clock = {
      now: () => 0,
      setTimeout: (fn: () => void, ms: number) => timers.push({ fn, ms, cleared: false }) - 1,
      clearTimeout: (h: unknown) => (timers[h as number]!.cleared = true),
    };
    const expired: string[] = [];
    const d = new StageDeadline((stage, ms) => expired.push(`${stage}@${ms}`), clock);
    d.enter('version', 100);
    d.enter('version', 100);
    assert.equal(timers.length, 1, 'trickling within a stage does not restart its deadline');
    d.enter('security', 200);
    assert.equal(timers[0]!.cleared, true);
    timers[1]!.fn();
    assert.deepEqual(expired, ['security@200']);
    d.enter('normal', 0);
    assert.equal(timers.length, 2, 'no deadline once served');
  });
});
