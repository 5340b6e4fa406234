// One ByteReader and one ByteWriter for every wire format in the project. Endianness is in
// every method name; reads are bounds-checked and throw BYTES_E_SHORT.

import { xerror } from './errors';

export class ByteReader {
  private readonly view: DataView;
  offset: number;

  constructor(
    readonly bytes: Uint8Array,
    offset = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
  }

  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }

  /** Throws BYTES_E_SHORT unless n more bytes are available. */
  need(n: number): void {
    if (n < 0 || this.offset + n > this.bytes.byteLength) {
      throw xerror('BYTES_E_SHORT', `need ${n} bytes at offset ${this.offset}, have ${this.remaining}`, {
        need: n,
        have: this.remaining,
      });
    }
  }

  private advance(n: number): number {
    this.need(n);
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.advance(1));
  }
  s8(): number {
    return this.view.getInt8(this.advance(1));
  }
  u16le(): number {
    return this.view.getUint16(this.advance(2), true);
  }
  u16be(): number {
    return this.view.getUint16(this.advance(2), false);
  }
  s16le(): number {
    return this.view.getInt16(this.advance(2), true);
  }
  s16be(): number {
    return this.view.getInt16(this.advance(2), false);
  }
  u32le(): number {
    return this.view.getUint32(this.advance(4), true);
  }
  u32be(): number {
    return this.view.getUint32(this.advance(4), false);
  }
  s32le(): number {
    return this.view.getInt32(this.advance(4), true);
  }
  s32be(): number {
    return this.view.getInt32(this.advance(4), false);
  }
  u64le(): bigint {
    return this.view.getBigUint64(this.advance(8), true);
  }
  u64be(): bigint {
    return this.view.getBigUint64(this.advance(8), false);
  }

  /** A view (not a copy) of the next n bytes. */
  bytesView(n: number): Uint8Array {
    const at = this.advance(n);
    return this.bytes.subarray(at, at + n);
  }

  skip(n: number): void {
    this.advance(n);
  }

  /** Latin-1/ASCII string of n bytes. */
  ascii(n: number): string {
    return Buffer.from(this.bytesView(n)).toString('latin1');
  }

  utf8(n: number): string {
    return Buffer.from(this.bytesView(n)).toString('utf8');
  }
}

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;
  /** True while a direct() callback holds the storage: nothing may grow it then. */
  private lent = false;

  constructor(initialCapacity = 64) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): number {
    if (this.lent) throw xerror('BYTES_E_REENTRANT', 'ByteWriter written to inside its own direct() callback');
    const at = this.length;
    const needed = at + n;
    if (needed > this.buf.byteLength) {
      let cap = this.buf.byteLength * 2;
      while (cap < needed) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.length = needed;
    return at;
  }

  private checkRange(v: number, min: number, max: number, what: string): void {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw xerror('BYTES_E_RANGE', `${what} value ${v} outside [${min}, ${max}]`, { value: v });
    }
  }

  u8(v: number): this {
    this.checkRange(v, 0, 0xff, 'u8');
    const at = this.ensure(1);
    this.view.setUint8(at, v);
    return this;
  }
  s8(v: number): this {
    this.checkRange(v, -0x80, 0x7f, 's8');
    const at = this.ensure(1);
    this.view.setInt8(at, v);
    return this;
  }
  u16le(v: number): this {
    this.checkRange(v, 0, 0xffff, 'u16');
    const at = this.ensure(2);
    this.view.setUint16(at, v, true);
    return this;
  }
  u16be(v: number): this {
    this.checkRange(v, 0, 0xffff, 'u16');
    const at = this.ensure(2);
    this.view.setUint16(at, v, false);
    return this;
  }
  s16le(v: number): this {
    this.checkRange(v, -0x8000, 0x7fff, 's16');
    const at = this.ensure(2);
    this.view.setInt16(at, v, true);
    return this;
  }
  s16be(v: number): this {
    this.checkRange(v, -0x8000, 0x7fff, 's16');
    const at = this.ensure(2);
    this.view.setInt16(at, v, false);
    return this;
  }
  u32le(v: number): this {
    this.checkRange(v, 0, 0xffffffff, 'u32');
    const at = this.ensure(4);
    this.view.setUint32(at, v, true);
    return this;
  }
  u32be(v: number): this {
    this.checkRange(v, 0, 0xffffffff, 'u32');
    const at = this.ensure(4);
    this.view.setUint32(at, v, false);
    return this;
  }
  s32le(v: number): this {
    this.checkRange(v, -0x80000000, 0x7fffffff, 's32');
    const at = this.ensure(4);
    this.view.setInt32(at, v, true);
    return this;
  }
  s32be(v: number): this {
    this.checkRange(v, -0x80000000, 0x7fffffff, 's32');
    const at = this.ensure(4);
    this.view.setInt32(at, v, false);
    return this;
  }
  u64le(v: bigint): this {
    const at = this.ensure(8);
    this.view.setBigUint64(at, v, true);
    return this;
  }
  u64be(v: bigint): this {
    const at = this.ensure(8);
    this.view.setBigUint64(at, v, false);
    return this;
  }
  bytes(b: Uint8Array): this {
    const at = this.ensure(b.byteLength);
    this.buf.set(b, at);
    return this;
  }
  zeros(n: number): this {
    const at = this.ensure(n);
    this.buf.fill(0, at, this.length);
    return this;
  }
  ascii(s: string): this {
    return this.bytes(Buffer.from(s, 'latin1'));
  }
  utf8(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  /**
   * Direct writes into the storage, for encoders that emit many small fields: makes room for
   * up to `max` bytes, then calls `fill(buf, at)` with the storage as it is after growing and
   * the offset to start at. `fill` returns the offset just past its last byte (at..at+max),
   * the new length. The storage cannot move while `fill` runs: any write to this writer from
   * inside it throws BYTES_E_REENTRANT. This is the one way to reach the storage before
   * finish(), so no write can land in a buffer that growth has already replaced (the shape
   * `buf[reserve(1)] = v`, which reads `buf` before reserve() reallocates it: issue 14).
   */
  direct(max: number, fill: (buf: Uint8Array, at: number) => number): this {
    this.checkRange(max, 0, Number.MAX_SAFE_INTEGER, 'direct() size');
    const at = this.ensure(max);
    this.length = at;
    this.lent = true;
    let end: number;
    try {
      end = fill(this.buf, at);
    } finally {
      this.lent = false;
    }
    if (!Number.isInteger(end) || end < at || end > at + max) {
      throw xerror('BYTES_E_RANGE', `direct() fill ended at ${end}, outside [${at}, ${at + max}]`, { value: end });
    }
    this.length = end;
    return this;
  }

  /** Reserve a u32 slot now and fill it later (e.g. a length known only at the end). */
  placeholderU32(): number {
    return this.ensure(4);
  }
  patchU32le(at: number, v: number): this {
    this.checkRange(v, 0, 0xffffffff, 'u32');
    this.view.setUint32(at, v, true);
    return this;
  }
  patchU32be(at: number, v: number): this {
    this.checkRange(v, 0, 0xffffffff, 'u32');
    this.view.setUint32(at, v, false);
    return this;
  }
  patchU16be(at: number, v: number): this {
    this.checkRange(v, 0, 0xffff, 'u16');
    this.view.setUint16(at, v, false);
    return this;
  }

  /** The bytes written so far, as a Buffer view of the internal storage. */
  finish(): Buffer {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.length);
  }

  /**
   * Start over at length 0 with room for at least `capacity` bytes, keeping the storage when it
   * is big enough (a writer reused frame after frame). Views finish() returned before see
   * the next writes: copy what must outlive this.
   */
  reset(capacity: number): this {
    if (this.lent) throw xerror('BYTES_E_REENTRANT', 'ByteWriter reset inside its own direct() callback');
    this.length = 0;
    if (capacity > this.buf.byteLength) {
      this.buf = new Uint8Array(capacity);
      this.view = new DataView(this.buf.buffer);
    }
    return this;
  }
}
