import { strict as assert } from 'node:assert';
import {
  AUTH_BASE_DELAY_MS,
  AUTH_FAILURE_WINDOW_MS,
  AUTH_FREE_FAILURES,
  AUTH_MAX_DELAY_MS,
  AUTH_MAX_PENDING_PER_HOST,
  AUTH_THROTTLE_MAX_HOSTS,
  AuthThrottle,
} from '../../../backend/auth/throttle';

function clocked(): { t: AuthThrottle; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  return { t: new AuthThrottle({ now: () => clock.now }), clock };
}

describe('auth/throttle: exponential delay per address, never a ban', () => {
  it(`${AUTH_FREE_FAILURES} failures are free; then the delay doubles per failure up to ${AUTH_MAX_DELAY_MS} ms`, () => {
    const { t } = clocked();
    for (let i = 0; i < AUTH_FREE_FAILURES; i++) {
      assert.equal(t.delayFor('h'), 0);
      t.failure('h');
    }
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      seen.push(t.delayFor('h'));
      t.failure('h');
    }
    assert.equal(seen[0], AUTH_BASE_DELAY_MS);
    assert.equal(seen[1], 2 * AUTH_BASE_DELAY_MS);
    assert.equal(seen[2], 4 * AUTH_BASE_DELAY_MS);
    assert.equal(Math.max(...seen), AUTH_MAX_DELAY_MS);
    assert.equal(t.delayFor('other'), 0);
  });

  it("an address's responses are judged one at a time, delay apart", () => {
    const { t } = clocked();
    for (let i = 0; i <= AUTH_FREE_FAILURES; i++) t.failure('h');
    const d = t.delayFor('h');
    assert.deepEqual([t.judgeDelay('h'), t.judgeDelay('h'), t.judgeDelay('h')], [d, 2 * d, 3 * d]);
  });

  it('failures older than the window are forgotten; a success clears the address', () => {
    const { t, clock } = clocked();
    for (let i = 0; i < AUTH_FREE_FAILURES + 2; i++) t.failure('h');
    assert.ok(t.delayFor('h') > 0);
    clock.now += AUTH_FAILURE_WINDOW_MS;
    assert.equal(t.delayFor('h'), 0);
    for (let i = 0; i < AUTH_FREE_FAILURES + 2; i++) t.failure('h');
    t.gate('h').success();
    assert.equal(t.delayFor('h'), 0);
    assert.equal(t.judgeDelay('h'), 0);
  });

  it(`at most ${AUTH_MAX_PENDING_PER_HOST} authentications in progress per address; end() frees a slot once`, () => {
    const { t } = clocked();
    const gates = Array.from({ length: AUTH_MAX_PENDING_PER_HOST + 1 }, () => t.gate('h'));
    const begun = gates.map((g) => g.begin());
    assert.deepEqual(begun, [...Array<boolean>(AUTH_MAX_PENDING_PER_HOST).fill(true), false]);
    assert.equal(t.gate('other').begin(), true);
    gates[0]!.end();
    gates[0]!.end();
    assert.equal(gates[AUTH_MAX_PENDING_PER_HOST]!.begin(), true);
    assert.equal(t.gate('h').begin(), false, 'a second end() freed nothing');
  });

  it('blocked() (protocols that judge at once): only within the current delay after the last failure', () => {
    const { t, clock } = clocked();
    for (let i = 0; i < AUTH_FREE_FAILURES - 1; i++) t.failure('h');
    assert.equal(t.blocked('h'), false, 'within the free failures: never blocked');
    t.failure('h');
    assert.equal(t.blocked('h'), true, 'the next attempt waits');
    clock.now += t.delayFor('h');
    assert.equal(t.blocked('h'), false, 'the cool-down ends; no fixed ban');
  });

  it(`remembers at most ${AUTH_THROTTLE_MAX_HOSTS} addresses, dropping the stalest`, () => {
    const { t } = clocked();
    for (let i = 0; i < AUTH_FREE_FAILURES + 1; i++) t.failure('first');
    for (let i = 0; i < AUTH_THROTTLE_MAX_HOSTS - 1; i++) t.failure(`h${i}`);
    assert.equal(t.size, AUTH_THROTTLE_MAX_HOSTS);
    assert.ok(t.delayFor('first') > 0);
    t.failure('one more');
    assert.equal(t.size, AUTH_THROTTLE_MAX_HOSTS);
    assert.equal(t.delayFor('first'), 0);
  });
});
