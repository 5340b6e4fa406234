// Fuzz (fast-check) of the RFB client-message parser and of a serving session fed random
// bytes in random pieces: every input ends in a message, "need more bytes", or a typed error
// (XenvfbError with a code); the session never fails internally and never throws out of
// receive(). Plain fast-check: the shared coverage-guided harness (test/fuzz/ registry) had
// not landed when this was written.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { isXenvfbError } from '../../shared/errors';
import { parseClientMessage } from '../../backend/vnc/client-messages';
import { connected, fur, patternSurface, setEncodings, TestDisplay } from '../unit/vnc/helpers';

const RUNS = Number(process.env.FUZZ_RUNS ?? 400);

/** Valid client messages of every type the server takes, to mutate. */
const SEEDS: Buffer[] = [
  Buffer.from([0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]),
  setEncodings([16, 7, -258, -308, -312, -313, 5, 0]),
  fur(false, 0, 0, 64, 32),
  fur(true, 3, 4, 10, 10),
  Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]),
  Buffer.from([5, 1, 0, 10, 0, 10]),
  Buffer.from([6, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x62, 0x63]),
  Buffer.from([150, 1, 0, 0, 0, 0, 0, 64, 0, 32]),
  Buffer.from([248, 0, 0, 0, 0x80, 0, 0, 0, 4, 1, 2, 3, 4]),
  Buffer.from([251, 0, 0, 64, 0, 32, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 64, 0, 32, 0, 0, 0, 0]),
  Buffer.from([255, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 30]),
];

/** A seed with a few bytes overwritten, or cut, or random bytes. */
const message = fc.oneof(
  fc
    .tuple(fc.constantFrom(...SEEDS), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat())
    .map(([seed, edits, cut]) => {
      const m = Buffer.from(seed);
      for (const [at, v] of edits) m[at % m.length] = v;
      return m.subarray(0, cut % 3 === 0 ? 1 + (cut % m.length) : m.length);
    }),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((a) => Buffer.from(a)),
);

function outcome(bytes: Buffer): 'message' | 'more' | string {
  try {
    const r = parseClientMessage(bytes);
    if (!r) return 'more';
    assert.ok(r.size > 0 && r.size <= bytes.length, `size ${r.size} of ${bytes.length}`);
    return 'message';
  } catch (e) {
    assert.ok(isXenvfbError(e), `untyped error: ${String(e)}`);
    return (e as { code: string }).code;
  }
}

describe('fuzz: RFB client messages', function () {
  this.timeout(60000);

  it(`parseClientMessage: a message, need-more or a typed error (${RUNS} runs)`, () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(message, (m) => {
        const o = outcome(m);
        seen.set(o, (seen.get(o) ?? 0) + 1);
      }),
      { numRuns: RUNS * 5 },
    );
    console.log(`      outcomes: ${[...seen].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    assert.ok(seen.has('message') && seen.has('more') && seen.size >= 3, 'the fuzz reached all three outcomes');
  });

  it(`a serving session fed random messages in random pieces closes only with typed errors (${RUNS} runs)`, () => {
    let closedTyped = 0;
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }),
        (msgs, cuts) => {
          const h = connected(new TestDisplay(patternSurface(64, 32)));
          const stream = Buffer.concat(msgs);
          let o = 0;
          let i = 0;
          while (o < stream.length && !h.session.closed) {
            const n = cuts[i++ % cuts.length]!;
            h.session.receive(stream.subarray(o, o + n));
            o += n;
          }
          if (h.session.closed) {
            assert.ok(isXenvfbError(h.session.error), `closed by ${h.session.closeReason}`);
            closedTyped++;
          }
          h.session.close('fuzz done');
        },
      ),
      { numRuns: RUNS },
    );
    console.log(`      ${closedTyped} of ${RUNS} sessions closed with a typed error, the rest still serving`);
  });
});
