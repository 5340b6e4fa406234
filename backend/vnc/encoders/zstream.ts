// One zlib stream of an RFB connection (Zlib, ZRLE and the four Tight streams): the client
// keeps one inflater for the whole connection, and every rect ends on a Z_SYNC_FLUSH
// boundary (rfbproto §7.7.4 / §7.7.5 / §7.7.6).
//
// Why not zlib.createDeflate(): Node has no synchronous call on a persistent Deflate
// (`_processChunk` without a callback closes the handle after one call, and
// write()+flush(Z_SYNC_FLUSH, cb) is async, which would make the whole update path async).
// Instead each rect is one deflateRawSync() call whose preset dictionary is the last 32 KiB
// this stream carried. That is exactly the client inflater's window, so back-references into
// earlier rects stay valid and the bytes are those of one continuous zlib stream: a zlib
// header once, then raw deflate blocks, each rect ending with an empty stored block
// (00 00 ff ff) and never a final block. Cost measured here: about 55 µs per 16 KiB rect
// including the dictionary, far below the compression itself at any level above 1.
//
// Sync, async stream or worker? scripts/bench/vnc-zlib.ts (npm run bench:vnc-zlib) measures
// all three on 1080p frames in Tight-sized rects. Wall time is about the same (text, level 2:
// ~36 ms/frame each way); the async stream and the worker cut the longest event-loop block
// from the whole frame to a few ms. The stream itself stays sync: deflate is not the only cost
// (palette analysis, pixel conversion and jpeg-js are JS and cost as much or more), so the
// server moves a session's whole encoder, these streams included, into an encode worker
// (encode-pool.ts, QEMU's vnc-jobs model), where a sync stream blocks nobody; the inline
// twin (XENVFB_VNC_ENCODE=sync) runs the same code on the main thread.
//
// Native twin: the addon's Deflater (native/src/deflate.cc) keeps one z_stream for the whole
// connection, so no dictionary is primed again per rect (~3.5 ms of a 1080p Tight text frame).
// openDeflateStream() picks it when the addon has it; XENVFB_NO_NATIVE_DEFLATE=1 forces the
// dictionary twin below. The compressed bytes differ (match choices across the window), the
// inflated bytes never do (test/unit/vnc/encoders/zstream-twins.test.ts).

import * as zlib from 'node:zlib';
import { type DeflaterHandle, DeflaterNative } from '../../../native';

export const NO_NATIVE_DEFLATE_ENV = 'XENVFB_NO_NATIVE_DEFLATE';

/** A connection's zlib stream, whichever twin holds it. */
export interface ZStream {
  readonly level: number;
  /** Uncompressed / compressed byte totals, for stats and tests. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Compress one rect's data; the result ends at a sync-flush boundary. */
  compress(data: Uint8Array): Buffer;
  /** Frees the stream's state now (a replaced Tight stream); compress() after it throws. */
  end(): void;
}

/** The native stream unless the addon lacks it or XENVFB_NO_NATIVE_DEFLATE=1. */
export function openDeflateStream(level: number, native = process.env[NO_NATIVE_DEFLATE_ENV] === '1' ? null : DeflaterNative): ZStream {
  return native ? new NativeDeflateStream(level, new native(level)) : new DeflateStream(level);
}

/** The addon's persistent z_stream (freed by the collector with the encoder that holds it). */
export class NativeDeflateStream implements ZStream {
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    readonly level: number,
    private readonly deflater: DeflaterHandle,
  ) {}

  compress(data: Uint8Array): Buffer {
    const out = this.deflater.compress(data);
    this.bytesIn += data.byteLength;
    this.bytesOut += out.length;
    return out;
  }

  end(): void {
    this.deflater.end();
  }
}

/** Deflate's window: the most history the client can be referring to. */
export const ZLIB_WINDOW = 32 * 1024;
/** CMF 0x78 (deflate, 32 KiB window), FLG 0x01: (0x78 * 256 + 0x01) % 31 === 0. */
const ZLIB_HEADER = Uint8Array.of(0x78, 0x01);

/** The TypeScript twin: one deflateRawSync per rect, primed with the last 32 KiB. */
export class DeflateStream implements ZStream {
  private history: Buffer = Buffer.alloc(0);
  private started = false;
  private ended = false;
  /** Uncompressed / compressed byte totals, for stats and tests. */
  bytesIn = 0;
  bytesOut = 0;

  constructor(readonly level: number) {}

  /** Compress one rect's data; the result ends at a sync-flush boundary. */
  compress(data: Uint8Array): Buffer {
    if (this.ended) throw new Error('compress after end()');
    const opts: zlib.ZlibOptions = { level: this.level, finishFlush: zlib.constants.Z_SYNC_FLUSH };
    if (this.history.length > 0) opts.dictionary = this.history;
    const body = zlib.deflateRawSync(data, opts);
    this.remember(data);
    this.bytesIn += data.byteLength;
    let out = body;
    if (!this.started) {
      this.started = true;
      out = Buffer.concat([ZLIB_HEADER, body]);
    }
    this.bytesOut += out.length;
    return out;
  }

  end(): void {
    this.history = Buffer.alloc(0);
    this.ended = true;
  }

  private remember(data: Uint8Array): void {
    if (data.byteLength >= ZLIB_WINDOW) {
      this.history = Buffer.from(data.subarray(data.byteLength - ZLIB_WINDOW));
    } else {
      const joined = Buffer.concat([this.history, data]);
      this.history = joined.length > ZLIB_WINDOW ? joined.subarray(joined.length - ZLIB_WINDOW) : joined;
    }
  }
}
