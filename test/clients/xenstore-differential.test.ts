// Differential test: one seeded script of raw xenstore requests (shared/xenstore/wire.ts
// encoding, three dom0 connections) runs against Debian's C xenstored and against our
// XenstoredServer. Replies and watch events must match byte for byte, except for the
// differences listed in KNOWN_DIFFERENCES, each with its reason.

import { strict as assert } from 'node:assert';
import { type XenstoredUnderTest, skipUnlessRealXenstored, startOurXenstored, startRealXenstored } from '../helpers/real-xenstored';
import { type Step, differentialScript } from '../xenstore-real/differential-script';
import { watchScript } from '../xenstore-real/differential-watch-script';
import { type KnownDifference, compareTranscripts, formatMismatch, runScript } from '../xenstore-real/differential-runner';

const SEED = Number(process.env.XS_DIFF_SEED ?? 0x5eed_0f15);
const RANDOM_STEPS = Number(process.env.XS_DIFF_STEPS ?? 320);

/**
 * Accepted differences, one by one. Transaction ids are already normalised to script
 * slots by the runner (each daemon numbers them its own way), so they are not listed.
 */
const KNOWN_DIFFERENCES: KnownDifference[] = [
  {
    name: 'GET_DOMAIN_PATH domid parsing',
    reason:
      'C xenstored converts the domid with no validation ("abc" and "" give /local/domain/0, "-1" gives ' +
      '/local/domain/4294967295, reserved 32752 is accepted); ours answers EINVAL. No real client sends these.',
    matches: (label, ours) => label.includes('get_domain_path') && ours.reply.length === 1 && ours.reply[0]!.includes('"EINVAL\\u0000"'),
  },
  {
    name: 'permission domids above 65535',
    reason: 'C xenstored stores any unsigned domid in a perm (b70000); ours rejects domids that cannot exist with EINVAL.',
    matches: (label, ours) => label.includes('domids above 65535') && ours.reply[0]!.includes('"EINVAL\\u0000"'),
  },
  {
    name: 'WATCH depth',
    reason:
      'ours takes the optional third WATCH argument <depth> (docs/misc/xenstore.txt, XENSTORE_SERVER_FEATURE_WATCHDEPTH, ' +
      'Xen 4.18+); C xenstored 4.17 predates it and answers EINVAL.',
    matches: (label, ours, real) =>
      label.includes('with depth') && real.reply[0]!.includes('"EINVAL\\u0000"') && ours.reply[0]!.startsWith('XS_WATCH '),
  },
];

describe('xenstore differential: our XenstoredServer vs C xenstored 4.17', function () {
  this.timeout(30000);
  let real: XenstoredUnderTest | undefined;
  let ours: XenstoredUnderTest | undefined;

  before(async function () {
    skipUnlessRealXenstored(this);
    real = await startRealXenstored();
    ours = await startOurXenstored();
  });
  after(async () => {
    await real?.stop();
    await ours?.stop();
  });

  it(`gives identical replies and watch events over a ${RANDOM_STEPS}-step script`, async () => {
    await compare(real!, ours!, differentialScript(SEED, RANDOM_STEPS));
  });

  it('gives identical replies over 3 more seeds x 1000 steps (transactions racing live writers)', async () => {
    for (const seed of [1, 2, 3]) {
      const [r, o] = [await startRealXenstored(), await startOurXenstored()];
      try {
        await compare(r, o, differentialScript(seed, 1000));
      } finally {
        await r.stop();
        await o.stop();
      }
    }
  });

  it('gives identical replies and watch events around watches, transactions and malformed payloads', async () => {
    // Fresh daemons: the sequences assume an empty tree.
    const [r, o] = [await startRealXenstored(), await startOurXenstored()];
    try {
      await compare(r, o, watchScript());
    } finally {
      await r.stop();
      await o.stop();
    }
  });
});

async function compare(real: XenstoredUnderTest, ours: XenstoredUnderTest, steps: Step[]): Promise<void> {
  {
    const realRecords = await runScript(real.socketPath, steps);
    const ourRecords = await runScript(ours.socketPath, steps);
    const cmp = compareTranscripts(ourRecords, realRecords, KNOWN_DIFFERENCES);
    const messages = realRecords.reduce((n, r) => n + r.reply.length + r.events.reduce((m, e) => m + e.length, 0), 0);
    const accepted = [...cmp.accepted].map(([name, n]) => `${name}: ${n}`).join(', ') || 'none';
    console.log(
      `      compared ${cmp.compared} operations (${messages} messages from C xenstored): ` +
        `${cmp.identical} identical, accepted differences: ${accepted}, mismatches: ${cmp.mismatches.length}`,
    );
    if (cmp.mismatches.length > 0) {
      const shown = cmp.mismatches
        .slice(0, Number(process.env.XS_DIFF_SHOW ?? 12))
        .map(formatMismatch)
        .join('\n');
      assert.fail(
        `${cmp.mismatches.length} operations differ from C xenstored (first ${Math.min(Number(process.env.XS_DIFF_SHOW ?? 12), cmp.mismatches.length)}; XS_DIFF_SHOW=n shows more):\n${shown}`,
      );
    }
  }
}
