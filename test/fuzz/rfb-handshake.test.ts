// Fuzz (fast-check) of the RFB handshake and security stages: a session configured with every
// security type family (None, VNC auth, VeNCrypt TLS/X509 with VNC or Plain) is fed a valid
// handshake prefix, mutated, then random bytes, in random pieces. Whatever happens, the
// session closes only with a typed error or goes on; receive() never throws; an auth gate
// slot taken is given back when it closes. Plain fast-check (see rfb-client-messages.test.ts).

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { AuthThrottle } from '../../backend/auth/throttle';
import { isXenvfbError } from '../../shared/errors';
import { vncAuthResponse } from '../../backend/vnc/security/vnc-auth';
import { harness, patternSurface, TestDisplay } from '../unit/vnc/helpers';

const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
const CHALLENGE = Buffer.alloc(16, 7);

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** Valid client sides of handshakes, to mutate. */
const PREFIXES: Buffer[] = [
  Buffer.from('RFB 003.008\n\x01\x01', 'latin1'),
  Buffer.concat([Buffer.from('RFB 003.008\n\x02', 'latin1'), vncAuthResponse(Buffer.from('pw'), CHALLENGE), Buffer.of(1)]),
  Buffer.concat([Buffer.from('RFB 003.003\n', 'latin1'), vncAuthResponse(Buffer.from('pw'), CHALLENGE)]),
  Buffer.concat([Buffer.from('RFB 003.007\n\x13', 'latin1'), Buffer.of(0, 2), u32(258)]),
  Buffer.concat([Buffer.from('RFB 003.008\n\x13', 'latin1'), Buffer.of(0, 2), u32(256), u32(4), u32(2), Buffer.from('userpw')]),
];

const input = fc.tuple(
  fc.constantFrom(...PREFIXES),
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
  fc.uint8Array({ maxLength: 48 }),
  fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 6 }),
);

describe('fuzz: RFB handshake and security stages', function () {
  this.timeout(60000);

  it(`mutated handshakes end in a served session or a typed error (${RUNS} runs)`, () => {
    const codes = new Map<string, number>();
    const throttle = new AuthThrottle({ baseDelayMs: 0, maxDelayMs: 0 });
    fc.assert(
      fc.property(input, ([prefix, edits, tail, cuts]) => {
        const stream = Buffer.concat([prefix, tail]);
        for (const [at, v] of edits) stream[at % prefix.length] = v;
        let tlsStarted = 0;
        const h = harness(new TestDisplay(patternSurface(32, 16)), {
          security: { types: ['none', 'vnc', 'tlsvnc', 'tlsplain'], password: Buffer.from('pw'), users: new Map([['user', 'pw']]) },
          authGate: throttle.gate('198.51.100.7'),
          random: () => CHALLENGE,
          startTls: () => tlsStarted++,
        });
        let o = 0;
        let i = 0;
        while (o < stream.length && !h.session.closed) {
          const n = cuts[i++ % cuts.length]!;
          h.session.receive(stream.subarray(o, o + n));
          o += n;
        }
        const key = h.session.closed
          ? isXenvfbError(h.session.error)
            ? h.session.error.code
            : `untyped: ${h.session.closeReason}`
          : h.session.state;
        codes.set(key, (codes.get(key) ?? 0) + 1);
        assert.ok(!h.session.closed || isXenvfbError(h.session.error), `closed by ${h.session.closeReason}`);
        h.session.close('fuzz done');
      }),
      { numRuns: RUNS },
    );
    console.log(`      ends: ${[...codes].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    // Every session closed: no authentication is left in progress for the address.
    assert.equal(throttle.gate('198.51.100.7').begin(), true);
  });
});
