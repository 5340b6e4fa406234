// `replay --to-png DIR --every MS`: the picture every MS ms of a capture as PNG files,
// walking the records once in order (no seek per frame).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import type { CaptureRecord } from '../../shared/capture/format';
import { FrameState } from '../../shared/capture/frame-state';
import { pixelToRgb, readPixel } from '../../shared/rfb/pixel-format';
import type { CaptureFile, ScanProgress } from './capture-file';

/** RGBA8888 of a frame (for PNG files and picture comparisons). */
export function frameToRgba(state: FrameState): { width: number; height: number; rgba: Buffer } {
  const g = state.geometry;
  if (!g) return { width: 0, height: 0, rgba: Buffer.alloc(0) };
  const bpp = g.format.bitsPerPixel >> 3;
  const rgba = Buffer.alloc(g.width * g.height * 4);
  for (let i = 0; i < g.width * g.height; i++) {
    const [r, gr, b] = pixelToRgb(readPixel(state.pixels, i * bpp, g.format), g.format);
    rgba[i * 4] = r;
    rgba[i * 4 + 1] = gr;
    rgba[i * 4 + 2] = b;
    rgba[i * 4 + 3] = 255;
  }
  return { width: g.width, height: g.height, rgba };
}

export function writePng(file: string, state: FrameState): void {
  const { width, height, rgba } = frameToRgba(state);
  const png = new PNG({ width, height });
  rgba.copy(png.data);
  fs.writeFileSync(file, PNG.sync.write(png));
}

/** Frames at startMs, startMs + everyMs, ... up to the end; returns the files written. */
export function writePngFrames(f: CaptureFile, dir: string, opts: { startMs: number; everyMs: number; progress?: ScanProgress }): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const { state, next } = f.frameAt(opts.startMs);
  let at = opts.startMs;
  const emit = (): void => {
    if (!state.geometry) return;
    const file = path.join(dir, `frame-${String(at).padStart(9, '0')}ms.png`);
    writePng(file, state);
    files.push(file);
  };
  emit();
  at += opts.everyMs;
  for (const { record, offset } of f.records(next)) {
    if (record.type === 'unknown') continue;
    while (record.timeMs >= at && at <= f.durationMs) {
      emit();
      at += opts.everyMs;
    }
    state.apply(record as CaptureRecord);
    opts.progress?.(offset, f.dataEnd);
  }
  if (at <= f.durationMs) emit();
  return files;
}
