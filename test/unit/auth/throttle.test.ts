import { strict as assert } from 'node:assert';
import {
  AUTH_BACKOFF_MS,
  AUTH_FAILURE_WINDOW_MS,
  AUTH_MAX_FAILURES,
  AUTH_THROTTLE_MAX_HOSTS,
  AuthThrottle,
} from '../../../backend/auth/throttle';

function clocked(): { t: AuthThrottle; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  return { t: new AuthThrottle({ now: () => clock.now }), clock };
}

describe('vnc/security/throttle', () => {
  it(`${AUTH_MAX_FAILURES - 1} failures: still allowed; ${AUTH_MAX_FAILURES}: refused`, () => {
    const { t } = clocked();
    for (let i = 0; i < AUTH_MAX_FAILURES - 1; i++) t.failure('10.0.0.1');
    assert.equal(t.blocked('10.0.0.1'), false);
    t.failure('10.0.0.1');
    assert.equal(t.blocked('10.0.0.1'), true);
    assert.equal(t.blocked('10.0.0.2'), false);
  });

  it('the backoff ends after AUTH_BACKOFF_MS, not one ms before', () => {
    const { t, clock } = clocked();
    for (let i = 0; i < AUTH_MAX_FAILURES; i++) t.failure('h');
    clock.now += AUTH_BACKOFF_MS - 1;
    assert.equal(t.blocked('h'), true);
    clock.now += 1;
    assert.equal(t.blocked('h'), false);
    t.failure('h');
    assert.equal(t.blocked('h'), false, 'the count started again after the backoff');
  });

  it('failures older than the window are forgotten', () => {
    const { t, clock } = clocked();
    for (let i = 0; i < AUTH_MAX_FAILURES - 1; i++) t.failure('h');
    clock.now += AUTH_FAILURE_WINDOW_MS;
    t.failure('h');
    assert.equal(t.blocked('h'), false);
  });

  it('a success clears the address', () => {
    const { t } = clocked();
    for (let i = 0; i < AUTH_MAX_FAILURES - 1; i++) t.failure('h');
    t.gate('h').success();
    t.failure('h');
    assert.equal(t.blocked('h'), false);
  });

  it(`remembers at most ${AUTH_THROTTLE_MAX_HOSTS} addresses, dropping the stalest`, () => {
    const { t } = clocked();
    for (let i = 0; i < AUTH_MAX_FAILURES; i++) t.failure('first');
    for (let i = 0; i < AUTH_THROTTLE_MAX_HOSTS - 1; i++) t.failure(`h${i}`);
    assert.equal(t.size, AUTH_THROTTLE_MAX_HOSTS);
    assert.equal(t.blocked('first'), true);
    t.failure('one more');
    assert.equal(t.size, AUTH_THROTTLE_MAX_HOSTS);
    assert.equal(t.blocked('first'), false);
  });
});
