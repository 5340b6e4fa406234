// xenstore micro-benchmark: our XsClient against our XenstoredServer (in this process)
// and against Debian's C xenstored (xen-utils-4.17 under the fakexen.so shim, see
// scripts/fetch-xen-utils.sh), printed side by side.
//
//   npm run bench:xenstore [-- --ops 3000 --watchers 50]

import { XsClient } from '../../shared/xenstore/client';
import {
  type XenstoredUnderTest,
  realXenstoredUnavailable,
  retryConnect,
  startOurXenstored,
  startRealXenstored,
} from '../../test/helpers/real-xenstored';

interface Options {
  ops: number;
  watchers: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { ops: 3000, watchers: 50 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--ops') opts.ops = Number(argv[++i]);
    else if (argv[i] === '--watchers') opts.watchers = Number(argv[++i]);
  }
  return opts;
}

type Row = Record<string, number>;

async function timed(count: number, fn: (i: number) => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await fn(i);
  return count / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** ops/s of each workload; every request waits for its reply (no pipelining). */
async function measure(d: XenstoredUnderTest, o: Options): Promise<Row> {
  const connect = (): Promise<XsClient> => retryConnect(() => XsClient.connect({ path: d.socketPath, timeoutMs: 10000 }));
  const xs = await connect();
  await xs.rm('/bench');
  await xs.write('/bench/value', 'x'.repeat(64));
  const row: Row = {};
  row['read'] = await timed(o.ops, async () => void (await xs.read('/bench/value')));
  row['write'] = await timed(o.ops, async (i) => xs.write(`/bench/w${i % 64}`, String(i)));

  // Fan-out: one write, then wait until every watcher connection has its event.
  const watchers: XsClient[] = [];
  for (let i = 0; i < o.watchers; i++) watchers.push(await connect());
  let pending = 0;
  let done: (() => void) | undefined;
  for (const w of watchers) {
    const watch = await w.watch('/bench/fan', 'fan');
    await watch[Symbol.asyncIterator]().next(); // the registration event (may precede this line)
    watch.on('event', () => {
      if (--pending === 0) done?.();
    });
  }
  const rounds = Math.max(10, Math.floor(o.ops / o.watchers));
  const writesPerSec = await timed(rounds, async (i) => {
    const all = new Promise<void>((r) => (done = r));
    pending = o.watchers;
    await xs.write('/bench/fan', String(i));
    await all;
  });
  row[`watch fan-out (${o.watchers} watchers): writes`] = writesPerSec;
  row[`watch fan-out (${o.watchers} watchers): events`] = writesPerSec * o.watchers;
  for (const w of watchers) w.close();

  row['transaction (read + write + commit)'] = await timed(Math.floor(o.ops / 4), async (i) =>
    xs.transaction(async (tx) => {
      const v = await tx.read('/bench/value');
      await tx.write(`/bench/t${i % 16}`, v.slice(0, 8));
    }),
  );
  await xs.rm('/bench');
  xs.close();
  return row;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const ours = await startOurXenstored();
  const oursRow = await measure(ours, o).finally(() => ours.stop());

  let realRow: Row | undefined;
  const reason = realXenstoredUnavailable();
  if (!reason) {
    const real = await startRealXenstored();
    realRow = await measure(real, o).finally(() => real.stop());
  }

  const fmt = (n: number | undefined): string => (n === undefined ? 'n/a' : Math.round(n).toLocaleString('en-US'));
  const names = Object.keys(oursRow);
  const width = Math.max(...names.map((n) => n.length), 'ops/s'.length);
  console.log(`xenstore bench: ${o.ops} ops per workload, sequential requests over a unix socket, Node ${process.version}`);
  console.log(`${'ops/s'.padEnd(width)}  ${'ours (in-process)'.padStart(18)}  ${'C xenstored 4.17'.padStart(18)}`);
  for (const n of names) console.log(`${n.padEnd(width)}  ${fmt(oursRow[n]).padStart(18)}  ${fmt(realRow?.[n]).padStart(18)}`);
  if (reason) console.log(`(C xenstored column skipped: ${reason})`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
