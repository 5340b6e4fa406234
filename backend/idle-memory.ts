// An idle backend gives its unused heap back once, when we know it went idle, instead of
// V8's memory reducer finding out on a timer.
//
// A backend runs per domain and spends most of its life with no one looking. V8's memory
// reducer shrinks an idle heap with a few incremental GCs paced by a timer, which wakes the
// process about twice a second for a minute or two after allocation stops: across 50 domains
// that was the one idle cost left (docs/benchmarks.md, bench:idle). So the launchers start
// backends with `--no-memory-reducer` (XENVFB_NODE_FLAGS, shared/node-flags.ts), and this
// does the reducer's work at the moments the backend knows about: IDLE_GIVE_BACK_MS after it
// started, after a device connected, and after the last viewer of the display left (the
// encode worker has ended by then: ENCODE_WORKER_IDLE_MS; one kept longer by
// XENVFB_ENCODE_WORKER_IDLE_MS takes its own heap with it when it ends). One synchronous
// LowMemoryNotification, then no timer until the next such moment.
// With the reducer on (node started without the flag) this does nothing: V8 does the work,
// and a full GC of ours would only start the reducer's timer again.

import type { Logger } from '../shared/log';
import { lowMemoryNotification } from '../native';
import { NO_MEMORY_REDUCER } from '../shared/node-flags';

/** Quiet time before the heap is given back: longer than the encode worker's idle end (2 s). */
export const IDLE_GIVE_BACK_MS = 5000;

/** What the watcher needs of the display: whether anyone is looking (GuestDisplay.watched). */
export interface WatchedDisplay {
  readonly watched: boolean;
}

export interface IdleMemoryOptions {
  log: Logger;
  /** Default: V8's LowMemoryNotification through the addon. */
  giveBack?: () => void;
  /** Default IDLE_GIVE_BACK_MS. */
  delayMs?: number;
  /** Default: node was started with NO_MEMORY_REDUCER and the addon has the call. */
  enabled?: boolean;
}

export function memoryReducerOff(execArgv: readonly string[] = process.execArgv): boolean {
  return execArgv.includes(NO_MEMORY_REDUCER);
}

export class IdleMemory {
  /** Heap give-backs done (tests, logs). */
  givenBack = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly giveBack: () => void;
  private readonly delayMs: number;
  readonly enabled: boolean;

  constructor(
    private readonly display: WatchedDisplay,
    private readonly opts: IdleMemoryOptions,
  ) {
    this.giveBack = opts.giveBack ?? (() => lowMemoryNotification?.());
    this.delayMs = opts.delayMs ?? IDLE_GIVE_BACK_MS;
    this.enabled = opts.enabled ?? (memoryReducerOff() && lowMemoryNotification !== null);
  }

  /**
   * Something that allocated has happened (start, a device connected, the last viewer left:
   * GuestDisplay's onUnwatched): give the heap back once things are quiet.
   */
  poke(): void {
    if (!this.enabled) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), this.delayMs);
    // Never what keeps a backend alive.
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private fire(): void {
    this.timer = null;
    // A viewer came back: its leaving pokes again.
    if (this.display.watched) return;
    const before = process.memoryUsage.rss();
    const t0 = process.hrtime.bigint();
    this.giveBack();
    this.givenBack++;
    this.opts.log.debug(
      {
        rssBeforeMB: +(before / 2 ** 20).toFixed(1),
        rssAfterMB: +(process.memoryUsage.rss() / 2 ** 20).toFixed(1),
        ms: +(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1),
      },
      'idle: unused heap given back',
    );
  }
}
