// FBS -> capture records: decode the recorded RFB stream (shared/rfb) and emit, per
// FramebufferUpdate, DAMAGE records with the decoded pixels and COPY records for CopyRects,
// in rect order, at the time of the FBS block that completes the update; a KEYFRAME at the
// start, on every resize and every keyframe interval. Pure: bytes in, records to a callback.

import { isXenvfbError, type ErrorCode } from '../errors';
import type { Rect } from '../region';
import { RfbServerStreamReader, type UpdatePart } from '../rfb/server-stream';
import { parseFbs } from './fbs';
import type { CaptureRecord, CopyRect, Geometry } from './format';

export interface FbsImportOptions {
  keyframeIntervalMs: number;
  /** Called now and then with (bytes decoded, total). */
  progress?: (done: number, total: number) => void;
  /** Where the recording came from, for the META record. */
  source?: string;
}

export interface FbsImportSummary {
  version: string;
  width: number;
  height: number;
  name: string;
  updates: number;
  rects: Record<string, number>;
  durationMs: number;
  /** Set when the recording ends early (cut block or cut message): what was read is kept. */
  truncated: { code: ErrorCode; message: string } | null;
}

export function importFbs(file: Uint8Array, emit: (r: CaptureRecord) => void, opts: FbsImportOptions): FbsImportSummary {
  const fbs = parseFbs(file);
  const stream = Buffer.concat(fbs.blocks.map((b) => b.data));
  // End offset of each block in the stream, to time a message by the block that completes it.
  const ends: number[] = [];
  let total = 0;
  for (const b of fbs.blocks) ends.push((total += b.data.length));
  const timeAt = (end: number): number => {
    let lo = 0;
    let hi = ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ends[mid]! >= end) hi = mid;
      else lo = mid + 1;
    }
    return fbs.blocks[lo]?.timeMs ?? 0;
  };
  const reader = new RfbServerStreamReader(stream, true);
  const init = reader.init;
  const summary: FbsImportSummary = {
    version: fbs.version,
    width: init.width,
    height: init.height,
    name: init.name,
    updates: 0,
    rects: {},
    durationMs: 0,
    truncated: null,
  };
  const geometry = (): Geometry => ({ width: reader.fb.width, height: reader.fb.height, format: init.format });
  const t0 = timeAt(reader.offset);
  emit({
    type: 'meta',
    timeMs: t0,
    meta: { source: opts.source ?? 'fbs', fbsVersion: fbs.version, rfbVersion: init.version, desktopName: init.name },
  });
  emit({ type: 'keyframe', timeMs: t0, geometry: geometry(), pixels: reader.fb.pixels.slice() });
  let lastKey = t0;
  let lastTime = t0;
  let lastReport = 0;
  try {
    while (!reader.done) {
      const ev = reader.next();
      const t = Math.max(lastTime, timeAt(ev.end));
      lastTime = t;
      if (ev.kind !== 'update') continue;
      summary.updates++;
      emitUpdate(ev.parts, t, reader, emit);
      if (ev.parts.some((p) => p.kind === 'resize')) lastKey = t;
      if (opts.keyframeIntervalMs > 0 && t - lastKey >= opts.keyframeIntervalMs) {
        emit({ type: 'keyframe', timeMs: t, geometry: geometry(), pixels: reader.fb.pixels.slice() });
        lastKey = t;
      }
      if (opts.progress && ev.end - lastReport > 1 << 20) opts.progress((lastReport = ev.end), stream.length);
    }
  } catch (e) {
    if (!isXenvfbError(e, 'FBS_E_TRUNCATED')) throw e;
    summary.truncated = { code: e.code, message: e.message };
  }
  if (fbs.truncatedAt !== null && !summary.truncated) {
    summary.truncated = { code: 'FBS_E_TRUNCATED', message: `the FBS file ends inside a block at offset ${fbs.truncatedAt}` };
  }
  opts.progress?.(stream.length, stream.length);
  summary.rects = { ...reader.decoder.counts };
  summary.durationMs = lastTime;
  return summary;
}

/** Emit one update's records in rect order, each with the pixels it drew at the time. */
function emitUpdate(parts: UpdatePart[], t: number, reader: RfbServerStreamReader, emit: (r: CaptureRecord) => void): void {
  let damage: Rect[] = [];
  let data: Uint8Array[] = [];
  let copies: CopyRect[] = [];
  const flush = (): void => {
    if (damage.length) emit({ type: 'damage', timeMs: t, bytesPerPixel: reader.fb.bpp, rects: damage, pixels: Buffer.concat(data) });
    if (copies.length) emit({ type: 'copy', timeMs: t, copies });
    damage = [];
    data = [];
    copies = [];
  };
  for (const p of parts) {
    if (p.kind === 'pixels') {
      if (copies.length) flush();
      damage.push(p.rect);
      data.push(p.data!);
    } else if (p.kind === 'copy') {
      if (damage.length) flush();
      copies.push({ srcX: p.srcX, srcY: p.srcY, dstX: p.rect.x, dstY: p.rect.y, width: p.rect.width, height: p.rect.height });
    } else if (p.kind === 'resize') {
      flush();
      const geometry = { width: p.width, height: p.height, format: reader.init.format };
      emit({ type: 'keyframe', timeMs: t, geometry, pixels: new Uint8Array(p.width * p.height * reader.fb.bpp) });
    } else if (p.kind === 'cursor') {
      flush();
      emit({
        type: 'cursor',
        timeMs: t,
        cursor: { x: 0, y: 0, hotX: p.hotX, hotY: p.hotY, width: p.width, height: p.height, visible: p.width > 0, rgba: p.rgba },
      });
    }
  }
  flush();
}
