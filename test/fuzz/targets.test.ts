// The short fuzz run of `npm test`: every target registered in test/fuzz/targets/ gets its
// corpus, then random inputs and mutations of the corpus from fast-check (which shrinks a
// failure to a small input and prints the seed to replay it). The long, coverage-guided
// run is `npm run fuzz` (test/fuzz/run.ts).

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { mutate, prng } from './harness/mutate';
import { loadCorpus, loadTargets } from './harness/registry';
import { runOne } from './harness/target';

/** Runs per generator per target: a few seconds for all targets together. */
const RUNS = 300;

describe('fuzz targets (short run; `npm run fuzz` for the long one)', function () {
  this.timeout(60000);
  const targets = loadTargets();

  it('registers the guest-facing parsers', () => {
    const names = targets.map((t) => t.name);
    for (const n of ['fbif-out-event', 'fbif-page', 'fbif-out-ring', 'kbdif-in-event', 'kbdif-rings', 'dirty-tile-page']) {
      assert.ok(names.includes(n), `${n} registered`);
    }
  });

  it('registers the network-facing parsers', () => {
    const names = targets.map((t) => t.name);
    for (const n of [
      'rfb-client-message',
      'rfb-session',
      'rfb-handshake',
      'websocket-gateway-head',
      'spice-link',
      'spice-channel-stream',
    ]) {
      assert.ok(names.includes(n), `${n} registered`);
    }
  });

  it('registers the xenstore and file parsers', () => {
    const names = targets.map((t) => t.name);
    for (const n of ['xenstore-parser', 'xenstore-requests', 'capture-stream', 'capture-payload', 'capture-file', 'rfb-server-stream']) {
      assert.ok(names.includes(n), `${n} registered`);
    }
  });

  for (const target of targets) {
    describe(target.name, () => {
      const corpus = loadCorpus(target);
      const maxLength = target.maxLength ?? 4096;

      it('has a corpus, and every corpus input ends in a result or an expected error', () => {
        assert.ok(corpus.length > 0, `test/fuzz/corpus/${target.name}/ or seeds() gives at least one input`);
        for (const input of corpus) assert.equal(runOne(target, input), null);
      });

      it(`${RUNS} random inputs up to ${maxLength} bytes`, () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength }), (input) => runOne(target, input) === null),
          { numRuns: RUNS, seed: 0x5eed },
        );
      });

      it(`${RUNS} mutations of the corpus`, () => {
        fc.assert(
          fc.property(fc.nat(), fc.nat({ max: corpus.length - 1 }), (seed, i) => {
            const input = mutate(corpus[i]!, prng(seed), maxLength, corpus);
            const err = runOne(target, input);
            if (err) throw new Error(`${err.message} on input ${Buffer.from(input).toString('hex').slice(0, 200)}`);
          }),
          { numRuns: RUNS, seed: 0x5eed },
        );
      });
    });
  }
});
