// File-level capture tools: FBS import and export, and the summary `capture info` prints.
// The codecs are pure (shared/capture/); this is the file glue around them.

import * as fs from 'node:fs';
import { isXenvfbError, xerror } from '../../shared/errors';
import { importFbs, type FbsImportSummary } from '../../shared/capture/fbs-import';
import { FbsExporter } from '../../shared/capture/fbs-export';
import type { CaptureRecord, Geometry } from '../../shared/capture/format';
import { CaptureFile, type IndexHealth, type ScanProgress, type TailProblem } from './capture-file';
import { CaptureWriter } from './capture-writer';

/** Default keyframe interval of imported and recorded captures. */
export const DEFAULT_KEYFRAME_INTERVAL_MS = 5000;

/** Largest FBS file read into memory for import (FBS has no index to stream by). */
export const FBS_MAX_FILE = 1 << 30;

export function importFbsFile(
  input: string,
  output: string,
  opts: { keyframeIntervalMs?: number; progress?: ScanProgress } = {},
): FbsImportSummary {
  const size = fs.statSync(input).size;
  if (size > FBS_MAX_FILE) throw xerror('FBS_E_BAD_STREAM', `${input} is ${size} bytes, more than FBS_MAX_FILE (1 GiB)`);
  const bytes = fs.readFileSync(input);
  const keyframeIntervalMs = opts.keyframeIntervalMs ?? DEFAULT_KEYFRAME_INTERVAL_MS;
  let writer: CaptureWriter | null = null;
  try {
    const summary = importFbs(
      bytes,
      (rec) => {
        writer ??= new CaptureWriter(output, { keyframeIntervalMs, startUnixMs: Math.floor(fs.statSync(input).mtimeMs) });
        writer.append(rec);
      },
      { keyframeIntervalMs, progress: opts.progress, source: `fbs:${input}` },
    );
    (writer as CaptureWriter | null)?.close();
    return summary;
  } catch (e) {
    (writer as CaptureWriter | null)?.abandon();
    if (writer) fs.rmSync(output, { force: true });
    throw e;
  }
}

export function exportFbsFile(input: string, output: string, progress?: ScanProgress): { updates: number; bytes: number } {
  const f = CaptureFile.open(input);
  try {
    const name = String(metaOf(f)?.desktopName ?? 'xenvfb capture');
    const ex = new FbsExporter({ name });
    let last = 0;
    for (const { record, offset } of f.records()) {
      if (record.type !== 'unknown') ex.add(record as CaptureRecord);
      if (progress && offset - last > 8 << 20) progress((last = offset), f.dataEnd);
    }
    progress?.(f.dataEnd, f.dataEnd);
    const out = ex.finish();
    fs.writeFileSync(output, out);
    return { updates: ex.updates, bytes: out.length };
  } finally {
    f.close();
  }
}

function metaOf(f: CaptureFile): Record<string, unknown> | null {
  for (const { record } of f.records()) {
    if (record.type === 'meta') return record.meta;
    if (record.type === 'keyframe') return null;
  }
  return null;
}

export interface CaptureInfo {
  file: string;
  bytes: number;
  version: string;
  startedAt: string;
  durationMs: number;
  frames: number;
  records: number;
  keyframes: number;
  keyframeIntervalMs: number;
  geometry: { width: number; height: number; bitsPerPixel: number; depth: number } | null;
  index: IndexHealth;
  tail: TailProblem | null;
  meta: Record<string, unknown> | null;
}

export function captureInfo(path: string, progress?: ScanProgress): CaptureInfo {
  const f = CaptureFile.open(path, progress);
  try {
    let geometry: Geometry | null = null;
    const first = f.index.keyframes[0];
    if (first) {
      const { record } = f.recordAt(first.offset);
      if (record.type === 'keyframe') geometry = record.geometry;
    }
    let meta: Record<string, unknown> | null = null;
    try {
      meta = metaOf(f);
    } catch (e) {
      if (!isXenvfbError(e)) throw e;
    }
    return {
      file: path,
      bytes: f.size,
      version: `${f.header.versionMajor}.${f.header.versionMinor}`,
      startedAt: new Date(f.header.startUnixMs).toISOString(),
      durationMs: f.durationMs,
      frames: f.index.frames,
      records: f.index.records,
      keyframes: f.index.keyframes.length,
      keyframeIntervalMs: f.header.keyframeIntervalMs,
      geometry: geometry && {
        width: geometry.width,
        height: geometry.height,
        bitsPerPixel: geometry.format.bitsPerPixel,
        depth: geometry.format.depth,
      },
      index: f.indexHealth,
      tail: f.tail,
      meta,
    };
  } finally {
    f.close();
  }
}

const INDEX_TEXT: Record<IndexHealth, string> = {
  ok: 'ok (written at close)',
  missing: 'missing: rebuilt by a scan (the writer did not close the file: killed or still recording)',
  bad: 'bad: rebuilt by a scan (the index record is corrupt)',
};

export function formatCaptureInfo(i: CaptureInfo): string {
  const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;
  const g = i.geometry;
  return [
    `file        ${i.file} (${mb(i.bytes)})`,
    `format      xenvfb capture ${i.version}, started ${i.startedAt}${i.meta?.source ? `, from ${String(i.meta.source)}` : ''}`,
    `duration    ${(i.durationMs / 1000).toFixed(3)} s`,
    `frames      ${i.frames} (${i.records} records, ${i.keyframes} keyframes${i.keyframeIntervalMs ? `, every ${i.keyframeIntervalMs / 1000} s` : ''})`,
    `geometry    ${g ? `${g.width}x${g.height}, ${g.bitsPerPixel} bpp, depth ${g.depth}` : 'none (no keyframe)'}`,
    `index       ${INDEX_TEXT[i.index]}`,
    `end         ${i.tail ? `readable up to offset ${i.tail.offset}: ${i.tail.code} (${i.tail.message})` : 'complete'}`,
  ].join('\n');
}
