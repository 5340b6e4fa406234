// An encode worker thread (started by encode-pool.ts). It owns the EncodeManager and encoders
// of every session the pool put on it (session affinity), so each session's persistent zlib
// streams (zstream.ts) live here and see its frames in the order the session sent them: one
// message port, FIFO, one frame in flight per session. Messages in: SetEncodings lists and
// frame jobs with their snapshotted pixels (transferred). Messages out: the encoded
// FramebufferUpdate (transferred) with lossy flags and stats, or the error that ends that
// session only. Like QEMU's vnc-jobs.c worker, minus the shared output buffer: the main thread
// writes the bytes to the socket.

import { parentPort } from 'node:worker_threads';
import { isXenvfbError } from '../../shared/errors';
import type { PixelFormat } from '../display/display';
import { EncodeManager } from './encode-manager';
import { encodeFrame, type EncodeStatsSnapshot, type FrameRect, snapshotSurface } from './encode-frame';

/** Main thread -> worker. Every message names the session it is for. */
export type ToEncodeWorker =
  | { type: 'encodings'; session: number; list: number[] }
  | {
      type: 'frame';
      session: number;
      id: number;
      surfaceFormat: PixelFormat;
      clientFormat: PixelFormat;
      rects: FrameRect[];
      /** Byte offset of each rect's rows in `pixels`. */
      offsets: number[];
      pixels: ArrayBuffer;
    }
  /** The session ended: drop its encoders. */
  | { type: 'close'; session: number }
  /** Test hook: throw while encoding the session's next frame / exit the thread. */
  | { type: 'fault'; session: number; kind: 'throw' | 'exit' };

/** Worker -> main thread. */
export type FromEncodeWorker =
  | { type: 'ready'; session: 0 }
  | {
      type: 'frame';
      session: number;
      id: number;
      bytes: ArrayBuffer;
      offset: number;
      length: number;
      lossy: boolean[];
      stats: EncodeStatsSnapshot;
    }
  | { type: 'error'; session: number; id: number; code: string | null; message: string };

interface SessionState {
  manager: EncodeManager;
  throwNext: boolean;
}

function serve(port: NonNullable<typeof parentPort>): void {
  const sessions = new Map<number, SessionState>();
  const stateOf = (session: number): SessionState => {
    let st = sessions.get(session);
    if (!st) sessions.set(session, (st = { manager: new EncodeManager(), throwNext: false }));
    return st;
  };
  port.on('message', (m: ToEncodeWorker) => {
    switch (m.type) {
      case 'encodings':
        stateOf(m.session).manager.setClientEncodings(m.list);
        return;
      case 'close':
        sessions.delete(m.session);
        return;
      case 'fault':
        if (m.kind === 'exit') process.exit(3);
        stateOf(m.session).throwNext = true;
        return;
      case 'frame':
        return frame(port, stateOf(m.session), m);
    }
  });
  port.postMessage({ type: 'ready', session: 0 } satisfies FromEncodeWorker);
}

function frame(port: NonNullable<typeof parentPort>, st: SessionState, m: Extract<ToEncodeWorker, { type: 'frame' }>): void {
  try {
    if (st.throwNext) throw new Error('encode fault injected by a test');
    const pixels = new Uint8Array(m.pixels);
    const encoded = encodeFrame(st.manager, { rects: m.rects, clientFormat: m.clientFormat }, (i, r) =>
      snapshotSurface(m.surfaceFormat, pixels, m.offsets[i]!, r),
    );
    const b = encoded.bytes;
    const stats = { encoders: st.manager.snapshot(), classes: st.manager.classCounts() };
    const out: FromEncodeWorker = {
      type: 'frame',
      session: m.session,
      id: m.id,
      bytes: b.buffer as ArrayBuffer,
      offset: b.byteOffset,
      length: b.byteLength,
      lossy: encoded.lossy,
      stats,
    };
    port.postMessage(out, [b.buffer as ArrayBuffer]);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const out: FromEncodeWorker = {
      type: 'error',
      session: m.session,
      id: m.id,
      code: isXenvfbError(err) ? err.code : null,
      message: err.message,
    };
    port.postMessage(out);
  }
}

if (parentPort) serve(parentPort);
