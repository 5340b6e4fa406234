// Reads a capture file in place (docs/capture-format.md): the header, the index from the
// END record at the tail (or rebuilt by a scan when it is missing or bad), records by
// offset, and the frame at any time in O(log n) through the keyframe index.

import * as fs from 'node:fs';
import { isXenvfbError, xerror, type ErrorCode } from '../../shared/errors';
import {
  CAPTURE_HEADER_SIZE,
  END_RECORD_SIZE,
  RECORD_HEADER_SIZE,
  RecordType,
  type CaptureHeader,
  type CaptureIndex,
  type CaptureRecord,
  type IndexEntry,
} from '../../shared/capture/format';
import { decodeHeader, decodeRecordAt, decodeRecordHeader, recordCrcOk, type DecodedRecord } from '../../shared/capture/framing';
import { FrameCounter } from '../../shared/capture/frame-counter';
import { FrameState } from '../../shared/capture/frame-state';

export type IndexHealth = 'ok' | 'missing' | 'bad';

/** Where and why a scan stopped before the end of the file. */
export interface TailProblem {
  offset: number;
  code: ErrorCode;
  message: string;
}

/** Chunk size of sequential reads. */
const READ_CHUNK = 1 << 20;

export interface ScanProgress {
  (offset: number, size: number): void;
}

/** Bytes of the file read ahead, from offset `pos`. */
interface Chunk {
  bytes: Uint8Array;
  pos: number;
  /** The memory a transient read reuses for every chunk (records(), `transient`). */
  store?: Uint8Array;
}

export interface RecordsOptions {
  /**
   * Read every chunk into the same memory: a record (its pixels, a cursor's rgba) is valid only
   * until the generator steps on, so a reader that keeps one copies it. Saves a fresh chunk per
   * 1 MB read, whose pages the kernel would zero on first touch (a replay's largest kernel cost).
   */
  transient?: boolean;
}

export class CaptureFile {
  readonly header: CaptureHeader;
  readonly size: number;
  index!: CaptureIndex;
  indexHealth: IndexHealth = 'missing';
  /** End of the last complete record before the index (or of the last good record). */
  dataEnd = CAPTURE_HEADER_SIZE;
  /** Set when the scan found the file cut or corrupt. */
  tail: TailProblem | null = null;
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
    this.size = fs.fstatSync(fd).size;
    const head = this.read(0, Math.min(CAPTURE_HEADER_SIZE, this.size));
    this.header = decodeHeader(head);
  }

  /** Open and index a capture (a scan when the index is missing or bad; progress is called during it). */
  static open(path: string, progress?: ScanProgress): CaptureFile {
    const fd = fs.openSync(path, 'r');
    try {
      const f = new CaptureFile(path, fd);
      if (!f.loadIndex()) f.scan(progress);
      return f;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  /** Bytes at [pos, pos + len), fewer at the end of the file. */
  read(pos: number, len: number): Uint8Array {
    return this.readInto(Buffer.allocUnsafe(this.clamp(pos, len)), pos);
  }

  private clamp(pos: number, len: number): number {
    return Math.max(0, Math.min(len, this.size - pos));
  }

  /** Fill `out` from pos; returns the part read (shorter at the end of the file). */
  private readInto(out: Uint8Array, pos: number): Uint8Array {
    if (this.fd === null) throw new Error('capture file is closed');
    let done = 0;
    while (done < out.length) {
      const n = fs.readSync(this.fd, out, done, out.length - done, pos + done);
      if (n === 0) break;
      done += n;
    }
    return out.subarray(0, done);
  }

  /** Decode the record at offset (typed errors for truncation, checksum, malformed payload). */
  recordAt(offset: number): { record: DecodedRecord; size: number } {
    const head = this.read(offset, RECORD_HEADER_SIZE);
    const h = decodeRecordHeader(head, 0);
    return decodeRecordAt(this.read(offset, RECORD_HEADER_SIZE + h.length), 0);
  }

  /** Records from `from` to dataEnd, with their offsets. Reads in chunks. */
  *records(
    from = CAPTURE_HEADER_SIZE,
    to = this.dataEnd,
    opts: RecordsOptions = {},
  ): Generator<{ record: DecodedRecord; offset: number; size: number }> {
    const c: Chunk = { bytes: new Uint8Array(0), pos: from, store: opts.transient ? new Uint8Array(0) : undefined };
    let pos = from;
    while (pos < to) {
      const rel = this.chunkAt(c, pos);
      const { record, size } = decodeRecordAt(c.bytes, rel);
      yield { record, offset: pos, size };
      pos += size;
    }
  }

  /**
   * Where the record at `pos` starts in `c`, re-reading `c` from `pos` when it does not hold
   * the whole record (its header first when the chunk does not even hold that: a record may be
   * larger than READ_CHUNK, as an uncompressed 1080p keyframe is). A file cut inside the
   * record leaves the chunk short, for the decoder to report.
   */
  private chunkAt(c: Chunk, pos: number): number {
    const rel = pos - c.pos;
    const left = c.bytes.length - rel;
    if (left >= RECORD_HEADER_SIZE && left >= RECORD_HEADER_SIZE + decodeRecordHeader(c.bytes, rel).length) return rel;
    const head = left >= RECORD_HEADER_SIZE ? c.bytes.subarray(rel) : this.read(pos, RECORD_HEADER_SIZE);
    const need = RECORD_HEADER_SIZE + (head.length >= RECORD_HEADER_SIZE ? decodeRecordHeader(head, 0).length : 0);
    const len = this.clamp(pos, Math.max(READ_CHUNK, need));
    if (!c.store) c.bytes = this.read(pos, len);
    else {
      if (c.store.length < len) c.store = Buffer.allocUnsafe(len);
      c.bytes = this.readInto(c.store.subarray(0, len), pos);
    }
    c.pos = pos;
    return 0;
  }

  /**
   * Record headers from `from` on, each checked against its CRC but not decoded (what an index
   * rebuild needs). Stops with a typed error at the first cut or corrupt record.
   */
  *checkedHeaders(from: number): Generator<{ type: number; timeMs: number; offset: number; size: number }> {
    const c: Chunk = { bytes: new Uint8Array(0), pos: from };
    let pos = from;
    while (pos < this.size) {
      const rel = this.chunkAt(c, pos);
      const chunk = c.bytes;
      if (chunk.length - rel < RECORD_HEADER_SIZE) throw xerror('CAP_E_TRUNCATED', `record at ${pos} has a cut header`, { offset: pos });
      const h = decodeRecordHeader(chunk, rel);
      const size = RECORD_HEADER_SIZE + h.length;
      if (chunk.length - rel < size)
        throw xerror('CAP_E_TRUNCATED', `record at ${pos} needs ${size - (chunk.length - rel)} more bytes`, { offset: pos });
      if (!recordCrcOk(chunk.subarray(rel, rel + RECORD_HEADER_SIZE), chunk.subarray(rel + RECORD_HEADER_SIZE, rel + size), h.crc)) {
        throw xerror('CAP_E_BAD_CRC', `record at ${pos} fails its checksum`, { offset: pos });
      }
      yield { type: h.type, timeMs: h.timeMs, offset: pos, size };
      pos += size;
    }
  }

  /**
   * §6: the END record at the tail points at an INDEX record; both must check out. No valid
   * END record at the tail (a file cut by a crash, whose last bytes may even parse as a record
   * header that fails its checksum) means the index is missing; a valid END whose INDEX does
   * not check out means it is bad.
   */
  private loadIndex(): boolean {
    if (this.size < CAPTURE_HEADER_SIZE + END_RECORD_SIZE) return false;
    let end: DecodedRecord;
    try {
      end = decodeRecordAt(this.read(this.size - END_RECORD_SIZE, END_RECORD_SIZE), 0).record;
    } catch (e) {
      if (!isXenvfbError(e)) throw e;
      return false;
    }
    if (end.type !== 'end') return false;
    try {
      const { record, size } = this.recordAt(end.indexOffset);
      if (record.type !== 'index' || end.indexOffset + size + END_RECORD_SIZE !== this.size) {
        this.indexHealth = 'bad';
        return false;
      }
      if (
        !record.index.keyframes.every(
          (k, i, a) => k.offset >= CAPTURE_HEADER_SIZE && k.offset < end.indexOffset && (i === 0 || a[i - 1]!.timeMs <= k.timeMs),
        )
      ) {
        this.indexHealth = 'bad';
        return false;
      }
      this.index = record.index;
      this.dataEnd = end.indexOffset;
      this.indexHealth = 'ok';
      return true;
    } catch (e) {
      if (!isXenvfbError(e)) throw e;
      this.indexHealth = 'bad';
      return false;
    }
  }

  /** Rebuild the index by reading every record; stops at the first cut or corrupt one. */
  private scan(progress?: ScanProgress): void {
    const keyframes: IndexEntry[] = [];
    const frames = new FrameCounter();
    let records = 0;
    let last = 0;
    let pos = CAPTURE_HEADER_SIZE;
    let lastReport = 0;
    try {
      for (const { type, timeMs, offset, size } of this.checkedHeaders(CAPTURE_HEADER_SIZE)) {
        if (type === RecordType.INDEX || type === RecordType.END) {
          pos = offset + size;
          continue;
        }
        records++;
        last = timeMs;
        frames.see(type, timeMs);
        if (type === RecordType.KEYFRAME) keyframes.push({ timeMs, offset });
        pos = offset + size;
        this.dataEnd = pos;
        if (progress && pos - lastReport > 8 * READ_CHUNK) progress((lastReport = pos), this.size);
      }
    } catch (e) {
      if (!isXenvfbError(e)) throw e;
      this.tail = { offset: pos, code: e.code, message: e.message };
    }
    progress?.(this.size, this.size);
    this.index = { durationMs: last, records, frames: frames.count, keyframes };
  }

  /** Duration in ms (time of the last record). */
  get durationMs(): number {
    return this.index.durationMs;
  }

  /** The last keyframe at or before timeMs (binary search), or the first one. */
  keyframeBefore(timeMs: number): IndexEntry | null {
    const k = this.index.keyframes;
    if (k.length === 0) return null;
    let lo = 0;
    let hi = k.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (k[mid]!.timeMs <= timeMs) lo = mid;
      else hi = mid - 1;
    }
    return k[lo]!;
  }

  /**
   * The picture at timeMs: the keyframe before it, then every picture record up to timeMs.
   * Returns the state and the offset of the first record after timeMs (to play on from).
   */
  frameAt(timeMs: number): { state: FrameState; next: number; timeMs: number } {
    const key = this.keyframeBefore(timeMs);
    if (!key) throw xerror('CAP_E_EMPTY', `${this.path} holds no keyframe`);
    const state = new FrameState();
    let at = key.timeMs;
    for (const { record, offset } of this.records(key.offset)) {
      if (record.type === 'unknown') continue;
      if (record.timeMs > timeMs && offset !== key.offset) return { state, next: offset, timeMs: at };
      if (offset === key.offset && record.type === 'keyframe') state.adopt(record.geometry, record.pixels);
      else state.apply(record as CaptureRecord);
      at = record.timeMs;
    }
    return { state, next: this.dataEnd, timeMs: at };
  }
}
