// `xenvfb inspect --capture FILE`: the tile scans a recorder kept (TILE_SCAN records) read back
// as scan reports, with the screen at the end of the capture for --png.

import { PNG } from 'pngjs';
import { CaptureFile } from '../../../backend/capture/capture-file';
import { frameToRgba } from '../../../backend/capture/png-frames';
import type { ScanReport } from '../../../shared/dirty-tiles/scan-report';
import { reportFromTileScan } from '../../../shared/capture/tile-scans';

export interface CaptureScans {
  reports: ScanReport[];
  durationMs: number;
  /** The picture at the last scan kept (PNG), or null without one. */
  screenshot(): Buffer | null;
}

/** Scans between startMs and startMs + windowMs (all of them without a window). */
export function readCaptureScans(path: string, startMs = 0, windowMs = Infinity): CaptureScans {
  const f = CaptureFile.open(path);
  try {
    const reports: ScanReport[] = [];
    let width = 0;
    let height = 0;
    let seq = 0;
    for (const { record } of f.records()) {
      if (record.type === 'geometry' || record.type === 'keyframe') {
        width = record.geometry?.width ?? 0;
        height = record.geometry?.height ?? 0;
      } else if (record.type === 'tiles') {
        seq++;
        if (record.timeMs < startMs || record.timeMs > startMs + windowMs) continue;
        reports.push(reportFromTileScan(record.scan, seq, record.timeMs, width, height));
      }
    }
    const at = reports.length > 0 ? reports[reports.length - 1]!.t : Math.min(f.durationMs, startMs + windowMs);
    const frame = f.frameAt(at).state;
    const png = frame.geometry ? frameToRgba(frame) : null;
    return {
      reports,
      durationMs: f.durationMs,
      screenshot: () => {
        if (!png) return null;
        const p = new PNG({ width: png.width, height: png.height });
        png.rgba.copy(p.data);
        return PNG.sync.write(p);
      },
    };
  } finally {
    f.close();
  }
}
