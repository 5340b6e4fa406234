// Capture-file readers (docs/capture-format.md) and the FBS import they sit beside: the bytes
// come from a file a user hands to `capture info`, `replay` or `capture import`, possibly cut
// by a crash, damaged on disk, or crafted. Four targets:
// - capture-stream: the incremental decoder fed the file in pieces, each record applied to a
//   FrameState as replay does. The first input byte is a control byte: bit 0 rewrites every
//   record's CRC before decoding (so mutations reach the payload decoders instead of all
//   failing their checksum), bits 1-7 the piece size.
// - capture-payload: one record payload decoded by type with no framing or CRC at all.
// - capture-file: the file opened from disk as `capture info` / `replay` do (index or scan),
//   every record read, and the frame at the middle and the end built by seek.
// - rfb-server-stream: the RFB server messages an FBS recording carries, after a fixed
//   RFB 3.3 handshake, through the rect decoders (Raw, CopyRect, RRE, CoRRE, Hextile, Zlib,
//   ZRLE, Tight, TightPNG, cursors, resize).
// Invariant everywhere: typed errors (CAP_E_*, FBS_E_*, RFB_E_*) only; a FrameState's pixels
// always match its geometry.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { CaptureFile } from '../../../backend/capture/capture-file';
import { CaptureWriter } from '../../../backend/capture/capture-writer';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';
import { EncodeManager } from '../../../backend/vnc/encode-manager';
import { RfbEncoding } from '../../../backend/vnc/messages';
import { ByteWriter } from '../../../shared/bytes';
import { CAPTURE_HEADER_SIZE, RECORD_HEADER_SIZE, type CaptureRecord, type Geometry } from '../../../shared/capture/format';
import { FrameState } from '../../../shared/capture/frame-state';
import { CaptureStreamDecoder, decodeRecordHeader } from '../../../shared/capture/framing';
import { decodePayload } from '../../../shared/capture/records';
import { encodeRfbPixelFormat, type RfbPixelFormat } from '../../../shared/rfb/pixel-format';
import { RfbServerStreamReader } from '../../../shared/rfb/server-stream';
import { goldenHeader, goldenRecords } from '../../unit/capture/golden';
import type { FuzzTarget } from '../harness/target';

/**
 * Geometry is bounded by CAPTURE_MAX_DIMENSION (8192x8192, 256 MB): a real bound, but one
 * allocation that size per input would make the long run crawl, so records are applied to
 * the picture only while it stays under this many pixels. The parse still runs on all of them.
 */
const APPLY_MAX_PIXELS = 1 << 20;

function small(g: Geometry | null): boolean {
  return !g || g.width * g.height <= APPLY_MAX_PIXELS;
}

function apply(state: FrameState, rec: CaptureRecord): void {
  const g = rec.type === 'geometry' || rec.type === 'keyframe' ? rec.geometry : state.geometry;
  if (!small(g)) return;
  state.apply(rec);
  const want = state.geometry ? state.geometry.width * state.geometry.height * state.bytesPerPixel : 0;
  if (state.pixels.length !== want) throw new Error(`frame of ${state.pixels.length} bytes for a geometry of ${want}`);
}

/** Rewrite the CRC of every record whose header is whole (walks lengths as the decoder does). */
function fixCrcs(file: Uint8Array): Uint8Array {
  const b = Uint8Array.from(file);
  const dv = new DataView(b.buffer);
  let o = CAPTURE_HEADER_SIZE;
  while (o + RECORD_HEADER_SIZE <= b.length) {
    let h;
    try {
      h = decodeRecordHeader(b, o);
    } catch {
      break;
    }
    const end = o + RECORD_HEADER_SIZE + h.length;
    if (end > b.length) break;
    const crc = zlib.crc32(b.subarray(o + RECORD_HEADER_SIZE, end), zlib.crc32(b.subarray(o, o + 12)));
    dv.setUint32(o + 12, crc >>> 0, true);
    o = end;
  }
  return b;
}

/** A small capture as the writer makes it: header, keyframe, damage, copy, index, END. */
function writtenCapture(): Uint8Array {
  const file = path.join(os.tmpdir(), `xenvfb-fuzz-seed-${process.pid}.xvc`);
  const geometry = { width: 16, height: 8, format: PIXEL_FORMAT_XRGB8888 };
  const w = new CaptureWriter(file, { startUnixMs: 1_700_000_000_000, keyframeIntervalMs: 100 });
  w.append({ type: 'keyframe', timeMs: 0, geometry, pixels: new Uint8Array(16 * 8 * 4).fill(0x40) });
  w.append({
    type: 'damage',
    timeMs: 40,
    bytesPerPixel: 4,
    rects: [{ x: 2, y: 1, width: 3, height: 2 }],
    pixels: new Uint8Array(24).fill(9),
  });
  w.append({ type: 'copy', timeMs: 80, copies: [{ dstX: 0, dstY: 0, width: 4, height: 4, srcX: 8, srcY: 2 }] });
  w.append({ type: 'keyframe', timeMs: 120, geometry, pixels: new Uint8Array(16 * 8 * 4).fill(0x80) });
  w.append({ type: 'timing', timeMs: 130, kind: 1, seq: 3 });
  w.close();
  try {
    return new Uint8Array(fs.readFileSync(file));
  } finally {
    fs.rmSync(file, { force: true });
  }
}

function goldenFile(): Uint8Array {
  return Buffer.concat([goldenHeader(1_700_000_000_000, 0), ...goldenRecords().map(([, , bytes]) => bytes)]);
}

const stream: FuzzTarget = {
  name: 'capture-stream',
  description: 'a capture file decoded record by record as it streams in, each record applied to the picture',
  covers: ['shared/capture/', 'shared/bytes.ts'],
  maxLength: 8192,
  seeds: () =>
    [goldenFile(), writtenCapture()].flatMap((f) => [Buffer.concat([Buffer.of(1 | (63 << 1)), f]), Buffer.concat([Buffer.of(6), f])]),
  run(input) {
    const c = input[0] ?? 0;
    const file = (c & 1) === 1 ? fixCrcs(input.subarray(1)) : input.subarray(1);
    const piece = 1 + (c >> 1) * 16;
    const d = new CaptureStreamDecoder();
    const state = new FrameState();
    for (let o = 0; o < file.length; o += piece) {
      d.push(file.subarray(o, o + piece));
      for (let step = d.next(); step.kind !== 'need'; step = d.next()) {
        if (step.kind === 'record' && step.record.type !== 'unknown') apply(state, step.record);
      }
    }
  },
};

const payload: FuzzTarget = {
  name: 'capture-payload',
  description: 'one capture record payload (first byte: record type), decoded without framing or checksum',
  covers: ['shared/capture/records.ts', 'shared/capture/frame-state.ts', 'shared/bytes.ts'],
  maxLength: 4096,
  seeds: () => goldenRecords().map(([, , bytes]) => Buffer.concat([bytes.subarray(0, 1), bytes.subarray(RECORD_HEADER_SIZE)])),
  run(input) {
    const body = decodePayload(input[0] ?? 0, input.subarray(1));
    if (!body) return;
    const state = new FrameState();
    apply(state, { ...body, timeMs: 0 } as CaptureRecord);
  },
};

const FILE = path.join(os.tmpdir(), `xenvfb-fuzz-capture-${process.pid}.xvc`);

const file: FuzzTarget = {
  name: 'capture-file',
  description: 'a capture file opened from disk as `capture info` and `replay` do: index or scan, records, seek',
  covers: ['backend/capture/capture-file.ts', 'shared/capture/'],
  maxLength: 8192,
  seeds: () => [goldenFile(), writtenCapture(), fixCrcs(writtenCapture().subarray(0, 200))],
  run(input) {
    fs.writeFileSync(FILE, input);
    let f: CaptureFile;
    try {
      f = CaptureFile.open(FILE);
    } finally {
      fs.rmSync(FILE, { force: true });
    }
    try {
      let records = 0;
      for (const { record } of f.records()) if (record.type !== 'unknown') records++;
      if (records > input.length / RECORD_HEADER_SIZE) throw new Error(`${records} records in ${input.length} bytes`);
      for (const k of f.index.keyframes)
        if (k.offset < CAPTURE_HEADER_SIZE || k.offset >= f.size) throw new Error(`keyframe at ${k.offset} outside the file`);
      if (f.index.keyframes.length) {
        const probe = (t: number): void => {
          const { state } = f.frameAt(t);
          if (!small(state.geometry)) return;
          const want = state.geometry ? state.geometry.width * state.geometry.height * state.bytesPerPixel : 0;
          if (state.pixels.length !== want) throw new Error('seek built a frame that does not match its geometry');
        };
        probe(f.durationMs / 2);
        probe(f.durationMs);
      }
    } finally {
      f.close();
    }
  },
};

const PF = PIXEL_FORMAT_XRGB8888 as RfbPixelFormat;
const W = 48;
const H = 24;

function handshake(pf: RfbPixelFormat): Buffer {
  return new ByteWriter().ascii('RFB 003.003\n').u32be(1).u16be(W).u16be(H).bytes(encodeRfbPixelFormat(pf)).u32be(4).ascii('fuzz').finish();
}

/** One FramebufferUpdate of a small desktop-like picture, per encoding our server has. */
function updates(): Uint8Array[] {
  const data = new Uint8Array(W * H * 4);
  for (let i = 0; i < W * H; i++) {
    const x = i % W;
    const y = (i / W) | 0;
    data[i * 4] = x < W / 2 ? 240 : (x * 5) & 0xff;
    data[i * 4 + 1] = y < H / 2 ? 240 : (y * 11) & 0xff;
    data[i * 4 + 2] = (x ^ y) & 0xff;
  }
  const s = { width: W, height: H, stride: W * 4, format: PIXEL_FORMAT_XRGB8888, data };
  const out: Uint8Array[] = [];
  for (const enc of [
    RfbEncoding.Raw,
    RfbEncoding.RRE,
    RfbEncoding.Hextile,
    RfbEncoding.Zlib,
    RfbEncoding.ZRLE,
    RfbEncoding.Tight,
    RfbEncoding.TightPNG,
  ]) {
    const m = new EncodeManager();
    m.setClientEncodings([enc]);
    const rects = m.split([{ x: 0, y: 0, width: W, height: H }]);
    const w = new ByteWriter(1 << 16);
    w.u8(0).u8(0).u16be(rects.length);
    for (const r of rects) m.encodeRect(s, r, PIXEL_FORMAT_XRGB8888, w);
    out.push(Uint8Array.from(w.finish()));
  }
  // CopyRect and a DesktopSize pseudo-rect, by hand.
  out.push(new ByteWriter().u8(0).u8(0).u16be(1).u16be(4).u16be(4).u16be(8).u16be(8).u32be(1).u16be(0).u16be(0).finish());
  out.push(
    new ByteWriter()
      .u8(0)
      .u8(0)
      .u16be(1)
      .u16be(0)
      .u16be(0)
      .u16be(32)
      .u16be(16)
      .u32be(-223 >>> 0)
      .finish(),
  );
  return out;
}

const HANDSHAKE = handshake(PF);

const serverStream: FuzzTarget = {
  name: 'rfb-server-stream',
  description: 'the RFB server messages an FBS recording carries (after a fixed 48x24 handshake), through the rect decoders',
  covers: ['shared/rfb/', 'shared/bytes.ts'],
  maxLength: 16384,
  seeds: updates,
  run(input) {
    const reader = new RfbServerStreamReader(Buffer.concat([HANDSHAKE, input]));
    while (!reader.done) reader.next();
    if (reader.fb.pixels.length !== reader.fb.width * reader.fb.height * reader.fb.bpp)
      throw new Error('framebuffer pixels do not match its size');
  },
};

export const targets = [stream, payload, file, serverStream];
