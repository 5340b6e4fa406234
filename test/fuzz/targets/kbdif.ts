// kbdif parsers (xen/include/public/io/kbdif.h). The guest's frontend parses the in ring the
// backend fills; the backend refuses every out-ring slot (kbdif defines no out events).

import { decodeKbdInEvent, decodeKbdOutEvent, encodeKbdInEvent } from '../../../shared/kbdif';
import { XEN_PAGE_SIZE } from '../../../shared/page';
import { KBD_IN_RING, KBD_OUT_RING, RingConsumer } from '../../../shared/ring';
import { isXenvfbError } from '../../../shared/errors';
import type { FuzzTarget } from '../harness/target';

const COVERS = ['shared/kbdif.ts', 'shared/ring.ts', 'shared/bytes.ts'];

const inEvent: FuzzTarget = {
  name: 'kbdif-in-event',
  description: 'one 40-byte in-ring slot (motion, key, pos, multi-touch)',
  covers: COVERS,
  maxLength: 64,
  seeds: () => [
    encodeKbdInEvent({ type: 'key', pressed: true, keycode: 30 }),
    encodeKbdInEvent({ type: 'pos', absX: 100, absY: 200, relZ: -1 }),
    encodeKbdInEvent({ type: 'motion', relX: -3, relY: 4, relZ: 0 }),
  ],
  run(input) {
    decodeKbdInEvent(input);
  },
};

const rings: FuzzTarget = {
  name: 'kbdif-rings',
  description: 'both rings of the vkbd shared page: in slots decoded as the frontend does, out slots refused',
  covers: COVERS,
  maxLength: XEN_PAGE_SIZE,
  run(input) {
    const page = new Uint8Array(XEN_PAGE_SIZE);
    page.set(input.subarray(0, XEN_PAGE_SIZE));
    for (const [layout, decode] of [
      [KBD_IN_RING, decodeKbdInEvent],
      [KBD_OUT_RING, decodeKbdOutEvent],
    ] as const) {
      try {
        new RingConsumer(page, layout).drain((slot) => {
          try {
            decode(slot);
          } catch (e) {
            if (!isXenvfbError(e, 'FB_E_BAD_EVENT')) throw e;
          }
        });
      } catch (e) {
        if (!isXenvfbError(e, 'RING_E_OVERFLOW')) throw e;
      }
    }
  },
};

export const targets = [inEvent, rings];
