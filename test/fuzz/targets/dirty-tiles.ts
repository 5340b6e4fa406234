// The dirty-tile page (docs/dirty-tiles.md §3): a page the guest writes at any time, read by
// the backend's header check and TileScanner. Besides "no unexpected throw", every scan's
// rects must lie inside the framebuffer (§6: garbage degrades, never reads or damages
// outside).

import { TileScanner } from '../../../backend/damage/tile-scanner';
import { DT_OFF, chooseTileGeometry, initTilePage, readTileHeader, validateTileHeader } from '../../../shared/dirty-tiles/page';
import { XEN_PAGE_SIZE } from '../../../shared/page';
import { isXenvfbError } from '../../../shared/errors';
import type { FuzzTarget } from '../harness/target';

const W = 1920;
const H = 1080;

/** page (4096) | then pairs (u16le offset, u8 value) poked between scans. */
const page: FuzzTarget = {
  name: 'dirty-tile-page',
  description: 'the dirty-tile page: header check, then four scans with guest pokes in between',
  covers: ['shared/dirty-tiles/', 'backend/damage/tile-scanner.ts', 'shared/bytes.ts'],
  maxLength: XEN_PAGE_SIZE + 64,
  seeds: () => {
    const p = new Uint8Array(XEN_PAGE_SIZE);
    initTilePage(p, chooseTileGeometry(W, H));
    p[DT_OFF.bitmap0 + 8] = 0xff;
    return [p];
  },
  run(input) {
    const p = new Uint8Array(XEN_PAGE_SIZE);
    p.set(input.subarray(0, XEN_PAGE_SIZE));
    try {
      validateTileHeader(readTileHeader(p), W, H);
    } catch (e) {
      if (!isXenvfbError(e)) throw e;
    }
    let now = 0;
    const scanner = new TileScanner(p, { fbWidth: W, fbHeight: H, periodMs: 20, now: () => now });
    const pokes = input.subarray(XEN_PAGE_SIZE);
    for (let round = 0; round < 4; round++) {
      for (let i = round * 12; i + 3 <= Math.min(pokes.length, (round + 1) * 12); i += 3) {
        p[(pokes[i]! | (pokes[i + 1]! << 8)) % XEN_PAGE_SIZE] = pokes[i + 2]!;
      }
      now += 400;
      const r = scanner.scan(true);
      for (const rect of r.rects) {
        if (rect.x < 0 || rect.y < 0 || rect.width <= 0 || rect.height <= 0 || rect.x + rect.width > W || rect.y + rect.height > H) {
          throw new Error(`scan damaged ${JSON.stringify(rect)} outside ${W}x${H}`);
        }
      }
    }
  },
};

export const target = page;
