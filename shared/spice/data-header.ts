// SPICE data-phase message framing (spice/protocol.h SpiceDataHeader, SpiceMiniDataHeader).
// The mini header is used when the client set SPICE_COMMON_CAP_MINI_HEADER in its link
// (red-channel-client.cpp); spice-html5 always does, older spice-gtk builds may not.

import { ByteReader, ByteWriter } from '../bytes';
import { xerror } from '../errors';

/** u16 type | u32 size */
export const SPICE_MINI_HEADER_SIZE = 2 + 4;
/** u64 serial | u16 type | u32 size | u32 sub_list */
export const SPICE_DATA_HEADER_SIZE = 8 + 2 + 4 + 4;

export interface SpiceMessage {
  type: number;
  body: Uint8Array;
}

/** Header + body of one server message. `serial` is used with the full header only. */
export function frameMessage(mini: boolean, serial: bigint, type: number, body: Uint8Array): Buffer {
  const w = new ByteWriter((mini ? SPICE_MINI_HEADER_SIZE : SPICE_DATA_HEADER_SIZE) + body.length);
  if (mini) w.u16le(type).u32le(body.length);
  else w.u64le(serial).u16le(type).u32le(body.length).u32le(0);
  return w.bytes(body).finish();
}

/**
 * Splits a client's byte stream into messages. push() appends bytes; next() returns the next
 * whole message, or null for "need more". A size above `maxBody` throws SPICE_E_OVERSIZE as
 * soon as its header is in, before any of the body is buffered.
 */
export class SpiceMessageReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private header: { type: number; size: number } | null = null;

  constructor(
    readonly mini: boolean,
    readonly maxBody: number,
  ) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  next(): SpiceMessage | null {
    if (!this.header) {
      const hsize = this.mini ? SPICE_MINI_HEADER_SIZE : SPICE_DATA_HEADER_SIZE;
      if (this.buffered < hsize) return null;
      const r = new ByteReader(this.take(hsize));
      if (!this.mini) r.skip(8); // serial: the client's own numbering, unused by the server
      const type = r.u16le();
      const size = r.u32le();
      // sub_list (full header only) is 0 from every client: sub-messages were never used.
      if (size > this.maxBody) {
        throw xerror('SPICE_E_OVERSIZE', `message type ${type} of ${size} bytes exceeds ${this.maxBody}`, {
          type,
          size,
          limit: this.maxBody,
        });
      }
      this.header = { type, size };
    }
    if (this.buffered < this.header.size) return null;
    const msg = { type: this.header.type, body: this.take(this.header.size) };
    this.header = null;
    return msg;
  }

  private take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      out.set(c.subarray(0, k), at);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }
}
