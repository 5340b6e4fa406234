// Guest-side fbif parsers (xen/include/public/io/fbif.h): what a hostile or buggy guest
// writes into its shared page, its directory pages and its out ring.

import {
  XEN_IO_PROTO_ABI_ARM,
  XEN_IO_PROTO_ABI_X86_32,
  XEN_IO_PROTO_ABI_X86_64,
  decodeFbOutEvent,
  dirPagesNeeded,
  fbPagesNeeded,
  encodeFbOutEvent,
  parseFbAbi,
  readFbFrames,
  readFbPageHeader,
  validateFbGeometry,
  writeDirPages,
  writeFbPageHeader,
  writePd,
} from '../../../shared/fbif';
import { XEN_PAGE_SIZE } from '../../../shared/page';
import { errorCode, isXenvfbError } from '../../../shared/errors';
import { FB_OUT_RING, RingConsumer } from '../../../shared/ring';
import type { FuzzTarget } from '../harness/target';

const COVERS = ['shared/fbif.ts', 'shared/ring.ts', 'shared/bytes.ts'];
const PROTOCOLS = [undefined, XEN_IO_PROTO_ABI_X86_64, XEN_IO_PROTO_ABI_X86_32, XEN_IO_PROTO_ABI_ARM, 'sparc-abi'];

/** The first page of the input, zero-padded: what the backend maps. */
function page(input: Uint8Array): Uint8Array {
  const p = new Uint8Array(XEN_PAGE_SIZE);
  p.set(input.subarray(0, XEN_PAGE_SIZE));
  return p;
}

const outEvent: FuzzTarget = {
  name: 'fbif-out-event',
  description: 'one 40-byte out-ring slot (UPDATE / RESIZE) from the guest, then the RESIZE geometry check',
  covers: COVERS,
  maxLength: 64,
  seeds: () => [
    encodeFbOutEvent({ type: 'update', x: 1, y: 2, width: 3, height: 4 }),
    encodeFbOutEvent({ type: 'resize', width: 1920, height: 1080, stride: 7680, depth: 32, offset: 0 }),
  ],
  run(input) {
    const ev = decodeFbOutEvent(input);
    if (ev.type === 'resize') validateFbGeometry({ ...ev, memLength: 1920 * 1080 * 4 });
  },
};

/** u8 protocol selector @0 | page (4096) @1 | directory pages after it. */
const sharedPage: FuzzTarget = {
  name: 'fbif-page',
  description: 'the xenfb shared page (mode, pd[]) and the directory pages it names, as vfb connect reads them',
  covers: COVERS,
  maxLength: 1 + 5 * XEN_PAGE_SIZE,
  seeds: () => {
    const memLength = 7680 * 1080;
    const frames = Array.from({ length: fbPagesNeeded(memLength) }, (_, i) => 0x1000 + i);
    const nDirs = dirPagesNeeded(frames.length, 'x86_64-abi');
    const p = new Uint8Array(XEN_PAGE_SIZE);
    writeFbPageHeader(p, { width: 1920, height: 1080, lineLength: 7680, memLength, depth: 32 });
    writePd(
      p,
      'x86_64-abi',
      Array.from({ length: nDirs }, (_, i) => 0x100 + i),
    );
    const dirs = new Uint8Array(nDirs * XEN_PAGE_SIZE);
    writeDirPages(dirs, 'x86_64-abi', frames);
    return [new Uint8Array([1, ...p, ...dirs])];
  },
  run(input) {
    const protocol = PROTOCOLS[(input[0] ?? 0) % PROTOCOLS.length];
    const p = page(input.subarray(1));
    const abi = parseFbAbi(protocol, p);
    const h = readFbPageHeader(p);
    const g = validateFbGeometry({ width: h.width, height: h.height, stride: h.lineLength, depth: h.depth, memLength: h.memLength });
    const frames = readFbFrames(p, abi, g.memLength, () => input.subarray(1 + XEN_PAGE_SIZE));
    if (frames.length !== Math.ceil(g.memLength / XEN_PAGE_SIZE)) throw new Error(`${frames.length} frames for ${g.memLength} bytes`);
    if (!frames.every((f) => Number.isSafeInteger(f) && f >= 0)) throw new Error('a frame number is not a safe non-negative integer');
  },
};

const outRing: FuzzTarget = {
  name: 'fbif-out-ring',
  description: 'the out ring of the shared page (indices and slots), drained the way the vfb backend does',
  covers: COVERS,
  maxLength: XEN_PAGE_SIZE,
  run(input) {
    const consumer = new RingConsumer(page(input), FB_OUT_RING);
    let n = 0;
    consumer.drain(() => {
      n++;
      if (n > 51) throw new Error('drained more slots than the ring holds');
    });
    // The vfb backend decodes each slot on its own and counts the bad ones.
    const again = new RingConsumer(page(input), FB_OUT_RING);
    try {
      again.drain((slot) => {
        try {
          decodeFbOutEvent(slot);
        } catch (e) {
          if (!isXenvfbError(e)) throw e;
        }
      });
    } catch (e) {
      if (errorCode(e) !== 'RING_E_OVERFLOW') throw e;
    }
  },
};

export const targets = [outEvent, sharedPage, outRing];
