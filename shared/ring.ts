// A Xen shared ring of fixed-size event slots inside one shared page, as used by fbif and
// kbdif (xen/include/public/io/fbif.h, kbdif.h: XENFB_*_RING_REF, XENKBD_*_RING_REF).
// Indices are free-running u32 counters kept in the same page; slot = idx % len. len is
// not a power of two (25, 51), so the slot sequence glitches once at u32 wrap-around;
// both ends compute it the same way, so that is harmless.
//
// Producer (QEMU xenfb_kbd_event): read prod, check space, write slot, barrier, publish
// prod. Consumer (QEMU xenfb_handle_events): read prod, barrier, copy slots, barrier,
// publish cons; if prod - cons exceeds the ring, the batch is discarded.
//
// The page is memory the other end can change at any time. Indices are read once per
// operation, and every slot handed out is a copy so that nothing parses guest memory twice.

import { xerror } from './errors';
import { XENFB_EVENT_SIZE, XENFB_IN_RING_OFFS, XENFB_IN_RING_SIZE, XENFB_OUT_RING_OFFS, XENFB_OUT_RING_SIZE, FbPageOffsets } from './fbif';
import {
  XENKBD_EVENT_SIZE,
  XENKBD_IN_RING_OFFS,
  XENKBD_IN_RING_SIZE,
  XENKBD_OUT_RING_OFFS,
  XENKBD_OUT_RING_SIZE,
  KbdPageOffsets,
} from './kbdif';

export interface RingLayout {
  /** Byte offset of the u32 consumer index in the page. */
  consOffset: number;
  /** Byte offset of the u32 producer index in the page. */
  prodOffset: number;
  /** Byte offset of slot 0. */
  ringOffset: number;
  /** Bytes given to the ring; len = floor(ringSize / slotSize). */
  ringSize: number;
  slotSize: number;
}

/** fbif out ring: frontend -> backend (update, resize). 51 slots. */
export const FB_OUT_RING: RingLayout = Object.freeze({
  consOffset: FbPageOffsets.outCons,
  prodOffset: FbPageOffsets.outProd,
  ringOffset: XENFB_OUT_RING_OFFS,
  ringSize: XENFB_OUT_RING_SIZE,
  slotSize: XENFB_EVENT_SIZE,
});

/** fbif in ring: backend -> frontend (refresh period). 25 slots. */
export const FB_IN_RING: RingLayout = Object.freeze({
  consOffset: FbPageOffsets.inCons,
  prodOffset: FbPageOffsets.inProd,
  ringOffset: XENFB_IN_RING_OFFS,
  ringSize: XENFB_IN_RING_SIZE,
  slotSize: XENFB_EVENT_SIZE,
});

/** kbdif in ring: backend -> frontend (motion, key, pos, mtouch). 51 slots. */
export const KBD_IN_RING: RingLayout = Object.freeze({
  consOffset: KbdPageOffsets.inCons,
  prodOffset: KbdPageOffsets.inProd,
  ringOffset: XENKBD_IN_RING_OFFS,
  ringSize: XENKBD_IN_RING_SIZE,
  slotSize: XENKBD_EVENT_SIZE,
});

/** kbdif out ring: frontend -> backend. No out events are defined; 25 slots. */
export const KBD_OUT_RING: RingLayout = Object.freeze({
  consOffset: KbdPageOffsets.outCons,
  prodOffset: KbdPageOffsets.outProd,
  ringOffset: XENKBD_OUT_RING_OFFS,
  ringSize: XENKBD_OUT_RING_SIZE,
  slotSize: XENKBD_EVENT_SIZE,
});

/** Number of slots in a ring. */
export function ringLen(layout: RingLayout): number {
  return Math.floor(layout.ringSize / layout.slotSize);
}

const HOST_IS_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * u32 index access. Atomics on a Uint32Array over the page give sequentially consistent
 * loads and stores (a full barrier on x86 and arm), which is the wmb/rmb the protocol
 * needs around the index updates. Atomics work on non-shared buffers too; a misaligned
 * page, a big-endian host, or an engine that refuses falls back to DataView.
 */
class RingIndices {
  private readonly words: Uint32Array | undefined;
  private readonly view: DataView;

  constructor(page: Uint8Array) {
    this.view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    this.words = RingIndices.tryWords(page);
  }

  private static tryWords(page: Uint8Array): Uint32Array | undefined {
    if (!HOST_IS_LE || page.byteOffset % 4 !== 0) return undefined;
    try {
      const words = new Uint32Array(page.buffer, page.byteOffset, Math.floor(page.byteLength / 4));
      Atomics.load(words, 0);
      return words;
    } catch {
      return undefined;
    }
  }

  load(offset: number): number {
    return this.words ? Atomics.load(this.words, offset >> 2) : this.view.getUint32(offset, true);
  }

  store(offset: number, value: number): void {
    if (this.words) Atomics.store(this.words, offset >> 2, value >>> 0);
    else this.view.setUint32(offset, value >>> 0, true);
  }
}

function checkLayout(page: Uint8Array, layout: RingLayout): number {
  const len = ringLen(layout);
  const end = layout.ringOffset + len * layout.slotSize;
  const badIndex = (o: number) => o % 4 !== 0 || o + 4 > page.byteLength;
  if (len < 1 || end > page.byteLength || badIndex(layout.consOffset) || badIndex(layout.prodOffset)) {
    throw xerror('BYTES_E_SHORT', `ring layout does not fit a ${page.byteLength}-byte page`, {
      pageSize: page.byteLength,
      ...layout,
    });
  }
  return len;
}

abstract class RingEnd {
  protected readonly idx: RingIndices;
  readonly len: number;

  constructor(
    protected readonly page: Uint8Array,
    readonly layout: RingLayout,
  ) {
    this.len = checkLayout(page, layout);
    this.idx = new RingIndices(page);
  }

  protected slotAt(i: number): number {
    return this.layout.ringOffset + (i % this.len) * this.layout.slotSize;
  }

  /** Current (prod, cons) as written in the page; for logs and tests. */
  indices(): { prod: number; cons: number } {
    return { prod: this.idx.load(this.layout.prodOffset), cons: this.idx.load(this.layout.consOffset) };
  }
}

/** The writing end of a ring. Notify the other end after a successful push. */
export class RingProducer extends RingEnd {
  /** Slots the producer may still fill. A consumer index that is ahead of prod or further
   * behind than the ring holds (a broken or hostile peer) leaves no free slot. */
  freeSlots(): number {
    const used = (this.idx.load(this.layout.prodOffset) - this.idx.load(this.layout.consOffset)) >>> 0;
    return used >= this.len ? 0 : this.len - used;
  }

  /** Copy one event into the next slot (zero padded) and publish it; false when full. */
  push(slot: Uint8Array): boolean {
    if (slot.byteLength > this.layout.slotSize) {
      throw xerror('BYTES_E_RANGE', `event of ${slot.byteLength} bytes exceeds slot size ${this.layout.slotSize}`, {
        size: slot.byteLength,
        slotSize: this.layout.slotSize,
      });
    }
    const prod = this.idx.load(this.layout.prodOffset);
    const cons = this.idx.load(this.layout.consOffset);
    if ((prod - cons) >>> 0 >= this.len) return false;
    const at = this.slotAt(prod);
    this.page.set(slot, at);
    this.page.fill(0, at + slot.byteLength, at + this.layout.slotSize);
    this.idx.store(this.layout.prodOffset, (prod + 1) >>> 0);
    return true;
  }

  /** push() that throws RING_E_FULL instead of returning false. */
  pushOrThrow(slot: Uint8Array): void {
    if (!this.push(slot)) {
      throw xerror('RING_E_FULL', `ring at offset ${this.layout.ringOffset} is full`, {
        ...this.indices(),
        len: this.len,
      });
    }
  }
}

/** The reading end of a ring. */
export class RingConsumer extends RingEnd {
  /** prod - cons as u32. A value above `len` means the producer overflowed the ring; the
   * next drain() discards the batch and throws RING_E_OVERFLOW. */
  pending(): number {
    return (this.idx.load(this.layout.prodOffset) - this.idx.load(this.layout.consOffset)) >>> 0;
  }

  /**
   * Hand up to `max` pending slots, each a private copy, to fn, oldest first, then publish
   * the new cons. If fn throws, the slots up to and including the one that threw count as
   * consumed and the rest stay in the ring. Returns the number consumed.
   */
  drain(fn: (slot: Uint8Array) => void, max = Infinity): number {
    const prod = this.idx.load(this.layout.prodOffset);
    const cons = this.idx.load(this.layout.consOffset);
    const avail = (prod - cons) >>> 0;
    if (avail > this.len) {
      // QEMU xenfb_handle_events: "ring overflow" -> drop everything the producer claims.
      this.idx.store(this.layout.consOffset, prod);
      throw xerror('RING_E_OVERFLOW', `ring producer ${prod} is ${avail} ahead of consumer ${cons}, ring holds ${this.len}`, {
        prod,
        cons,
        len: this.len,
      });
    }
    const n = Math.min(avail, Math.max(0, Math.floor(max)));
    let consumed = 0;
    try {
      while (consumed < n) {
        const at = this.slotAt((cons + consumed) >>> 0);
        // new Uint8Array(view) copies; Buffer#slice would not.
        const copy = new Uint8Array(this.page.subarray(at, at + this.layout.slotSize));
        consumed++;
        fn(copy);
      }
    } finally {
      if (consumed > 0) this.idx.store(this.layout.consOffset, (cons + consumed) >>> 0);
    }
    return consumed;
  }
}
