// File header and record framing of the capture format (docs/capture-format.md §2, §3),
// and an incremental decoder that says how many more bytes it needs. Pure: no files.

import * as zlib from 'node:zlib';
import { ByteReader, ByteWriter } from '../bytes';
import { xerror } from '../errors';
import {
  CAPTURE_HEADER_SIZE,
  CAPTURE_MAGIC,
  CAPTURE_MAX_PAYLOAD,
  CAPTURE_VERSION_MAJOR,
  CAPTURE_VERSION_MINOR,
  RECORD_HEADER_SIZE,
  recordTypeName,
  type CaptureHeader,
  type CaptureRecord,
} from './format';
import { decodePayload, encodePayload, type EncodeOptions, type RecordBody } from './records';

/** CRC-32 (IEEE, zlib's) of `data`, continuing from `crc`. */
export function crc32(data: Uint8Array, crc = 0): number {
  return zlib.crc32(data, crc) >>> 0;
}

// §2 file header: u8 magic[8] | u16 major | u16 minor | u32 header_size | u64 start_unix_ms |
//    u32 keyframe_interval_ms | u32 crc32(bytes 0..27)
export function encodeHeader(h: Partial<CaptureHeader> & Pick<CaptureHeader, 'startUnixMs'>): Uint8Array {
  const w = new ByteWriter(CAPTURE_HEADER_SIZE);
  w.ascii(CAPTURE_MAGIC)
    .u16le(h.versionMajor ?? CAPTURE_VERSION_MAJOR)
    .u16le(h.versionMinor ?? CAPTURE_VERSION_MINOR);
  w.u32le(CAPTURE_HEADER_SIZE)
    .u64le(BigInt(h.startUnixMs))
    .u32le(h.keyframeIntervalMs ?? 0);
  const out = w.finish();
  w.u32le(crc32(out.subarray(0, 28)));
  return new Uint8Array(w.finish());
}

/** Throws CAP_E_BAD_MAGIC when the first (up to 8) bytes are not the capture magic. */
export function checkMagic(b: Uint8Array): void {
  const found = Buffer.from(b.subarray(0, 8)).toString('latin1');
  if (!CAPTURE_MAGIC.startsWith(found)) throw xerror('CAP_E_BAD_MAGIC', undefined, { found });
}

/** Decode the file header; throws CAP_E_TRUNCATED if fewer than 32 bytes are given. */
export function decodeHeader(b: Uint8Array): CaptureHeader {
  checkMagic(b);
  if (b.length < CAPTURE_HEADER_SIZE) throw xerror('CAP_E_TRUNCATED', `file header needs ${CAPTURE_HEADER_SIZE} bytes, have ${b.length}`);
  const r = new ByteReader(b, 8);
  const versionMajor = r.u16le();
  const versionMinor = r.u16le();
  if (versionMajor !== CAPTURE_VERSION_MAJOR) {
    throw xerror('CAP_E_BAD_VERSION', `capture format ${versionMajor}.${versionMinor}; this build reads ${CAPTURE_VERSION_MAJOR}.x`);
  }
  const size = r.u32le();
  const startUnixMs = Number(r.u64le());
  const keyframeIntervalMs = r.u32le();
  const crc = r.u32le();
  if (crc !== crc32(b.subarray(0, 28)) || size !== CAPTURE_HEADER_SIZE)
    throw xerror('CAP_E_BAD_HEADER', 'file header checksum or size is wrong');
  return { versionMajor, versionMinor, startUnixMs, keyframeIntervalMs };
}

/** §3 record header, decoded. */
export interface RecordHeader {
  type: number;
  length: number;
  timeMs: number;
  crc: number;
}

// §3 record header: u8 type | u8 flags (0) | u16 reserved (0) | u32 length | u32 time_ms |
//    u32 crc32(header bytes 0..11, then the payload)
export function decodeRecordHeader(b: Uint8Array, o = 0): RecordHeader {
  if (b.length - o < RECORD_HEADER_SIZE) throw xerror('CAP_E_TRUNCATED', `record header at ${o} is cut short`);
  const r = new ByteReader(b, o);
  const type = r.u8();
  r.skip(3);
  const length = r.u32le();
  const timeMs = r.u32le();
  const crc = r.u32le();
  if (length > CAPTURE_MAX_PAYLOAD) {
    throw xerror('CAP_E_OVERSIZE', `record of ${length} bytes exceeds CAPTURE_MAX_PAYLOAD`, { offset: o, length });
  }
  return { type, length, timeMs, crc };
}

/** Check a record's checksum: header bytes 0..11 then the payload. */
export function recordCrcOk(headerBytes: Uint8Array, payload: Uint8Array, crc: number): boolean {
  return crc32(payload, crc32(headerBytes.subarray(0, 12))) === crc;
}

/** Encode one whole record (header + payload). */
export function encodeRecord(rec: CaptureRecord, opts: EncodeOptions = {}): Uint8Array {
  const { type, payload } = encodePayload(rec as RecordBody, opts);
  return frameRecord(type, rec.timeMs, payload);
}

/** Frame a payload of a type: the header with its checksum, then the payload. */
export function frameRecord(type: number, timeMs: number, payload: Uint8Array): Uint8Array {
  if (payload.length > CAPTURE_MAX_PAYLOAD) throw xerror('CAP_E_OVERSIZE', `record of ${payload.length} bytes exceeds CAPTURE_MAX_PAYLOAD`);
  const out = new Uint8Array(RECORD_HEADER_SIZE + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint8(0, type);
  dv.setUint32(4, payload.length, true);
  dv.setUint32(8, Math.max(0, Math.min(0xffffffff, Math.floor(timeMs))), true);
  out.set(payload, RECORD_HEADER_SIZE);
  dv.setUint32(12, crc32(payload, crc32(out.subarray(0, 12))), true);
  return out;
}

/** A decoded record, or an unknown type skipped (kept so callers can count it). */
export type DecodedRecord = CaptureRecord | { type: 'unknown'; typeNumber: number; timeMs: number };

/**
 * Decode the whole record at b[o]. Throws CAP_E_TRUNCATED when b ends inside it, CAP_E_BAD_CRC
 * when the checksum fails, CAP_E_BAD_RECORD / CAP_E_OVERSIZE when the payload is malformed.
 */
export function decodeRecordAt(b: Uint8Array, o: number): { record: DecodedRecord; size: number } {
  const h = decodeRecordHeader(b, o);
  const end = o + RECORD_HEADER_SIZE + h.length;
  if (end > b.length) throw xerror('CAP_E_TRUNCATED', `record at ${o} needs ${end - b.length} more bytes`, { offset: o });
  const payload = b.subarray(o + RECORD_HEADER_SIZE, end);
  if (!recordCrcOk(b.subarray(o, o + RECORD_HEADER_SIZE), payload, h.crc)) {
    throw xerror('CAP_E_BAD_CRC', `record at ${o} (${recordTypeName(h.type)}) fails its checksum`, { offset: o });
  }
  const body = decodePayload(h.type, payload);
  const record: DecodedRecord = body
    ? ({ ...body, timeMs: h.timeMs } as CaptureRecord)
    : { type: 'unknown', typeNumber: h.type, timeMs: h.timeMs };
  return { record, size: RECORD_HEADER_SIZE + h.length };
}

export type StreamStep =
  | { kind: 'header'; header: CaptureHeader }
  | { kind: 'record'; record: DecodedRecord; offset: number; size: number }
  | { kind: 'need'; bytes: number };

/**
 * Incremental decoder: push() bytes as they come, then call next() until it says how many
 * more bytes it needs. Errors are typed and sticky: after one, the stream is done.
 */
export class CaptureStreamDecoder {
  private buf = new Uint8Array(0);
  private start = 0;
  private offset = 0;
  private header: CaptureHeader | null = null;

  push(chunk: Uint8Array): void {
    const live = this.buf.subarray(this.start);
    const next = new Uint8Array(live.length + chunk.length);
    next.set(live);
    next.set(chunk, live.length);
    this.buf = next;
    this.start = 0;
  }

  /** File offset of the next byte to decode. */
  get position(): number {
    return this.offset;
  }

  next(): StreamStep {
    const have = this.buf.length - this.start;
    if (!this.header) {
      if (have < CAPTURE_HEADER_SIZE) {
        if (have >= 8) checkMagic(this.buf.subarray(this.start, this.start + 8)); // a foreign file fails early
        return { kind: 'need', bytes: CAPTURE_HEADER_SIZE - have };
      }
      this.header = decodeHeader(this.buf.subarray(this.start, this.start + CAPTURE_HEADER_SIZE));
      this.advance(CAPTURE_HEADER_SIZE);
      return { kind: 'header', header: this.header };
    }
    if (have < RECORD_HEADER_SIZE) return { kind: 'need', bytes: RECORD_HEADER_SIZE - have };
    const h = decodeRecordHeader(this.buf, this.start);
    const size = RECORD_HEADER_SIZE + h.length;
    if (have < size) return { kind: 'need', bytes: size - have };
    const { record } = decodeRecordAt(this.buf.subarray(this.start, this.start + size), 0);
    const offset = this.offset;
    this.advance(size);
    return { kind: 'record', record, offset, size };
  }

  private advance(n: number): void {
    this.start += n;
    this.offset += n;
  }
}
