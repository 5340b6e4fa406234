// Encode worker threads shared by the sessions of one protocol in a process, generic over the
// job: the protocol names the module its workers load, which calls serveEncodeJobs()
// (encode-worker-host.ts; VNC's is vnc/encode-worker.ts). Session affinity: a session stays
// on the worker it was given, because its compression streams live there and its jobs must
// stay in order. QEMU runs one vnc-jobs thread for all clients (ui/vnc-jobs.c); we run up to
// ENCODE_MAX_WORKERS so two busy clients encode in parallel. A session goes to a worker with
// no session if there is one, else a new worker while under the limit, else the least-loaded
// one. A worker with no session left is terminated after ENCODE_WORKER_IDLE_MS (or
// XENVFB_ENCODE_WORKER_IDLE_MS), so churning connections (fuzzers, port scanners) do not pay
// a worker start-up (~0.3 s of CPU through ts-node and swc, ~0.1 s compiled: the encoders in
// a fresh isolate) each. A worker that crashes or exits fails every session on it
// (pooled-encoder.ts reports it as a typed error); the next session gets a fresh worker.

import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FromEncodeWorker, ToEncodeWorker } from './encode-jobs';

/** Most encode threads per process (and never more than the CPUs, but at least 2). */
export const ENCODE_MAX_WORKERS = 4;
/** An encode worker with no session left lives this long for the next one. */
export const ENCODE_WORKER_IDLE_MS = 2000;
/**
 * Environment: how long a worker with no session lives, in ms (0 to 3,600,000). A longer time
 * keeps a warm worker for viewers that reconnect often, at ~10 MB of RSS until it ends;
 * bench:peers' sessions use it so the runs of one server, interleaved with the peers', share
 * one warm worker.
 */
export const ENCODE_WORKER_IDLE_ENV = 'XENVFB_ENCODE_WORKER_IDLE_MS';
const MAX_IDLE_MS = 3_600_000;

/** The idle time from the environment; ENCODE_WORKER_IDLE_MS, with a warning, when it is not a valid one. */
export function encodeWorkerIdleMs(
  env: NodeJS.ProcessEnv = process.env,
  warn = (message: string): void => process.emitWarning(message),
): number {
  const v = env[ENCODE_WORKER_IDLE_ENV];
  if (v === undefined || v === '') return ENCODE_WORKER_IDLE_MS;
  const n = Number(v);
  if (/^\d+$/.test(v.trim()) && n <= MAX_IDLE_MS) return n;
  warn(
    `${ENCODE_WORKER_IDLE_ENV}=${JSON.stringify(v)} is not a whole number of ms from 0 to ${MAX_IDLE_MS}: using ${ENCODE_WORKER_IDLE_MS}`,
  );
  return ENCODE_WORKER_IDLE_MS;
}

/** One session's end of the pool. */
export interface PoolClient {
  message(m: FromEncodeWorker): void;
  /** The worker died: the session must close. */
  workerFailed(why: string, details: Record<string, unknown>): void;
}

export interface EncodePoolOptions {
  /** The worker entry module, without extension (it calls serveEncodeJobs()). */
  workerModule: string;
  /** Most threads (default: ENCODE_MAX_WORKERS, never more than the CPUs, at least 2). */
  maxWorkers?: number;
  /** How long a worker with no session lives (default: encodeWorkerIdleMs()). */
  idleMs?: number;
}

/**
 * Worker source. Under ts-node (tests, scripts/bin/xenvfb.js) the worker is a fresh isolate
 * without the require hook, so it registers ts-node (transpile only, swc) before loading the
 * .ts entry; compiled to .js it loads the entry directly.
 */
function workerSource(workerModule: string): string {
  const entry = `${workerModule}${path.extname(__filename)}`;
  if (path.extname(__filename) !== '.ts') return `require(${JSON.stringify(entry)});`;
  const project = path.join(__dirname, '..', '..', 'tsconfig.json');
  return [
    `require(${JSON.stringify(require.resolve('ts-node'))}).register({ transpileOnly: true, swc: true, project: ${JSON.stringify(project)} });`,
    `require(${JSON.stringify(entry)});`,
  ].join('\n');
}

class PoolWorker {
  readonly thread: Worker;
  readonly clients = new Map<number, PoolClient>();
  dead = false;
  idleTimer: NodeJS.Timeout | null = null;
  /** Resolves once the thread has loaded the encoders (or died). */
  readonly ready: Promise<void>;
  private markReady: () => void = () => undefined;

  constructor(private readonly pool: EncodePool) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.thread = new Worker(workerSource(pool.workerModule), { eval: true });
    // Sessions left open must not keep the process alive through their worker.
    this.thread.unref();
    this.thread.on('message', (m: FromEncodeWorker) => (m.type === 'ready' ? this.markReady() : this.clients.get(m.session)?.message(m)));
    this.thread.on('error', (err) => this.die(`encode worker crashed: ${err.message}`, { cause: err.message }));
    this.thread.on('exit', (code) => {
      this.pool.exited(this);
      this.die(`encode worker exited with code ${code}`, { exitCode: code });
    });
  }

  post(m: ToEncodeWorker, transfer: ArrayBuffer[] = []): void {
    if (!this.dead) this.thread.postMessage(m, transfer);
  }

  private die(why: string, details: Record<string, unknown>): void {
    if (this.dead) return;
    this.dead = true;
    this.markReady();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.pool.forget(this);
    const clients = [...this.clients.values()];
    this.clients.clear();
    for (const c of clients) c.workerFailed(why, details);
  }
}

export class EncodePool {
  private readonly workers: PoolWorker[] = [];
  private live = 0;
  /** Servers holding a warm worker (retain / release). */
  private holds = 0;
  private nextSession = 1;
  readonly maxWorkers: number;
  readonly workerModule: string;
  private readonly idleMs: number;

  constructor(opts: EncodePoolOptions) {
    this.workerModule = opts.workerModule;
    this.idleMs = opts.idleMs ?? encodeWorkerIdleMs();
    this.maxWorkers = opts.maxWorkers ?? Math.max(2, Math.min(ENCODE_MAX_WORKERS, availableParallelism()));
  }

  /** Threads started and not yet exited. */
  get liveWorkers(): number {
    return this.live;
  }

  /** Put a session on a worker; returns its id and a sender bound to that worker. */
  attach(client: PoolClient): { session: number; post: (m: ToEncodeWorker, transfer?: ArrayBuffer[]) => void; worker: PoolWorker } {
    const worker = this.pick();
    if (worker.idleTimer) {
      clearTimeout(worker.idleTimer);
      worker.idleTimer = null;
    }
    const session = this.nextSession++;
    worker.clients.set(session, client);
    return { session, worker, post: (m, transfer) => worker.post(m, transfer) };
  }

  /** The session ended: its encoders are dropped; an empty worker ends after the idle time. */
  detach(worker: PoolWorker, session: number): void {
    if (!worker.clients.delete(session) || worker.dead) return;
    worker.post({ type: 'close', session });
    this.idleLater(worker);
  }

  /**
   * A server starts serving: keep one worker started and warm until release(), so its first
   * client does not wait for a worker start-up. Resolves when that worker is ready.
   */
  retain(): Promise<void> {
    this.holds += 1;
    const w = this.workers[0] ?? this.spawn();
    if (w.idleTimer) {
      clearTimeout(w.idleTimer);
      w.idleTimer = null;
    }
    return w.ready;
  }

  release(): void {
    if (this.holds === 0) return;
    this.holds -= 1;
    for (const w of this.workers) this.idleLater(w);
  }

  private idleLater(worker: PoolWorker): void {
    if (worker.clients.size > 0 || worker.idleTimer || worker.dead) return;
    worker.idleTimer = setTimeout(() => {
      worker.idleTimer = null;
      if (worker.clients.size > 0 || this.keeps(worker)) return;
      // Out of the pool before terminate(): the thread takes a while to exit, and a session
      // attached to it meanwhile would lose its jobs and then fail with the exit.
      this.forget(worker);
      void worker.thread.terminate();
    }, this.idleMs);
    worker.idleTimer.unref();
  }

  /** The warm worker a retained pool keeps. */
  private keeps(worker: PoolWorker): boolean {
    return this.holds > 0 && this.workers[0] === worker;
  }

  private spawn(): PoolWorker {
    const w = new PoolWorker(this);
    this.live += 1;
    this.workers.push(w);
    return w;
  }

  /** Test hook: make a worker exit (every session on it fails). */
  crash(worker: PoolWorker): void {
    worker.post({ type: 'fault', session: 0, kind: 'exit' });
  }

  /** End every worker now (process shutdown, tests). */
  async shutdown(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.thread.terminate()));
  }

  /** @internal PoolWorker bookkeeping. */
  exited(_w: PoolWorker): void {
    this.live -= 1;
  }

  /** @internal A dead worker takes no new sessions. */
  forget(w: PoolWorker): void {
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
  }

  private pick(): PoolWorker {
    const empty = this.workers.find((w) => w.clients.size === 0);
    if (empty) return empty;
    if (this.workers.length < this.maxWorkers) return this.spawn();
    return this.workers.reduce((a, b) => (b.clients.size < a.clients.size ? b : a));
  }
}
