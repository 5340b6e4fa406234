// One RFB client: handshake (rfbproto §7.1-7.3; security in security/negotiator.ts), client messages (§7.5) and
// framebuffer updates (§7.6.1). A protocol engine: bytes in through receive(), bytes out
// through options.write; it never owns a socket, so tests drive it with byte arrays.

import { isXenvfbError, xerror } from '../../shared/errors';
import { clipRect, overlapsAny, type Rect, unionRect } from '../../shared/region';
import type { CopyHint, Surface } from '../display/display';
import { PIXEL_FORMAT_XRGB8888, type PixelFormat } from '../display/pixel-format';
import { lockKeysFor, trackingLockKeys } from '../input/lock-keys';
import { RfbInput } from './rfb-input';
import { type ClientMessage, parseClientMessage } from './client-messages';
import { PendingRegion } from '../updates/pending-region';
import { PendingCopies } from './copies';
import { EncodeManager } from './encode-manager';
import type { EncodedFrame, FrameJob } from './encode-frame';
import { SessionFrames } from './session-frames';
import { buildConnectionFailed, buildServerInit, CLIENT_INIT_SIZE, parseProtocolVersion } from './handshake';
import { type Logger, silentLogger } from '../../shared/log';
import { RfbExtensions } from './extensions';
import {
  checkClientPixelFormat,
  DesktopSizeReason,
  DesktopSizeStatus,
  encodingName,
  RFB_VERSION_3_8,
  RFB_VERSION_SIZE,
  RfbEncoding,
  type RfbMinorVersion,
} from './messages';
import { buildDesktopSizeUpdate, buildEndOfContinuousUpdates } from './pseudo-encodings';
import { SecurityNegotiator } from './security/negotiator';
import { type Release, SessionOutput } from '../net/session-output';
import { StageDeadline } from '../net/stage-deadline';
import { NET_AUTH_RESPONSE_MS, NET_HANDSHAKE_STAGE_MS, NET_SURFACE_WAIT_MS } from '../net/limits';
import { resolveSecurity } from './security/options';
import { realClock, UpdateScheduler } from '../updates/update-scheduler';
import {
  advertisedFormat,
  type RfbSessionOptions,
  type RfbSessionState,
  type RfbSessionStats,
  type SessionDeadlines,
  type UpdateRequest,
} from './session-options';

export * from './session-options';

export class RfbSession {
  state: RfbSessionState = 'version';
  /** Negotiated minor version (3, 7 or 8) once ProtocolVersion was read. */
  version: RfbMinorVersion | null = null;
  /** ClientInit shared-flag. */
  shared = true;
  clientFormat: PixelFormat = { ...PIXEL_FORMAT_XRGB8888 };
  closeReason: string | undefined;
  /** Why the session failed, if it did (typed errors carry .code). */
  error: Error | undefined;

  private readonly log: Logger;
  private readonly encodes: EncodeManager;
  /** Runs the frames: inline, or in this session's encode worker (Raw inline beside it). */
  private readonly frames: SessionFrames;
  /** The one output path (session-output.ts): backpressure, coalesced replies, the held-output bound. */
  private readonly output: SessionOutput;
  /** A display refresh was asked for since the last frame went out (one per frame, however many requests). */
  private refreshAsked = false;
  /** A SetEncodings not applied yet: a run of them costs one application (the last counts), before any other message or at the chunk's end. */
  private encodingsToApply: number[] | null = null;
  /** Frame clock and lossless refresh of lossy areas (update-scheduler.ts). */
  private readonly scheduler: UpdateScheduler;
  private readonly input: RfbInput;
  private readonly pending = new PendingRegion();
  private readonly security: SecurityNegotiator;
  private buffer: Buffer = Buffer.alloc(0);
  /** Bytes of ClientCutText text still to drop. */
  private discard = 0;
  private request: UpdateRequest | null = null;
  /** EnableContinuousUpdates area (rfbproto §7.5.7): updates go out there without requests. */
  private continuous: Rect | null = null;
  private readonly ext: RfbExtensions;
  private clientWidth = 0;
  private clientHeight = 0;
  private updates = 0;

  /** The timer of a response waiting for the auth throttle's delay. */
  private judgeTimer: unknown = null;
  private readonly deadlines: SessionDeadlines;
  private readonly deadline: StageDeadline;
  private frameWorkMs = 0;

  private readonly onDamage = (rects: Rect[]): void => this.guard(() => this.damage(rects));
  private readonly onResize = (surface: Surface | null): void => this.guard(() => this.resized(surface));
  private readonly onCopy = (c: CopyHint): void => this.guard(() => this.copied(c));
  /** Display copies not yet sent as CopyRect (copies.ts). */
  private readonly copies = new PendingCopies();
  /** copied() queued a flush for the end of the display's event burst. */
  private flushQueued = false;

  constructor(private readonly opts: RfbSessionOptions) {
    this.log = opts.log ?? silentLogger;
    this.deadlines = { stageMs: NET_HANDSHAKE_STAGE_MS, authMs: NET_AUTH_RESPONSE_MS, surfaceMs: NET_SURFACE_WAIT_MS, ...opts.deadlines };
    this.deadline = new StageDeadline((stage, ms) => this.guard(() => this.deadlinePassed(stage, ms)), opts.clock);
    this.output = new SessionOutput({
      write: (b, release) => opts.write(b, release),
      full: opts.backpressured,
      overflow: (held) =>
        this.close('client does not read its replies', xerror('RFB_E_SLOW_CLIENT', `${held} bytes of replies unread`, { held })),
    });
    this.encodes = new EncodeManager(opts.encoders);
    this.frames = new SessionFrames(this.encodes, opts.encode === 'worker' && !opts.encoders, (err) =>
      this.guard(() => {
        throw err;
      }),
    );
    this.scheduler = new UpdateScheduler({
      frameIntervalMs: opts.frameIntervalMs,
      losslessRefreshMs: opts.losslessRefreshMs,
      clock: opts.clock,
      wake: () => this.guard(() => this.flush()),
    });
    const locks = lockKeysFor(opts.input);
    this.input = new RfbInput(trackingLockKeys(opts.input, locks), locks);
    this.ext = new RfbExtensions(
      {
        send: (b, key) => this.send(b, key),
        supports: (e) => this.encodes.clientSupports(e),
        size: () => ({ width: this.clientWidth, height: this.clientHeight }),
        name: opts.name ?? opts.display.name,
        log: this.log,
      },
      locks,
    );
    this.security = new SecurityNegotiator({
      config: opts.security ?? resolveSecurity(),
      send: (b) => this.send(b),
      // The VeNCrypt ack goes out in the clear before the transport switches to TLS.
      startTls: opts.startTls
        ? (kind) => {
            this.output.writeNow();
            opts.startTls!(kind);
          }
        : undefined,
      gate: opts.authGate,
      random: opts.random,
      defer: (ms, judge) => this.deferJudgement(ms, judge),
      log: this.log,
    });
    opts.display.on('damage', this.onDamage);
    opts.display.on('resize', this.onResize);
    opts.display.on('copy', this.onCopy);
    this.send(Buffer.from(RFB_VERSION_3_8, 'latin1'));
    this.armDeadline();
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Feed bytes from the client. Never throws: a bad client closes its own session. `first`: a deferred verdict. */
  receive(chunk: Uint8Array, first?: () => void): void {
    if (this.closed) return;
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    // The replies to one chunk's messages leave as one write.
    this.output.cork();
    this.guard(() => {
      first?.();
      this.process();
    });
    this.output.uncork();
  }

  /** The transport drained: held replies, then an update held back by backpressure, can go now. */
  resume(): void {
    this.guard(() => {
      this.output.drained();
      this.flush();
    });
  }

  close(reason: string, error?: Error): void {
    if (this.closed) return;
    this.state = 'closed';
    this.closeReason = reason;
    this.error = error;
    this.opts.display.off('damage', this.onDamage);
    this.opts.display.off('resize', this.onResize);
    this.opts.display.off('copy', this.onCopy);
    this.ext.close();
    this.scheduler.dispose();
    if (this.judgeTimer !== null) (this.opts.clock ?? realClock).clearTimeout(this.judgeTimer);
    this.deadline.dispose();
    this.security.dispose();
    this.frames.close();
    this.output.finish();
    this.buffer = Buffer.alloc(0);
    try {
      this.input.releaseAll();
    } catch (e) {
      this.log.error({ err: e }, 'releasing held input failed');
    }
    if (!error) this.log.info({ reason }, 'vnc session closed');
    else if (isXenvfbError(error)) this.log.warn({ reason, code: error.code }, 'vnc session closed');
    else this.log.error({ reason, err: error }, 'vnc session failed');
    this.opts.onClose?.(reason, error);
  }

  /** Time spent starting frames (snapshot, or a sync encode) since the last call: paced by the frame clock, not input cost. */
  takeFrameWorkMs(): number {
    const ms = this.frameWorkMs;
    this.frameWorkMs = 0;
    return ms;
  }

  stats(): RfbSessionStats {
    return {
      updates: this.updates,
      bytesOut: this.output.bytesOut,
      repliesCoalesced: this.output.coalesced,
      ...this.frames.stats(this.copies.stats()),
      losslessRefreshes: this.scheduler.refreshedRects,
    };
  }

  private guard(fn: () => void): void {
    if (this.closed) return;
    try {
      fn();
      if (this.deadline.stage !== 'normal') this.armDeadline();
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.close(isXenvfbError(err) ? `${err.code}: ${err.message}` : `internal error: ${err.message}`, err);
    }
  }

  /** Every stage before 'normal' has a deadline (the throttle's own delay has none); a new stage starts its own. */
  private armDeadline(): void {
    const stage = this.state === 'security' ? `security:${this.security.phase}` : this.state;
    const d = this.deadlines;
    const auth = stage === 'security:vncResponse' || stage === 'security:plainCredentials';
    const none = stage === 'normal' || stage === 'closed' || stage === 'security:judging';
    this.deadline.enter(stage, none ? 0 : auth ? d.authMs : stage === 'waitSurface' ? d.surfaceMs : d.stageMs);
  }

  private deadlinePassed(stage: string, ms: number): never {
    if (stage === 'waitSurface') {
      throw xerror('RFB_E_NO_SURFACE', `the guest showed no framebuffer within ${ms} ms (is its vfb frontend connected?)`, {
        waitedMs: ms,
      });
    }
    throw xerror('RFB_E_TIMEOUT', `handshake stage ${stage} not finished within ${ms} ms`, { stage, ms });
  }

  /** Every write goes here; `key`: a reply only the latest of which matters (session-output.ts). */
  private send(bytes: Uint8Array, key?: string, release?: Release): void {
    if (this.closed) return release?.();
    this.output.send(bytes, key, release);
  }

  private process(): void {
    while (!this.closed) {
      if (this.discard > 0) {
        const n = Math.min(this.discard, this.buffer.length);
        this.discard -= n;
        this.buffer = this.buffer.subarray(n);
        if (this.discard > 0) return;
        continue;
      }
      const used = this.step();
      if (used === 0) break;
      this.buffer = this.buffer.subarray(used);
    }
    this.applyEncodings();
  }

  /** Handle one unit of input for the current state; 0 means "need more bytes". */
  private step(): number {
    switch (this.state) {
      case 'version':
        return this.protocolVersion();
      case 'security':
        return this.securityStep();
      case 'clientInit':
        return this.clientInit();
      case 'normal':
        return this.clientMessage();
      case 'waitSurface':
      case 'closed':
        return 0;
    }
  }

  // 12 bytes: "RFB 003.00x\n"
  private protocolVersion(): number {
    if (this.buffer.length < RFB_VERSION_SIZE) return 0;
    let minor: RfbMinorVersion;
    try {
      minor = parseProtocolVersion(this.buffer);
    } catch (e) {
      // The client's version is unknown, so answer in the oldest (3.3) format.
      this.send(buildConnectionFailed('unsupported protocol version', 3));
      throw e;
    }
    this.version = minor;
    this.state = 'security';
    this.security.begin(minor);
    if (this.security.done) this.state = 'clientInit';
    return RFB_VERSION_SIZE;
  }

  /** The verdict on a response comes later (auth throttle delay): then input handling resumes. */
  private deferJudgement(ms: number, judge: () => void): void {
    const verdict = (): void => {
      this.judgeTimer = null;
      judge();
      if (this.security.done) this.state = 'clientInit';
    };
    this.judgeTimer = (this.opts.clock ?? realClock).setTimeout(() => this.receive(new Uint8Array(0), verdict), ms);
  }

  /** Security types, VeNCrypt, authentication: the negotiator's messages until it is done. */
  private securityStep(): number {
    const used = this.security.step(this.buffer);
    if (this.security.done) this.state = 'clientInit';
    return used;
  }

  // u8 shared-flag
  private clientInit(): number {
    if (this.buffer.length < CLIENT_INIT_SIZE) return 0;
    this.shared = this.buffer[0] !== 0;
    if (!this.shared) this.opts.onExclusive?.();
    this.state = 'waitSurface';
    this.serverInitIfSurface();
    return CLIENT_INIT_SIZE;
  }

  /** ServerInit needs a size: without a surface it waits for the first one. */
  private serverInitIfSurface(): void {
    const surface = this.opts.display.surface();
    if (!surface) {
      this.log.debug({}, 'no surface yet: ServerInit waits for one');
      return;
    }
    this.clientFormat = advertisedFormat(surface.format);
    this.clientWidth = surface.width;
    this.clientHeight = surface.height;
    this.pending.clear();
    this.copies.clear();
    this.pending.add({ x: 0, y: 0, width: surface.width, height: surface.height });
    const name = this.opts.name ?? this.opts.display.name;
    this.send(buildServerInit(surface.width, surface.height, this.clientFormat, name));
    this.state = 'normal';
    this.log.info({ version: `3.${this.version}`, shared: this.shared, security: this.security.chosen }, 'vnc session ready');
  }

  private clientMessage(): number {
    const parsed = parseClientMessage(this.buffer);
    if (!parsed) return 0;
    if (parsed.message.type === 'SetEncodings') {
      this.encodingsToApply = parsed.message.encodings;
      return parsed.size;
    }
    this.applyEncodings();
    this.handle(parsed.message);
    if (parsed.message.type !== 'ClientFence') this.ext.messageHandled();
    return parsed.size;
  }

  private handle(m: ClientMessage): void {
    switch (m.type) {
      case 'SetPixelFormat':
        this.clientFormat = checkClientPixelFormat(m.format);
        return;
      case 'SetEncodings':
        this.encodingsToApply = m.encodings;
        return this.applyEncodings();
      case 'FramebufferUpdateRequest':
        return this.updateRequest(m.incremental, { x: m.x, y: m.y, width: m.width, height: m.height });
      case 'KeyEvent':
        if (!this.input.keysym(m.keysym, m.down)) this.log.debug({ keysym: m.keysym }, 'keysym has no key');
        return;
      case 'PointerEvent':
        if (this.clientWidth > 0) this.input.pointer(m.mask, m.x, m.y, this.clientWidth, this.clientHeight);
        return;
      case 'ClientCutText':
        this.discard = m.length;
        return;
      case 'QEMUExtendedKeyEvent':
        if (!this.input.extendedKey(m.keysym, m.keycode, m.down)) {
          this.log.debug({ keysym: m.keysym, keycode: m.keycode }, 'extended key has no key');
        }
        return;
      case 'EnableContinuousUpdates':
        return this.continuousUpdates(m.enable, { x: m.x, y: m.y, width: m.width, height: m.height });
      case 'ClientFence':
        return this.ext.fence(m.flags, m.payload);
      case 'SetDesktopSize':
        return this.ext.desktopSizeRequest(m.width, m.height, m.screens);
    }
  }

  private applyEncodings(): void {
    const list = this.encodingsToApply;
    if (!list || this.closed) return;
    this.encodingsToApply = null;
    const chosen = this.encodes.setClientEncodings(list);
    this.frames.encodingsChanged(list);
    this.log.debug({ encodings: list.map(encodingName), chosen: chosen.name }, 'SetEncodings');
    this.ext.encodingsChanged();
    if (!this.encodes.clientSupports(RfbEncoding.CopyRect)) this.copies.dropAll(this.pending);
  }

  /** Enable: updates for the area flow as damage comes. Disable: say so with EndOfContinuousUpdates. */
  private continuousUpdates(enable: boolean, area: Rect): void {
    this.log.debug({ enable, ...area }, 'EnableContinuousUpdates');
    if (!enable) {
      this.continuous = null;
      this.send(buildEndOfContinuousUpdates(), 'end-of-continuous-updates');
      return;
    }
    this.continuous = clipRect(area, this.clientWidth, this.clientHeight);
    this.flush();
  }

  /** The request being answered: the client's, or the standing one of continuous updates. */
  private outstanding(): UpdateRequest | null {
    return this.request ?? (this.continuous ? { incremental: true, area: this.continuous } : null);
  }

  private updateRequest(incremental: boolean, area: Rect): void {
    // rfbproto §7.5.7: while continuous updates are on, incremental requests are ignored.
    if (incremental && this.continuous) return;
    const cropped = clipRect(area, this.clientWidth, this.clientHeight);
    // rfbproto §7.8.13: every non-incremental request is answered with the screen layout too.
    if (!incremental && this.encodes.clientSupports(RfbEncoding.ExtendedDesktopSize)) {
      this.ext.sendLayout(DesktopSizeReason.Server, DesktopSizeStatus.Ok);
    }
    if (!incremental) {
      this.pending.add(cropped);
      // However many non-incremental requests come, the display is asked once per frame.
      if (!this.refreshAsked) {
        this.refreshAsked = true;
        this.opts.display.requestRefresh?.();
      }
    }
    const prev = this.request;
    this.request = prev
      ? { incremental: prev.incremental && incremental, area: unionRect(prev.area, cropped) }
      : { incremental, area: cropped };
    this.flush();
  }

  /**
   * The display moved pixels: CopyRect if the client can take it exactly, else damage. Flushed
   * after the display's event burst: the damage of the same refine follows at once and belongs
   * in the same update (alone, the copy took the request and the damage waited: +9 ms p50).
   */
  private copied(c: CopyHint): void {
    if (this.state !== 'normal') return;
    const lossy = this.scheduler.refreshPending || overlapsAny(c.src, this.scheduler.lossy.rects);
    this.copies.copied(c, this.pending, this.encodes.clientSupports(RfbEncoding.CopyRect) && !lossy);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.guard(() => this.flush());
    });
  }

  private damage(rects: Rect[]): void {
    if (this.state !== 'normal') return;
    for (const r of rects) this.pending.add(clipRect(r, this.clientWidth, this.clientHeight));
    this.scheduler.damaged(rects);
    this.flush();
  }

  private resized(surface: Surface | null): void {
    if (this.state === 'waitSurface') {
      this.serverInitIfSurface();
      if ((this.state as RfbSessionState) === 'normal') this.process();
      return;
    }
    if (this.state !== 'normal' || !surface) return;
    if (surface.width === this.clientWidth && surface.height === this.clientHeight) {
      this.pending.add({ x: 0, y: 0, width: surface.width, height: surface.height });
    } else {
      this.checkResizable(surface);
    }
    this.flush();
  }

  private checkResizable(surface: Surface): void {
    if (this.encodes.clientSupports(RfbEncoding.DesktopSize) || this.encodes.clientSupports(RfbEncoding.ExtendedDesktopSize)) return;
    throw xerror(
      'RFB_E_NO_RESIZE',
      `display resized to ${surface.width}x${surface.height} and the client has neither DesktopSize nor ExtendedDesktopSize`,
      { width: surface.width, height: surface.height },
    );
  }

  /** Answer the outstanding FramebufferUpdateRequest if there is something to send. */
  private flush(): void {
    const request = this.outstanding();
    if (this.state !== 'normal' || !request) return;
    const surface = this.opts.display.surface();
    if (!surface) return;
    if (this.frames.busy) return;
    if (this.output.blocked) return;
    // Nothing to send (a viewer's next request, just after an update): wait for damage, arm no timer.
    const sameSize = surface.width === this.clientWidth && surface.height === this.clientHeight;
    if (request.incremental && sameSize && this.pending.isEmpty && this.copies.isEmpty && !this.scheduler.refreshPending) return;
    if (!this.scheduler.mayUpdate(!request.incremental)) return;
    if (!sameSize) {
      this.checkResizable(surface);
      this.sendDesktopSize(surface);
      // Continuous updates need no request: the new picture follows at once.
      if (this.continuous) this.flush();
      return;
    }
    const area = clipRect(request.area, surface.width, surface.height);
    const rects = this.pending.takeInside(area);
    const refresh = this.scheduler.takeRefresh(area, rects);
    if (rects.length === 0 && refresh.length === 0 && this.copies.isEmpty && request.incremental) return;
    this.request = null;
    this.sendUpdate(surface, rects, refresh);
  }

  /**
   * The new size alone in its own update (ExtendedDesktopSize when the client has it, else
   * DesktopSize); the client may then hold nothing, so all is damaged. A continuous-updates
   * area that covered the old framebuffer grows to cover the new one.
   */
  private sendDesktopSize(surface: Surface): void {
    const { width, height } = surface;
    const update = buildDesktopSizeUpdate(this.encodes.clientSupports(RfbEncoding.ExtendedDesktopSize), width, height);
    if (this.continuous) {
      const c = this.continuous;
      const wasWhole = c.x === 0 && c.y === 0 && c.width === this.clientWidth && c.height === this.clientHeight;
      this.continuous = wasWhole ? { x: 0, y: 0, width, height } : clipRect(c, width, height);
    }
    this.clientWidth = surface.width;
    this.clientHeight = surface.height;
    this.request = null;
    this.pending.clear();
    this.copies.clear();
    this.pending.add({ x: 0, y: 0, width: surface.width, height: surface.height });
    this.scheduler.reset();
    this.updates += 1;
    this.send(update);
    this.log.debug({ width: surface.width, height: surface.height }, 'sent DesktopSize');
  }

  /** `refresh`: areas sent lossy before and still since, re-sent losslessly (lossless-refresh.ts). */
  private sendUpdate(surface: Surface, damaged: Rect[], refresh: Rect[] = []): void {
    const job: FrameJob = {
      clientFormat: this.clientFormat,
      copies: this.copies.startFrame(),
      rects: [
        ...this.encodes.split(damaged).map((rect) => ({ rect, busy: this.scheduler.busy(rect) })),
        ...this.encodes.split(refresh).map((rect) => ({ rect, lossless: true })),
      ],
    };
    let inline = true;
    this.refreshAsked = false;
    const t0 = performance.now();
    const frames = this.frames.next();
    let held = false;
    frames.encode(
      surface,
      job,
      (frame) => (inline ? this.frameEncoded(job, frame, false, held) : this.guard(() => this.frameEncoded(job, frame, true))),
      (part, release) =>
        this.guard(() => {
          // An inline frame's first part: what was queued before the frame goes first.
          if (inline && !held) {
            held = true;
            this.output.hold();
          }
          this.output.framePart(part, release);
        }),
    );
    this.frameWorkMs += performance.now() - t0;
    inline = false;
    // In the worker: what the session writes meanwhile goes after the frame, as the sync twin orders it.
    if (frames.busy) this.output.hold();
  }

  /** The frame is encoded: it goes out, then what was held back while it was in the worker. */
  private frameEncoded(job: FrameJob, frame: EncodedFrame, async = false, held = async): void {
    job.rects.forEach((f, i) => this.scheduler.rectSent(f.rect, frame.lossy[i] === true));
    this.scheduler.refreshedRects += job.rects.filter((f) => f.lossless).length;
    this.scheduler.updateSent();
    this.updates += 1;
    this.copies.frameSent();
    if (held) this.output.frameDone(frame.bytes, frame.release);
    else this.send(frame.bytes, undefined, frame.release);
    // Damage that came while the frame was encoded may go at the next frame time.
    if (async) this.flush();
  }
}
