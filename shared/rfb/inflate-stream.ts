// The client side of one RFB zlib stream (Zlib, ZRLE and the four Tight streams,
// rfbproto §7.7.4-§7.7.6): one stream for the whole connection, every rect's data ending on
// a Z_SYNC_FLUSH boundary. Mirror of backend/vnc/encoders/zstream.ts: each rect is one
// inflateRawSync() whose preset dictionary is the last 32 KiB the stream produced (exactly
// the inflater's window), after the 2-byte zlib header of the stream's first rect.

import * as zlib from 'node:zlib';
import { xerror } from '../errors';

const WINDOW = 32 * 1024;

export class InflateStream {
  private history: Buffer = Buffer.alloc(0);
  private started = false;

  /** Start over (Tight's control-byte reset bits). */
  reset(): void {
    this.history = Buffer.alloc(0);
    this.started = false;
  }

  /** Inflate one rect's compressed bytes: exactly `expect` bytes out, or at most that many when !exact. */
  take(data: Uint8Array, expect: number, exact = true): Buffer {
    let body = data;
    if (!this.started) {
      // CMF: method 8 (deflate), window <= 32 KiB; FLG: no preset dictionary; (CMF*256+FLG) % 31 == 0.
      if (data.length < 2 || (data[0]! & 0x0f) !== 8 || data[0]! >> 4 > 7 || data[1]! & 0x20 || ((data[0]! << 8) | data[1]!) % 31 !== 0) {
        throw xerror('RFB_E_DECODE', 'zlib stream does not start with a zlib header');
      }
      body = data.subarray(2);
      this.started = true;
    }
    const opts: zlib.ZlibOptions = { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: Math.max(1, expect) };
    if (this.history.length > 0) opts.dictionary = this.history;
    let out: Buffer;
    try {
      out = body.length === 0 ? Buffer.alloc(0) : zlib.inflateRawSync(body, opts);
    } catch (e) {
      throw xerror('RFB_E_DECODE', `zlib data does not inflate to ${expect} bytes: ${(e as Error).message}`);
    }
    if (exact && out.length !== expect) throw xerror('RFB_E_DECODE', `zlib data inflates to ${out.length} bytes, ${expect} expected`);
    this.remember(out);
    return out;
  }

  private remember(data: Buffer): void {
    if (data.length >= WINDOW) this.history = Buffer.from(data.subarray(data.length - WINDOW));
    else {
      const joined = Buffer.concat([this.history, data]);
      this.history = joined.length > WINDOW ? joined.subarray(joined.length - WINDOW) : joined;
    }
  }
}
