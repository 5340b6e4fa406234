// A Display fed from a capture file: every server (VNC, web, SPICE) serves a recording
// exactly as it serves a live guest. It seeks to the start time through the keyframe index,
// then plays the records on timers at the chosen speed, emitting 'resize', 'damage', 'copy'
// and 'cursor' as a GuestDisplay would. Like a GuestDisplay with refinement on, it serves a
// shadow copy of the picture (shadow.ts) and reports only what really changed: a recording's
// damage often repeats pixels (an RFB server sends what was drawn, not what differs; rfbproxy's
// windows recording re-sends about half of its 13 MB unchanged), and a scroll recorded as
// pixels goes out as CopyRect. Copies in the recording go out as copies. Client input goes
// nowhere: a recording cannot react.

import { EventEmitter } from 'node:events';
import type { CaptureRecord, Geometry } from '../../shared/capture/format';
import { FrameState, sameGeometry } from '../../shared/capture/frame-state';
import { isXenvfbError } from '../../shared/errors';
import { type Logger, silentLogger } from '../../shared/log';
import type { CursorState, Display, DisplayEvents, Surface } from '../display/display';
import type { InputSink } from '../input/input-sink';
import type { CaptureFile } from './capture-file';
import type { Rect } from '../../shared/region';
import { ShadowFramebuffer } from '../display/shadow';

export interface ReplayOptions {
  /** Playback speed: 1 real time, 2 twice as fast (> 0). */
  speed?: number;
  /** Start over from `startMs` at the end. */
  loop?: boolean;
  /** Where to start, ms into the capture. */
  startMs?: number;
  /** Show the start frame and do not play (resume()). */
  paused?: boolean;
  /** Called when playback reaches the end (never with loop). */
  onEnd?: () => void;
  log?: Logger;
}

/** Largest playback speed (and smallest, 1/MAX). */
export const REPLAY_MAX_SPEED = 1000;

/** Input from clients of a replay: dropped. */
export const REPLAY_INPUT: InputSink = {
  key: () => undefined,
  button: () => undefined,
  pointerAbs: () => undefined,
  pointerRel: () => undefined,
  wheel: () => undefined,
};

export class ReplayDisplay extends EventEmitter<DisplayEvents> implements Display {
  private state = new FrameState();
  /** What clients are served: the shadow of the state's pixels (null without a picture). */
  private shadow: ShadowFramebuffer | null = null;
  private view: Surface | null = null;
  private pointer: CursorState = { shape: null, x: 0, y: 0, visible: true };
  private iter: Iterator<{ record: unknown; offset: number }> | null = null;
  private nextRecord: CaptureRecord | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Capture time shown now, and the wall clock (ms) at which capture time `baseMs` was shown. */
  positionMs = 0;
  private baseMs = 0;
  private baseWall = 0;
  private speed: number;
  private paused: boolean;
  private readonly log: Logger;
  /** Set when playback reached the end (and does not loop). */
  ended = false;

  constructor(
    private readonly file: CaptureFile,
    readonly name: string,
    private readonly opts: ReplayOptions = {},
  ) {
    super();
    this.setMaxListeners(0);
    this.speed = clampSpeed(opts.speed ?? 1);
    this.paused = opts.paused === true;
    this.log = opts.log ?? silentLogger;
    this.seek(opts.startMs ?? 0);
  }

  surface(): Surface | null {
    return this.view;
  }

  cursor(): CursorState {
    return { ...this.pointer };
  }

  /** Show the picture at timeMs and play on from there (unless paused). */
  seek(timeMs: number): void {
    this.stopTimer();
    const t = Math.max(0, Math.min(timeMs, this.file.durationMs));
    const { state, next } = this.file.frameAt(t);
    const g = this.state.geometry;
    if (g && state.geometry && sameGeometry(g, state.geometry) && this.view) {
      // Same surface: listeners keep the Surface they have; what changed is reported.
      this.state.pixels.set(state.pixels);
      this.report([{ x: 0, y: 0, width: g.width, height: g.height }]);
    } else {
      this.state = state;
      this.publishSurface();
    }
    this.positionMs = t;
    this.ended = false;
    // Transient: every record is played (its pixels copied into the state) before the next is read.
    this.iter = this.file.records(next, undefined, { transient: true })[Symbol.iterator]();
    this.nextRecord = null;
    this.rebase();
    this.schedule();
  }

  /** Capture time shown now, ms: between records it runs on with the clock while playing. */
  currentMs(): number {
    if (this.paused || this.ended) return this.positionMs;
    const running = this.baseMs + (performance.now() - this.baseWall) * this.speed;
    const next = this.nextRecord?.timeMs ?? this.file.durationMs;
    return Math.round(Math.max(this.positionMs, Math.min(running, next, this.file.durationMs)));
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get playbackSpeed(): number {
    return this.speed;
  }

  get durationMs(): number {
    return this.file.durationMs;
  }

  pause(): void {
    if (this.paused) return;
    this.positionMs = this.currentMs();
    this.paused = true;
    this.stopTimer();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.rebase();
    this.schedule();
  }

  setSpeed(speed: number): void {
    this.positionMs = this.currentMs();
    this.speed = clampSpeed(speed);
    this.rebase();
    this.stopTimer();
    this.schedule();
  }

  close(): void {
    this.stopTimer();
    this.paused = true;
  }

  private rebase(): void {
    this.baseMs = this.positionMs;
    this.baseWall = performance.now();
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private publishSurface(): void {
    const g = this.state.geometry;
    this.shadow = g
      ? new ShadowFramebuffer({
          width: g.width,
          height: g.height,
          stride: g.width * (g.format.bitsPerPixel >> 3),
          format: servedFormat(g.format),
          data: this.state.pixels,
        })
      : null;
    this.view = this.shadow?.surface ?? null;
    this.emit('resize', this.view);
  }

  /** Bring the shadow up to date inside `rects`: copies found (when someone takes them), then what changed. */
  private report(rects: Rect[]): void {
    if (!this.shadow) return;
    const { copies, rects: changed } = this.shadow.refine(rects, { detectCopies: this.listenerCount('copy') > 0 });
    for (const c of copies) this.emit('copy', c);
    if (changed.length) this.emit('damage', changed);
  }

  /** The next picture or cursor record, or null at the end (a cut or corrupt tail ends it too). */
  private pull(): CaptureRecord | null {
    if (this.nextRecord) return this.nextRecord;
    try {
      for (;;) {
        const step = this.iter?.next();
        if (!step || step.done) return null;
        const rec = step.value.record as CaptureRecord | { type: 'unknown' };
        if (rec.type === 'keyframe' || rec.type === 'damage' || rec.type === 'copy' || rec.type === 'geometry' || rec.type === 'cursor')
          return (this.nextRecord = rec);
      }
    } catch (e) {
      if (!isXenvfbError(e)) throw e;
      this.log.warn({ err: e }, 'replay stops at a damaged record');
      return null;
    }
  }

  private schedule(): void {
    if (this.paused || this.timer) return;
    const rec = this.pull();
    if (!rec) return this.atEnd();
    const due = this.baseWall + (rec.timeMs - this.baseMs) / this.speed;
    this.timer = setTimeout(() => this.tick(), Math.max(0, due - performance.now()));
  }

  private tick(): void {
    this.timer = null;
    const t = this.nextRecord?.timeMs ?? this.positionMs;
    // Everything recorded at the same time goes out together.
    for (let rec = this.pull(); rec && rec.timeMs === t; rec = this.pull()) {
      this.nextRecord = null;
      this.play(rec);
    }
    this.positionMs = t;
    this.schedule();
  }

  private play(rec: CaptureRecord): void {
    if (rec.type === 'cursor') {
      const c = rec.cursor;
      // The shape's pixels are copied: the record's memory is read over (Buffer#slice would not copy).
      this.pointer = {
        shape: c.width ? { width: c.width, height: c.height, hotX: c.hotX, hotY: c.hotY, rgba: new Uint8Array(c.rgba) } : null,
        x: c.x,
        y: c.y,
        visible: c.visible,
      };
      this.emit('cursor', this.cursor());
      return;
    }
    const guestPixels = this.state.pixels;
    const change = this.state.apply(rec);
    if (!change) return;
    if ('resize' in change || this.state.pixels !== guestPixels || !this.shadow) return this.publishSurface();
    if (change.copies && this.listenerCount('copy') > 0) {
      // The shadow makes the same copy (its destination from the state, which has it).
      this.shadow.copyIn(change.rects);
      for (const c of change.copies) {
        this.emit('copy', {
          src: { x: c.srcX, y: c.srcY, width: c.width, height: c.height },
          dst: { x: c.dstX, y: c.dstY, width: c.width, height: c.height },
        });
      }
      return;
    }
    if (change.rects.length) this.report(change.rects);
  }

  private atEnd(): void {
    if (this.opts.loop && this.file.durationMs > 0) {
      this.seek(this.opts.startMs ?? 0);
      return;
    }
    this.ended = true;
    this.opts.onEnd?.();
  }
}

/**
 * The format as served: depth cut to the bits the channels have (RFB recordings often say
 * depth 32 for 8-bit channels, which some clients, gtk-vnc among them, refuse).
 */
function servedFormat(f: Geometry['format']): Geometry['format'] {
  const bits = (max: number): number => Math.round(Math.log2(max + 1));
  const depth = Math.min(f.depth, bits(f.redMax) + bits(f.greenMax) + bits(f.blueMax));
  return depth === f.depth ? f : { ...f, depth };
}

function clampSpeed(s: number): number {
  if (!Number.isFinite(s) || s <= 0) return 1;
  return Math.min(REPLAY_MAX_SPEED, Math.max(1 / REPLAY_MAX_SPEED, s));
}
