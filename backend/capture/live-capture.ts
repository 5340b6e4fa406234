// The capture of a running backend: at most one recorder at a time, started and stopped while
// the domain is served (`--capture` at start, or `xenvfb capture --domid N` through the control
// socket). It owns what a recorder needs from the backend: the client input (tapped only while
// recording) and the displayed framebuffer's tile scans (subscribed only while recording, so
// an idle scan monitor stays off).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Display } from '../display/display';
import type { InputSink } from '../input/input-sink';
import type { ScanMonitor } from '../damage/scan-monitor';
import { xerror } from '../../shared/errors';
import { type Logger, silentLogger } from '../../shared/log';
import type { CaptureRecorder } from './recorder';

export interface CaptureStartOptions {
  /** Absolute path of the capture file (FILE.N beside it when FILE exists). */
  path: string;
  /** Stop once the file is this many bytes. */
  maxBytes?: number;
  /** Stop after this many ms (a bound for a capture whose starter may die). */
  maxMs?: number;
}

/** What `capture-status` (and `status`) answer about the current or last capture. */
export interface CaptureStatus {
  path: string;
  recording: boolean;
  /** Wall clock at the start, ISO 8601. */
  started: string;
  records: number;
  bytes: number;
  frames: number;
  keyframes: number;
  /** Capture time of the last record, ms. */
  durationMs: number;
  maxBytes: number | null;
  maxMs: number | null;
  /** Why it stopped (null while recording): 'closed', 'duration', 'size limit', 'write error'. */
  stoppedBecause: string | null;
}

export class LiveCapture {
  private recorder: CaptureRecorder | null = null;
  private info: { started: string; maxBytes: number | null; maxMs: number | null } | null = null;
  private monitor: ScanMonitor | null = null;
  private unsubscribe: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stoppedByTimer = false;

  constructor(
    private readonly display: Display,
    private readonly meta: Record<string, unknown>,
    private readonly log: Logger = silentLogger,
  ) {}

  /** True while a recorder writes. */
  get recording(): boolean {
    return this.recorder?.recording === true;
  }

  /** `next` with every event recorded first while a capture runs. */
  tapInput(next: InputSink): InputSink {
    const live = (): InputSink => (this.recorder?.recording ? this.recorder.tapInput(next) : next);
    return {
      key: (code, pressed) => live().key(code, pressed),
      button: (code, pressed) => live().button(code, pressed),
      pointerAbs: (x, y, width, height) => live().pointerAbs(x, y, width, height),
      pointerRel: (dx, dy) => live().pointerRel(dx, dy),
      wheel: (vertical, horizontal) => live().wheel(vertical, horizontal),
    };
  }

  /** The displayed framebuffer's scan monitor (a vfb connected); its scans are recorded from now on. */
  watchScans(monitor: ScanMonitor): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.monitor = monitor;
    this.subscribe();
  }

  /**
   * Start recording. CAP_E_BUSY when a capture runs (one file at a time); CAP_E_WRITE when
   * the file cannot be created (the message has the OS reason).
   */
  start(opts: CaptureStartOptions): CaptureStatus {
    if (this.recording) {
      throw xerror(
        'CAP_E_BUSY',
        `a capture is already running to ${this.recorder!.path}: stop it first (xenvfb capture --domid N --stop, or Ctrl-C on the xenvfb capture that started it)`,
        { path: this.recorder!.path },
      );
    }
    if (!path.isAbsolute(opts.path)) throw xerror('CTL_E_REQUEST', `capture path must be absolute, got ${JSON.stringify(opts.path)}`);
    this.close();
    let rec: CaptureRecorder;
    if (fs.statSync(opts.path, { throwIfNoEntry: false })?.isDirectory()) {
      throw xerror('CAP_E_WRITE', `cannot write the capture file ${opts.path}: it is a directory (name a file in it)`, { path: opts.path });
    }
    try {
      fs.accessSync(path.dirname(opts.path), fs.constants.W_OK);
      // Loaded at the first capture: an idle backend does not hold the recorder's code.
      const { CaptureRecorder } = require('./recorder') as typeof import('./recorder');
      rec = new CaptureRecorder(this.display, opts.path, {
        ...(opts.maxBytes ? { maxBytes: opts.maxBytes } : {}),
        meta: this.meta,
        log: this.log.child({ capture: opts.path }),
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw xerror(
        'CAP_E_WRITE',
        `cannot write the capture file ${opts.path}: ${err.message} (pick a directory the backend can write to)`,
        {
          path: opts.path,
          errno: err.code,
        },
      );
    }
    this.recorder = rec;
    this.info = { started: new Date().toISOString(), maxBytes: opts.maxBytes ?? null, maxMs: opts.maxMs ?? null };
    this.stoppedByTimer = false;
    this.subscribe();
    if (opts.maxMs) {
      this.timer = setTimeout(() => {
        this.stoppedByTimer = true;
        this.stop();
      }, opts.maxMs);
      this.timer.unref();
    }
    this.log.info({ capture: rec.path }, 'recording the display to a capture file');
    return this.status()!;
  }

  /** Stop the capture (index and END written); its final status, or null when none ever ran. */
  stop(): CaptureStatus | null {
    this.close();
    return this.status();
  }

  /** The running capture, or the last one, or null. */
  status(): CaptureStatus | null {
    const rec = this.recorder;
    if (!rec || !this.info) return null;
    const s = rec.stats;
    const because = rec.stoppedBecause === 'closed' && this.stoppedByTimer ? 'duration' : rec.stoppedBecause;
    return {
      path: rec.path,
      recording: rec.recording,
      started: this.info.started,
      records: s.records,
      bytes: s.bytes,
      frames: s.frames,
      keyframes: s.keyframes,
      durationMs: s.durationMs,
      maxBytes: this.info.maxBytes,
      maxMs: this.info.maxMs,
      stoppedBecause: because,
    };
  }

  private subscribe(): void {
    const rec = this.recorder;
    if (!rec?.recording || !this.monitor || this.unsubscribe) return;
    this.unsubscribe = this.monitor.subscribe((report) => {
      if (rec.recording) rec.recordScan(report);
      else this.unsubscribeScans();
    });
  }

  private unsubscribeScans(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.unsubscribeScans();
    this.recorder?.close();
  }
}
