// The types of an RfbSession's edges (session.ts): what the transport adapter gives it, its
// states and its statistics; and the pixel format a surface is offered in.

import type { Display } from '../display/display';
import type { InputSink } from '../input/input-sink';
import { PIXEL_FORMAT_XRGB8888, type PixelFormat } from '../display/pixel-format';
import type { EncoderStats } from './encode-manager';
import type { EncodeMode } from './encode-frame';
import type { EncoderFactory } from './encoders/encoder';
import type { Logger } from '../../shared/log';
import type { SecurityConfig, TlsKind } from './security/options';
import type { AuthGate } from '../auth/throttle';
import type { RectClass } from '../updates/classify';
import type { SchedulerClock } from '../updates/update-scheduler';
import type { Rect } from '../../shared/region';
import type { Release } from '../net/session-output';

export interface RfbSessionOptions {
  /**
   * Send bytes to the client. `release` (when given): call it once the transport is done with
   * the bytes (written, copied or dropped), so their buffer can be reused; not calling it only
   * costs a new buffer.
   */
  write(bytes: Uint8Array, release?: Release): void;
  display: Display;
  input: InputSink;
  log?: Logger;
  /** Desktop name in ServerInit (default: display.name). */
  name?: string;
  /** True while the transport holds too much unsent output; call resume() when it drains. */
  backpressured?(): boolean;
  /** The session ended (after the last write): the adapter closes its transport. */
  onClose?(reason: string, error?: Error): void;
  /** The client asked for exclusive access (ClientInit shared-flag 0). */
  onExclusive?(): void;
  /** Encoder factories, one instance each per session (default: every encoding, encode-manager.ts). */
  encoders?: readonly EncoderFactory[];
  /** Offered security types and secrets (default: None only). */
  security?: SecurityConfig;
  /**
   * The adapter must put TLS under this stream now (VeNCrypt): from here on, bytes from the
   * client are decrypted before receive() and write() goes through TLS. Absent = no TLS types.
   */
  startTls?(kind: TlsKind): void;
  /** Failed-authentication throttle for this client's address. */
  authGate?: AuthGate;
  /** Random bytes for the VNC-auth challenge (tests make it fixed). */
  random?(n: number): Uint8Array;
  /** Minimum ms between two updates to this client (default FRAME_INTERVAL_MS; 0 = unpaced). */
  frameIntervalMs?: number;
  /** Still time before a lossy (JPEG) area is re-sent losslessly (default LOSSLESS_REFRESH_MS). */
  losslessRefreshMs?: number;
  /** Timers for pacing and lossless refresh (tests inject a fake clock). */
  clock?: SchedulerClock;
  /**
   * Where updates are encoded (encode-frame.ts): 'sync' inline (default), 'worker' in the encode
   * worker this session is pinned to (encode-pool.ts; the server's default). Custom `encoders`
   * cannot cross to a worker: sync.
   */
  encode?: EncodeMode;
  /** Deadlines of the stages before a client is served (default: backend/net/limits.ts). */
  deadlines?: Partial<SessionDeadlines>;
}

/** How long each stage before serving may take (ms; 0 = no deadline). */
export interface SessionDeadlines {
  /** Version, security choice, VeNCrypt, ClientInit (and TLS, which the adapter also bounds). */
  stageMs: number;
  /** From a challenge (or the Plain ack) to the response: a person may be typing. */
  authMs: number;
  /** Past ClientInit, waiting for the guest's first surface. */
  surfaceMs: number;
}

/** A FramebufferUpdateRequest being answered (session.ts). */
export interface UpdateRequest {
  incremental: boolean;
  area: Rect;
}

export type RfbSessionState = 'version' | 'security' | 'clientInit' | 'waitSurface' | 'normal' | 'closed';

export interface RfbSessionStats {
  updates: number;
  bytesOut: number;
  /** Replies dropped because a newer one of the same kind replaced them before they could go. */
  repliesCoalesced: number;
  encoders: Record<string, EncoderStats>;
  /** Rects per content class (classify.ts). */
  classes: Record<RectClass, number>;
  /** Rects re-sent losslessly after being sent lossy. */
  losslessRefreshes: number;
}

/** Native surface formats RFB cannot carry (24 bpp) are offered as XRGB8888. */
export function advertisedFormat(native: PixelFormat): PixelFormat {
  const ok = native.bitsPerPixel === 8 || native.bitsPerPixel === 16 || native.bitsPerPixel === 32;
  return ok ? { ...native } : { ...PIXEL_FORMAT_XRGB8888 };
}
