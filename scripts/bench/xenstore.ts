// xenstore micro-benchmark: our xenstored against Debian's C xenstored (xen-utils-4.17
// under the fakexen.so shim, see scripts/fetch-xen-utils.sh), printed side by side.
//
// Like with like: each daemon runs in its own process (ours is `xenvfb xenstored`, the
// same code the simulator hosts), listens on a unix socket in a temp directory, and is
// driven by the same client (XsClient) from this process. Rounds are interleaved (ours,
// C, ours, C, ...) and the median of each workload is printed, with the ratio.
// Each daemon runs every workload twice: the first pass meets a freshly started daemon
// (V8 still growing its heap: ~2,900 page faults in ours over the first 8,000
// transactions, none after), the second is the steady state a daemon that runs for days
// is in. Both are printed; the steady pass first.
//
//   npm run bench:xenstore [-- --ops 10000 --watchers 50 --rounds 3]
//   XS_BENCH_PROF=<dir>: our daemon runs with --cpu-prof, profiles written to <dir>.

import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { XsClient } from '../../shared/xenstore/client';
import { type XenstoredUnderTest, realXenstoredUnavailable, retryConnect, startRealXenstored } from '../../test/helpers/real-xenstored';

interface Options {
  ops: number;
  watchers: number;
  rounds: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { ops: 10000, watchers: 50, rounds: 3 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--ops') opts.ops = Number(argv[++i]);
    else if (argv[i] === '--watchers') opts.watchers = Number(argv[++i]);
    else if (argv[i] === '--rounds') opts.rounds = Number(argv[++i]);
  }
  return opts;
}

/** Per workload: ops/s (wall clock) and the daemon's CPU microseconds per op. */
type Row = Record<string, { rate: number; cpuUs: number }>;

const REPO = path.resolve(__dirname, '..', '..');

type Daemon = XenstoredUnderTest & { pid: number };

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

/** `xenvfb xenstored --socket <tmp>/socket` in its own process, as a host would run it. */
async function startOurDaemon(): Promise<Daemon> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-bench-xs-'));
  const socketPath = path.join(dir, 'socket');
  const prof = process.env.XS_BENCH_PROF;
  const args = [...(prof ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(prof)] : []), path.join(REPO, 'scripts', 'bin', 'xenvfb.js')];
  const child: ChildProcess = spawn(process.execPath, [...args, 'xenstored', '--socket', socketPath], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`xenvfb xenstored exited with ${code}`)));
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes(socketPath)) resolve();
    });
  });
  return {
    name: 'ours',
    pid: child.pid!,
    socketPath,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function timed(count: number, fn: (i: number) => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await fn(i);
  return count / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** Each workload; every request waits for its reply (no pipelining). */
async function measure(d: Daemon, o: Options): Promise<{ first: Row; steady: Row }> {
  const connect = (): Promise<XsClient> => retryConnect(() => XsClient.connect({ path: d.socketPath, timeoutMs: 10000 }));
  const xs = await connect();
  await xs.rm('/bench');
  await xs.write('/bench/value', 'x'.repeat(64));
  // Warm-up (not measured): lets both the daemon and this client's JIT settle, so no
  // daemon pays for the client's first thousand requests.
  // Every request shape measured below is warmed up, transactions too: a JIT compiling the
  // transaction path during the measured rounds is not what it costs later (C has nothing
  // to compile).
  const transaction = (i: number): Promise<void> =>
    xs.transaction(async (tx) => {
      const v = await tx.read('/bench/value');
      await tx.write(`/bench/t${i % 16}`, v.slice(0, 8));
    });
  await timed(WARMUP_OPS, async (i) => {
    await xs.read('/bench/value');
    await xs.write(`/bench/w${i % 64}`, String(i));
    if (i % 4 === 0) await transaction(i);
  });
  const pass = async (): Promise<Row> => {
    const row: Row = {};
    /** Runs `count` ops of `fn`, recording ops/s and the daemon's CPU per op (x `per` units). */
    const workload = async (name: string, count: number, fn: (i: number) => Promise<void>, per = 1): Promise<void> => {
      const cpu0 = cpuSeconds(d.pid);
      const rate = await timed(count, fn);
      row[name] = { rate: rate * per, cpuUs: ((cpuSeconds(d.pid) - cpu0) * 1e6) / (count * per) };
    };
    await workload('read', o.ops, async () => void (await xs.read('/bench/value')));
    await workload('write', o.ops, async (i) => xs.write(`/bench/w${i % 64}`, String(i)));
    await workload('transaction (read + write + commit)', Math.floor(o.ops / 4), transaction);
    // Fan-out: one write, then wait until every watcher connection has its event. The
    // watchers connect only now: with 50 idle connections open, C xenstored (poll() over
    // every connection per request) spent 37 us per read in one run here, against 24-25
    // without them, and ours ~20.
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
    const fanOut = async (i: number): Promise<void> => {
      const all = new Promise<void>((r) => (done = r));
      pending = o.watchers;
      await xs.write('/bench/fan', String(i));
      await all;
    };
    await timed(Math.ceil(rounds / 4), fanOut); // warm-up, as above
    await workload(`watch fan-out (${o.watchers} watchers): events`, rounds, fanOut, o.watchers);
    for (const w of watchers) w.close();
    return row;
  };
  const first = await pass();
  const steady = await pass();

  await xs.rm('/bench');
  xs.close();
  return { first, steady };
}

const WARMUP_OPS = 2000;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const reason = realXenstoredUnavailable();
  const ours: Array<{ first: Row; steady: Row }> = [];
  const real: Array<{ first: Row; steady: Row }> = [];
  const runOurs = async (): Promise<void> => {
    const d = await startOurDaemon();
    ours.push(await measure(d, o).finally(() => d.stop()));
  };
  const runReal = async (): Promise<void> => {
    if (reason) return;
    const c = await startRealXenstored();
    real.push(await measure(c, o).finally(() => c.stop()));
  };
  // Interleaved, and each daemon goes first in every other round.
  for (let r = 0; r < o.rounds; r++) {
    if (r % 2 === 0) await runOurs().then(runReal);
    else await runReal().then(runOurs);
  }

  const fmt = (n: number | undefined, digits = 0): string =>
    n === undefined ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const names = Object.keys(ours[0]!.steady);
  const width = Math.max(...names.map((n) => n.length), 'workload'.length);
  console.log(
    `xenstore bench: ${o.ops} ops per workload, sequential requests from one XsClient over unix sockets, ` +
      `each daemon in its own process; warm-up: ${WARMUP_OPS} reads and writes, ${WARMUP_OPS / 4} transactions, a quarter of the fan-out rounds; ` +
      `then every workload twice (first pass, steady pass); median of ${o.rounds} interleaved rounds; Node ${process.version}`,
  );
  const table = (title: string, pick: (r: { first: Row; steady: Row }) => Row): void => {
    console.log(title);
    console.log(
      `${'workload'.padEnd(width)}  ${'ours ops/s'.padStart(11)}  ${'C ops/s'.padStart(11)}  ${'ours/C'.padStart(7)}` +
        `  ${'ours CPU us/op'.padStart(14)}  ${'C CPU us/op'.padStart(12)}`,
    );
    for (const n of names) {
      const a = median(ours.map((r) => pick(r)[n]!.rate));
      const b = real.length ? median(real.map((r) => pick(r)[n]!.rate)) : undefined;
      const ca = median(ours.map((r) => pick(r)[n]!.cpuUs));
      const cb = real.length ? median(real.map((r) => pick(r)[n]!.cpuUs)) : undefined;
      const ratio = b === undefined ? 'n/a' : `${(a / b).toFixed(2)}x`;
      console.log(
        `${n.padEnd(width)}  ${fmt(a).padStart(11)}  ${fmt(b).padStart(11)}  ${ratio.padStart(7)}  ${fmt(ca, 1).padStart(14)}  ${fmt(cb, 1).padStart(12)}`,
      );
    }
  };
  table('steady (second pass: the daemons have run every workload once)', (r) => r.steady);
  table('first pass (a daemon just started: ours still growing its heap)', (r) => r.first);
  console.log('ops/s is wall-clock throughput (shared, loaded hosts make it noisy); CPU us/op is what the daemon itself spent.');
  if (reason) console.log(`(C xenstored column skipped: ${reason})`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
