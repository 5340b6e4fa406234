// Recorded sessions for bench:peers: an FBS recording or a xenvfb capture, turned into what
// each server plays. The picture at the first keyframe is the start; every later record that
// changes pixels is a step at its recorded time (pixels of the rects it changed, or a copy),
// all in 32-bit 0x00RRGGBB so that no server converts pixels. Written twice from the same
// steps: a capture file without compression (for `xenvfb replay`) and a session file of our
// own (c/bench-session.h) for the LibVNCServer peer and the TigerVNC painter. Keyframes after
// the first are left out when they change nothing (else they are a full-screen step), as are
// cursor, input and timing records.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { CaptureWriter } from '../../../backend/capture/capture-writer';
import { importFbs } from '../../../shared/capture/fbs-import';
import { CaptureStreamDecoder } from '../../../shared/capture/framing';
import type { CaptureRecord, CopyRect, Geometry } from '../../../shared/capture/format';
import { FrameState } from '../../../shared/capture/frame-state';
import type { Rect } from '../../../shared/region';
import { pixelToRgb, readPixel, type RfbPixelFormat } from '../../../shared/rfb/pixel-format';

/** 32-bit 0x00RRGGBB little-endian: B, G, R, X in memory, what every server here serves. */
export const XRGB8888: RfbPixelFormat = {
  bitsPerPixel: 32,
  depth: 24,
  bigEndian: false,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 16,
  greenShift: 8,
  blueShift: 0,
};

export type SessionOp = { kind: 'pixels'; rect: Rect; bgrx: Uint8Array } | { kind: 'copy'; copy: CopyRect };

export interface SessionStep {
  /** From the start picture, ms of recorded time. */
  timeMs: number;
  ops: SessionOp[];
}

export interface Session {
  name: string;
  width: number;
  height: number;
  /** B, G, R, X */
  first: Uint8Array;
  steps: SessionStep[];
  /** B, G, R, X: the picture after the last step. */
  last: Uint8Array;
  durationMs: number;
}

export interface PreparedSession extends Omit<Session, 'steps' | 'first'> {
  steps: number;
  /** Pixels written by the steps, copies not counted. */
  pixels: number;
  copies: number;
  /** For `xenvfb replay`. */
  capture: string;
  /** For peer-server and peer-xroot (c/bench-session.h). */
  stream: string;
}

function readRecords(file: string): CaptureRecord[] {
  const bytes = fs.readFileSync(file);
  const records: CaptureRecord[] = [];
  if (file.endsWith('.fbs')) {
    importFbs(bytes, (r) => records.push(r), { keyframeIntervalMs: 0 });
    return records;
  }
  const decoder = new CaptureStreamDecoder();
  decoder.push(bytes);
  for (let step = decoder.next(); step.kind !== 'need'; step = decoder.next()) {
    if (step.kind === 'record' && step.record.type !== 'end') records.push(step.record as CaptureRecord);
  }
  return records;
}

/** Packed pixels of format `f` as B, G, R, X. */
export function toBgrx(src: Uint8Array, f: RfbPixelFormat): Uint8Array {
  const bpp = f.bitsPerPixel >> 3;
  const n = src.length / bpp;
  if (bpp === 4 && !f.bigEndian && f.redMax === 255 && f.greenMax === 255 && f.blueMax === 255 && f.redShift === 16 && f.greenShift === 8) {
    const out = new Uint8Array(src);
    for (let i = 3; i < out.length; i += 4) out[i] = 0;
    return out;
  }
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const [r, g, b] = pixelToRgb(readPixel(src, i * bpp, f), f);
    out[i * 4] = b;
    out[i * 4 + 1] = g;
    out[i * 4 + 2] = r;
  }
  return out;
}

/** The steps of a recording (FBS, or a xenvfb capture), checked to keep one size. */
export function loadSession(file: string, name = path.basename(file).replace(/\.[^.]*$/, '')): Session {
  const records = readRecords(file);
  const state = new FrameState();
  const startAt = records.findIndex((r) => r.type === 'keyframe');
  if (startAt < 0) throw new Error(`${file} holds no keyframe: nothing to start a session from`);
  const t0 = records[startAt]!.timeMs;
  let i = 0;
  for (; i < records.length && (i <= startAt || records[i]!.timeMs <= t0); i++) state.apply(records[i]!);
  const g = state.geometry as Geometry;
  const first = toBgrx(state.pixels, g.format);
  const steps: SessionStep[] = [];
  for (; i < records.length; i++) {
    const rec = records[i]!;
    if (rec.type !== 'keyframe' && rec.type !== 'geometry' && rec.type !== 'damage' && rec.type !== 'copy') continue;
    const before = rec.type === 'keyframe' ? state.pixels.slice() : null;
    state.apply(rec);
    if (!state.geometry || state.geometry.width !== g.width || state.geometry.height !== g.height)
      throw new Error(`${file} changes size at ${rec.timeMs} ms: a session keeps one size`);
    const timeMs = rec.timeMs - t0;
    let step = steps[steps.length - 1];
    const op = (o: SessionOp) => {
      if (!step || step.timeMs !== timeMs) steps.push((step = { timeMs, ops: [] }));
      step.ops.push(o);
    };
    const pixels = (rect: Rect) => op({ kind: 'pixels', rect, bgrx: toBgrx(state.readRect(rect), g.format) });
    if (rec.type === 'copy') for (const copy of rec.copies) op({ kind: 'copy', copy });
    else if (rec.type === 'damage') rec.rects.forEach(pixels);
    // A later keyframe is the picture as it is (nothing to play) unless a live capture's differs.
    else if (before && Buffer.compare(before, state.pixels) !== 0) pixels({ x: 0, y: 0, width: g.width, height: g.height });
  }
  return {
    name,
    width: g.width,
    height: g.height,
    first,
    steps,
    last: toBgrx(state.pixels, g.format),
    durationMs: steps.length ? steps[steps.length - 1]!.timeMs : 0,
  };
}

/** The session file of c/bench-session.h. */
export function encodeSessionStream(s: Session): Buffer {
  const parts: Uint8Array[] = [];
  const u32s = (...v: number[]): Buffer => {
    const b = Buffer.alloc(v.length * 4);
    v.forEach((x, k) => b.writeUInt32LE(x, k * 4));
    return b;
  };
  parts.push(Buffer.from('XVFBSES1'), u32s(s.width, s.height, s.steps.length), s.first);
  for (const st of s.steps) {
    parts.push(u32s(st.timeMs, st.ops.length));
    for (const op of st.ops) {
      if (op.kind === 'pixels') parts.push(u32s(1, op.rect.x, op.rect.y, op.rect.width, op.rect.height), op.bgrx);
      else {
        const c = op.copy;
        parts.push(u32s(2, c.dstX, c.dstY, c.width, c.height, c.srcX, c.srcY));
      }
    }
  }
  return Buffer.concat(parts);
}

/** The same session as a capture file for `xenvfb replay`, pixels not compressed. */
export function writeSessionCapture(s: Session, file: string): void {
  const geometry: Geometry = { width: s.width, height: s.height, format: XRGB8888 };
  const w = new CaptureWriter(file, { compress: false, startUnixMs: 0 });
  w.append({ type: 'keyframe', timeMs: 0, geometry, pixels: s.first });
  for (const st of s.steps) {
    for (const op of st.ops) {
      if (op.kind === 'pixels') w.append({ type: 'damage', timeMs: st.timeMs, bytesPerPixel: 4, rects: [op.rect], pixels: op.bgrx });
      else w.append({ type: 'copy', timeMs: st.timeMs, copies: [op.copy] });
    }
  }
  w.close();
}

/** Load `file` and write both forms into `dir`. */
export function prepareSession(file: string, dir: string): PreparedSession {
  const s = loadSession(file);
  const capture = path.join(dir, `${s.name}.xvfbcap`);
  const stream = path.join(dir, `${s.name}.session`);
  writeSessionCapture(s, capture);
  fs.writeFileSync(stream, encodeSessionStream(s));
  let pixels = 0;
  let copies = 0;
  for (const st of s.steps)
    for (const op of st.ops) {
      if (op.kind === 'pixels') pixels += op.rect.width * op.rect.height;
      else copies++;
    }
  return {
    name: s.name,
    width: s.width,
    height: s.height,
    last: s.last,
    durationMs: s.durationMs,
    steps: s.steps.length,
    pixels,
    copies,
    capture,
    stream,
  };
}

/** B, G, R, X -> R, G, B (what parsePpm gives), for comparing with the client's picture. */
export function bgrxToRgb(bgrx: Uint8Array): Buffer {
  const out = Buffer.alloc((bgrx.length / 4) * 3);
  for (let i = 0, o = 0; i < bgrx.length; i += 4, o += 3) {
    out[o] = bgrx[i + 2]!;
    out[o + 1] = bgrx[i + 1]!;
    out[o + 2] = bgrx[i]!;
  }
  return out;
}
