// backend/net/limits.ts and the CLI flags that set it (scripts/cli/vnc-security-flags.ts).

import { strict as assert } from 'node:assert';
import { ConnectionCounter, DEFAULT_NET_LIMITS, resolveNetLimits } from '../../../backend/net/limits';
import { netLimitsFromFlags, parseLimitFlag, vncSecurityArgs } from '../../../scripts/cli/vnc-security-flags';

describe('net/limits', () => {
  it('defaults fill what is not given; a bad value is refused', () => {
    assert.deepEqual(resolveNetLimits(), DEFAULT_NET_LIMITS);
    const l = resolveNetLimits({ maxConnections: 3, auth: { maxDelayMs: 500 } });
    assert.equal(l.maxConnections, 3);
    assert.equal(l.auth.maxDelayMs, 500);
    assert.equal(l.auth.baseDelayMs, DEFAULT_NET_LIMITS.auth.baseDelayMs);
    assert.throws(() => resolveNetLimits({ surfaceWaitMs: -1 }), RangeError);
    assert.throws(() => resolveNetLimits({ maxConnections: 1.5 }), RangeError);
  });

  it('ConnectionCounter: per-address limit, total limit, release gives the slot back', () => {
    const c = new ConnectionCounter({ maxConnections: 3, maxConnectionsPerAddress: 2 });
    assert.deepEqual(
      ['a', 'a', 'a', 'b', 'b'].map((x) => c.admit(x)),
      ['ok', 'ok', 'address', 'ok', 'total'],
    );
    c.release('a');
    assert.equal(c.admit('b'), 'ok');
    assert.equal(c.size, 3);
    c.release('nobody');
    assert.equal(c.size, 3);
  });

  it('the CLI flags map onto the limits and pass on to a backend child', () => {
    const flags = { maxConnections: 10, maxConnectionsPerAddress: 2, handshakeTimeout: 5000, surfaceWait: 7000, authMaxDelay: 9000 };
    const l = resolveNetLimits(netLimitsFromFlags(flags));
    assert.equal(l.maxConnections, 10);
    assert.equal(l.maxConnectionsPerAddress, 2);
    assert.equal(l.handshakeStageMs, 5000);
    assert.equal(l.httpHeadMs, 5000);
    assert.equal(l.surfaceWaitMs, 7000);
    assert.equal(l.auth.maxDelayMs, 9000);
    assert.deepEqual(resolveNetLimits(netLimitsFromFlags({})), DEFAULT_NET_LIMITS);
    assert.deepEqual(vncSecurityArgs(flags), [
      '--max-connections',
      '10',
      '--max-connections-per-address',
      '2',
      '--handshake-timeout',
      '5000',
      '--surface-wait',
      '7000',
      '--auth-max-delay',
      '9000',
    ]);
    assert.equal(parseLimitFlag('12'), 12);
    assert.throws(() => parseLimitFlag('0'));
    assert.throws(() => parseLimitFlag('1e3'));
  });
});
