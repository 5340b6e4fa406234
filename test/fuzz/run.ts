// The long fuzz run: `npm run fuzz -- [--minutes N] [--target NAME] [--save] [--seed S]`.
// For each target (or the one named), N minutes (default 1) of coverage-guided mutation:
// inputs come from the target's corpus, are mutated (harness/mutate.ts), and an input that
// runs a block of the target's files no earlier input ran joins the corpus (written to
// test/fuzz/corpus/<name>/ with --save). Prints executions, exec/s, blocks covered and
// findings per target; a finding (an error the target does not expect) is written to
// fuzz-findings/<name>/ and makes the exit code 1.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlockCoverage, CoverageMap } from './harness/coverage';
import { mutate, prng, randomInput } from './harness/mutate';
import { corpusDir, loadCorpus, loadTargets } from './harness/registry';
import { runOne, type FuzzTarget } from './harness/target';

interface Args {
  minutes: number;
  target: string | undefined;
  save: boolean;
  seed: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { minutes: 1, target: undefined, save: false, seed: Date.now() >>> 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--minutes') args.minutes = Number(value());
    else if (a === '--target') args.target = value();
    else if (a === '--seed') args.seed = Number(value()) >>> 0;
    else if (a === '--save') args.save = true;
    else usage(`unknown argument ${a}`);
  }
  if (!(args.minutes > 0)) usage('--minutes must be a positive number');
  return args;
}

function usage(why: string): never {
  process.stderr.write(
    `npm run fuzz: ${why}\n` +
      'usage: npm run fuzz -- [--minutes N] [--target NAME] [--save] [--seed S]\n' +
      '  --minutes N   minutes per target (default 1)\n' +
      '  --target NAME only this target (names: npm run fuzz -- --list)\n' +
      '  --save        add the inputs that found new code to test/fuzz/corpus/<name>/\n' +
      '  --seed S      PRNG seed (default: the clock; printed, so a run can be repeated)\n',
  );
  process.exit(2);
}

/** Inputs run between two coverage takes. */
const BATCH = 256;

const hash = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex').slice(0, 16);

async function fuzz(target: FuzzTarget, args: Args, cov: BlockCoverage): Promise<boolean> {
  const r = prng(args.seed);
  const maxLength = target.maxLength ?? 4096;
  const corpus = loadCorpus(target);
  const seen = new CoverageMap();
  const isFresh = (taken: Map<string, Uint8Array>): boolean => seen.isFresh(taken);
  const keep = (input: Uint8Array, taken: Map<string, Uint8Array>): void => {
    seen.add(taken);
    corpus.push(input);
    if (args.save) {
      fs.mkdirSync(corpusDir(target), { recursive: true });
      fs.writeFileSync(path.join(corpusDir(target), hash(input)), input);
    }
  };
  /** Find the inputs of a batch that ran new blocks by halving it (a take per half). */
  const attribute = async (inputs: Uint8Array[]): Promise<void> => {
    for (const half of inputs.length === 1 ? [inputs] : [inputs.slice(0, inputs.length >> 1), inputs.slice(inputs.length >> 1)]) {
      for (const input of half) runOne(target, input);
      const keys = await cov.take(target.covers);
      if (!isFresh(keys)) continue;
      if (half.length === 1) keep(half[0]!, keys);
      else await attribute(half);
    }
  };
  let findings = 0;
  const finding = (input: Uint8Array, err: Error): void => {
    findings++;
    const dir = path.join(process.cwd(), 'fuzz-findings', target.name);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, hash(input));
    fs.writeFileSync(file, input);
    if (findings <= 3) console.log(`  FINDING ${target.name}: ${err.stack?.split('\n').slice(0, 3).join(' | ')}\n    input: ${file}`);
  };
  await cov.take(target.covers);
  for (const input of corpus) {
    const err = runOne(target, input);
    if (err) finding(input, err);
  }
  seen.add(await cov.take(target.covers));
  const start = seen.percent();
  const t0 = performance.now();
  const deadline = t0 + args.minutes * 60_000;
  let execs = 0;
  // Coverage is taken per batch (a take walks every script V8 knows, which costs far more
  // than one input); a batch that ran new blocks is halved until the inputs that did are found.
  while (performance.now() < deadline) {
    const batch: Uint8Array[] = [];
    for (let i = 0; i < BATCH; i++) {
      const input =
        corpus.length === 0 || r() < 0.1
          ? randomInput(r, maxLength)
          : mutate(corpus[Math.floor(r() * corpus.length)]!, r, maxLength, corpus);
      const err = runOne(target, input);
      if (err) finding(input, err);
      batch.push(input);
    }
    execs += batch.length;
    if (isFresh(await cov.take(target.covers))) await attribute(batch);
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `${target.name.padEnd(18)} ${String(execs).padStart(9)} execs  ${String(Math.round(execs / secs)).padStart(6)}/s  ` +
      `coverage ${start.toFixed(1)}% -> ${seen.percent().toFixed(1)}% of the target's files  corpus ${corpus.length}  findings ${findings}`,
  );
  return findings === 0;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const targets = loadTargets();
  if (argv.includes('--list')) {
    for (const t of targets) console.log(`${t.name.padEnd(18)} ${t.description}`);
    return;
  }
  const args = parseArgs(argv);
  const chosen = args.target ? targets.filter((t) => t.name === args.target) : targets;
  if (chosen.length === 0) usage(`no target named ${args.target} (have: ${targets.map((t) => t.name).join(', ')})`);
  console.log(`fuzz: ${chosen.length} target(s), ${args.minutes} min each, seed ${args.seed}`);
  const cov = new BlockCoverage();
  await cov.start();
  let clean = true;
  for (const t of chosen) clean = (await fuzz(t, args, cov)) && clean;
  cov.stop();
  process.exitCode = clean ? 0 : 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`npm run fuzz: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
