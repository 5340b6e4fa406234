import { strict as assert } from 'assert';
import fc from 'fast-check';
import { FB_OUT_RING, FB_IN_RING, KBD_IN_RING, KBD_OUT_RING, RingLayout, RingProducer, RingConsumer, ringLen } from '../../../shared/ring';
import { encodeFbOutEvent, decodeFbOutEvent, FbOutEvent } from '../../../shared/fbif';
import { encodeKbdInEvent, decodeKbdInEvent, KbdInEvent, XENKBD_MT_EV_SHAPE } from '../../../shared/kbdif';
import { isXenvfbError, ErrorCode } from '../../../shared/errors';

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => isXenvfbError(e, code));
}

// Independent view of a page: literal offsets from fbif.h / kbdif.h.
const FB = { inCons: 0, inProd: 4, outCons: 8, outProd: 12, inRing: 1024, outRing: 2048 };
const KBD = { inCons: 0, inProd: 4, outCons: 8, outProd: 12, inRing: 1024, outRing: 3072 };

function newPage(): Buffer {
  return Buffer.alloc(4096);
}

function goldenUpdate(x: number): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 2;
  b.writeInt32LE(x, 4);
  b.writeInt32LE(x + 1, 8);
  b.writeInt32LE(x + 2, 12);
  b.writeInt32LE(x + 3, 16);
  return b;
}
const update = (x: number): FbOutEvent => ({ type: 'update', x, y: x + 1, width: x + 2, height: x + 3 });

function drainAll(c: RingConsumer): Uint8Array[] {
  const out: Uint8Array[] = [];
  c.drain((s) => out.push(s));
  return out;
}

describe('shared/ring', () => {
  it('layouts match fbif.h and kbdif.h', () => {
    assert.deepEqual({ ...FB_OUT_RING }, { consOffset: 8, prodOffset: 12, ringOffset: 2048, ringSize: 2048, slotSize: 40 });
    assert.deepEqual({ ...FB_IN_RING }, { consOffset: 0, prodOffset: 4, ringOffset: 1024, ringSize: 1024, slotSize: 40 });
    assert.deepEqual({ ...KBD_IN_RING }, { consOffset: 0, prodOffset: 4, ringOffset: 1024, ringSize: 2048, slotSize: 40 });
    assert.deepEqual({ ...KBD_OUT_RING }, { consOffset: 8, prodOffset: 12, ringOffset: 3072, ringSize: 1024, slotSize: 40 });
    assert.deepEqual([FB_OUT_RING, FB_IN_RING, KBD_IN_RING, KBD_OUT_RING].map(ringLen), [51, 25, 51, 25]);
  });

  describe('consumer on a golden page', () => {
    it('reads slots at literal offsets, publishes cons, copies each slot', () => {
      const page = newPage();
      for (let i = 0; i < 3; i++) goldenUpdate(10 * i).copy(page, FB.outRing + 40 * i);
      page.writeUInt32LE(3, FB.outProd);
      const c = new RingConsumer(page, FB_OUT_RING);
      assert.equal(c.pending(), 3);
      const slots = drainAll(c);
      assert.deepEqual(slots.map(decodeFbOutEvent), [update(0), update(10), update(20)]);
      assert.equal(page.readUInt32LE(FB.outCons), 3);
      assert.equal(c.pending(), 0);
      page.fill(0xff, FB.outRing, FB.outRing + 40);
      assert.deepEqual(decodeFbOutEvent(slots[0]!), update(0), 'slot is a copy, not a view of the page');
      assert.ok(!Buffer.isBuffer(slots[0]));
    });

    it('every kbd event type at the last slot and across the wrap to slot 0', () => {
      const events: KbdInEvent[] = [
        { type: 'motion', relX: 1, relY: -1, relZ: 0 },
        { type: 'key', pressed: true, keycode: 0x110 },
        { type: 'pos', absX: 5, absY: 6, relZ: 7 },
        { type: 'mtouch', eventType: XENKBD_MT_EV_SHAPE, contactId: 1, major: 2, minor: 3 },
      ];
      const page = newPage();
      const start = 49; // slots 49, 50, 0, 1
      page.writeUInt32LE(start, KBD.inCons);
      page.writeUInt32LE(start, KBD.inProd);
      const p = new RingProducer(page, KBD_IN_RING);
      for (const ev of events) assert.ok(p.push(encodeKbdInEvent(ev)));
      assert.equal(page.readUInt32LE(KBD.inProd), start + 4);
      assert.equal(page[KBD.inRing + 40 * 49], 1, 'motion in slot 49');
      assert.equal(page[KBD.inRing + 40 * 50], 3, 'key in slot 50');
      assert.equal(page[KBD.inRing + 40 * 0], 4, 'pos wrapped to slot 0');
      assert.equal(page[KBD.inRing + 40 * 1], 5, 'mtouch in slot 1');
      assert.equal(page.readUInt32LE(KBD.inRing + 40 * 50 + 4), 0x110);
      const got = drainAll(new RingConsumer(page, KBD_IN_RING)).map(decodeKbdInEvent);
      assert.deepEqual(got, events);
      assert.equal(page.readUInt32LE(KBD.inCons), start + 4);
    });
  });

  describe('producer', () => {
    it('writes golden bytes at literal offsets and zero-pads short slots', () => {
      const page = newPage();
      page.fill(0xee, FB.outRing, FB.outRing + 80);
      const p = new RingProducer(page, FB_OUT_RING);
      assert.ok(p.push(encodeFbOutEvent(update(7))));
      assert.ok(p.push(Uint8Array.of(9)));
      assert.deepEqual(page.subarray(FB.outRing, FB.outRing + 40), goldenUpdate(7));
      const second = Buffer.alloc(40);
      second[0] = 9;
      assert.deepEqual(page.subarray(FB.outRing + 40, FB.outRing + 80), second);
      assert.equal(page.readUInt32LE(FB.outProd), 2);
      assert.equal(page.readUInt32LE(FB.outCons), 0, 'producer never writes cons');
      throwsCode(() => p.push(new Uint8Array(41)), 'BYTES_E_RANGE');
    });

    it('fills exactly len slots, then reports full; a drain frees one', () => {
      for (const layout of [FB_OUT_RING, FB_IN_RING, KBD_IN_RING, KBD_OUT_RING]) {
        const page = newPage();
        const p = new RingProducer(page, layout);
        const len = ringLen(layout);
        assert.equal(p.freeSlots(), len);
        for (let i = 0; i < len; i++) assert.ok(p.push(Uint8Array.of(2)), `slot ${i}`);
        assert.equal(p.freeSlots(), 0);
        assert.equal(p.push(Uint8Array.of(2)), false);
        throwsCode(() => p.pushOrThrow(Uint8Array.of(2)), 'RING_E_FULL');
        assert.equal(page.readUInt32LE(layout.prodOffset), len);
        const c = new RingConsumer(page, layout);
        assert.equal(c.pending(), len, 'a full ring is not an overflow');
        assert.equal(
          c.drain(() => undefined, 1),
          1,
        );
        assert.equal(p.freeSlots(), 1);
        assert.ok(p.push(Uint8Array.of(2)));
        assert.equal(
          c.drain(() => undefined),
          len,
        );
      }
    });

    it('a consumer index ahead of prod (hostile peer) leaves no free slot', () => {
      const page = newPage();
      page.writeUInt32LE(5, FB.inCons);
      page.writeUInt32LE(3, FB.inProd);
      const p = new RingProducer(page, FB_IN_RING);
      assert.equal(p.freeSlots(), 0);
      assert.equal(p.push(Uint8Array.of(1)), false);
      assert.equal(page.readUInt32LE(FB.inProd), 3);
    });
  });

  describe('indices near 2^32', () => {
    it('prod wraps from 0xffffffff to 0 and the u32 distance stays right', () => {
      const page = newPage();
      const start = 0xfffffffd;
      page.writeUInt32LE(start, FB.outCons);
      page.writeUInt32LE(start, FB.outProd);
      const p = new RingProducer(page, FB_OUT_RING);
      const c = new RingConsumer(page, FB_OUT_RING);
      // 2^32 = 1 (mod 51): idx 0xfffffffd..0xffffffff -> slots 49, 50, 0; idx 0, 1 -> 0, 1.
      assert.equal(0xfffffffd % 51, 49);
      assert.equal(0xffffffff % 51, 0);
      const got: FbOutEvent[] = [];
      for (let i = 0; i < 3; i++) assert.ok(p.push(encodeFbOutEvent(update(i))));
      assert.deepEqual(decodeFbOutEvent(page.subarray(FB.outRing + 40 * 49, FB.outRing + 40 * 50)), update(0));
      assert.deepEqual(decodeFbOutEvent(page.subarray(FB.outRing + 40 * 50, FB.outRing + 40 * 51)), update(1));
      assert.deepEqual(decodeFbOutEvent(page.subarray(FB.outRing, FB.outRing + 40)), update(2));
      assert.equal(page.readUInt32LE(FB.outProd), 0);
      assert.equal(c.pending(), 3);
      c.drain((s) => got.push(decodeFbOutEvent(s)));
      for (let i = 3; i < 5; i++) assert.ok(p.push(encodeFbOutEvent(update(i))));
      assert.equal(page.readUInt32LE(FB.outProd), 2);
      assert.equal(p.freeSlots(), 51 - 2);
      c.drain((s) => got.push(decodeFbOutEvent(s)));
      assert.deepEqual(got, [0, 1, 2, 3, 4].map(update));
      assert.equal(page.readUInt32LE(FB.outCons), 2);
    });

    it('idx 0xffffffff and idx 0 share slot 0, exactly as XENFB_OUT_RING_REF computes it', () => {
      // The protocol's own glitch (LEN is not a power of two): both ends use idx % LEN, so
      // we must too. An event still in flight at 0xffffffff is overwritten by idx 0.
      const page = newPage();
      page.writeUInt32LE(0xffffffff, FB.outCons);
      page.writeUInt32LE(0xffffffff, FB.outProd);
      const p = new RingProducer(page, FB_OUT_RING);
      p.push(encodeFbOutEvent(update(1)));
      p.push(encodeFbOutEvent(update(2)));
      const got = drainAll(new RingConsumer(page, FB_OUT_RING)).map(decodeFbOutEvent);
      assert.deepEqual(got, [update(2), update(2)]);
    });

    it('a full ring straddling the wrap is full, not overflowed', () => {
      const page = newPage();
      page.writeUInt32LE(0xffffffff - 10, FB.outCons);
      page.writeUInt32LE((0xffffffff - 10 + 51) >>> 0, FB.outProd);
      assert.equal(new RingProducer(page, FB_OUT_RING).freeSlots(), 0);
      assert.equal(
        new RingConsumer(page, FB_OUT_RING).drain(() => undefined),
        51,
      );
    });
  });

  describe('overflow', () => {
    for (const [name, cons, prod] of [
      ['len + 1 ahead', 100, 152],
      ['across the wrap', 0xfffffff0, (0xfffffff0 + 52) >>> 0],
      ['prod behind cons', 10, 9],
    ] as const) {
      it(`${name}: throws RING_E_OVERFLOW, discards the batch (cons = prod), calls nothing`, () => {
        const page = newPage();
        page.writeUInt32LE(cons, FB.outCons);
        page.writeUInt32LE(prod, FB.outProd);
        const c = new RingConsumer(page, FB_OUT_RING);
        assert.equal(c.pending(), (prod - cons) >>> 0);
        let called = 0;
        assert.throws(
          () => c.drain(() => called++),
          (e: unknown) => isXenvfbError(e, 'RING_E_OVERFLOW') && e.details.prod === prod && e.details.cons === cons,
        );
        assert.equal(called, 0);
        assert.equal(page.readUInt32LE(FB.outCons), prod);
        assert.equal(
          c.drain(() => called++),
          0,
        );
      });
    }
  });

  describe('drain', () => {
    it('max limits the batch and leaves the rest pending', () => {
      const page = newPage();
      const p = new RingProducer(page, FB_OUT_RING);
      for (let i = 0; i < 5; i++) p.push(encodeFbOutEvent(update(i)));
      const c = new RingConsumer(page, FB_OUT_RING);
      const seen: FbOutEvent[] = [];
      assert.equal(
        c.drain((s) => seen.push(decodeFbOutEvent(s)), 2),
        2,
      );
      assert.equal(c.pending(), 3);
      assert.equal(
        c.drain(() => undefined, 0),
        0,
      );
      c.drain((s) => seen.push(decodeFbOutEvent(s)));
      assert.deepEqual(seen, [0, 1, 2, 3, 4].map(update));
    });

    it('a throwing handler consumes its slot and leaves later ones', () => {
      const page = newPage();
      const p = new RingProducer(page, FB_OUT_RING);
      p.push(encodeFbOutEvent(update(0)));
      p.push(Uint8Array.of(77)); // unknown out event
      p.push(encodeFbOutEvent(update(2)));
      const c = new RingConsumer(page, FB_OUT_RING);
      throwsCode(() => c.drain((s) => decodeFbOutEvent(s)), 'FB_E_BAD_EVENT');
      assert.equal(page.readUInt32LE(FB.outCons), 2);
      const rest: FbOutEvent[] = [];
      c.drain((s) => rest.push(decodeFbOutEvent(s)));
      assert.deepEqual(rest, [update(2)]);
    });

    it('reads prod once per drain: events produced during the callback wait for the next drain', () => {
      const page = newPage();
      const p = new RingProducer(page, FB_OUT_RING);
      const c = new RingConsumer(page, FB_OUT_RING);
      p.push(encodeFbOutEvent(update(0)));
      assert.equal(
        c.drain(() => p.push(encodeFbOutEvent(update(1)))),
        1,
      );
      assert.equal(c.pending(), 1);
    });
  });

  describe('page placement', () => {
    it('works on a misaligned view (DataView fallback) with the same bytes', () => {
      const backing = new Uint8Array(4096 + 3);
      const page = backing.subarray(3, 3 + 4096);
      const p = new RingProducer(page, KBD_IN_RING);
      p.push(encodeKbdInEvent({ type: 'key', pressed: true, keycode: 30 }));
      const b = Buffer.from(backing.buffer, 3, 4096);
      assert.equal(b.readUInt32LE(KBD.inProd), 1);
      assert.equal(b[KBD.inRing], 3);
      assert.deepEqual(drainAll(new RingConsumer(page, KBD_IN_RING)).map(decodeKbdInEvent), [{ type: 'key', pressed: true, keycode: 30 }]);
      assert.equal(b.readUInt32LE(KBD.inCons), 1);
    });

    it('refuses a layout that does not fit the page', () => {
      throwsCode(() => new RingConsumer(new Uint8Array(3072 + 25 * 40 - 1), KBD_OUT_RING), 'BYTES_E_SHORT');
      const bad: RingLayout = { ...FB_OUT_RING, prodOffset: 13 };
      throwsCode(() => new RingProducer(new Uint8Array(4096), bad), 'BYTES_E_SHORT');
      throwsCode(() => new RingProducer(new Uint8Array(4096), { ...FB_OUT_RING, ringSize: 39 }), 'BYTES_E_SHORT');
      new RingConsumer(new Uint8Array(2048 + 51 * 40), FB_OUT_RING);
      new RingConsumer(new Uint8Array(3072 + 25 * 40), KBD_OUT_RING);
    });
  });

  it('fuzz: random push/drain sequences from any start index match a slot-array model', () => {
    // Model of the C macros: slots[idx % LEN], free-running u32 prod/cons.
    const LEN = 51;
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0xffffffff - 120, max: 0xffffffff })),
        fc.array(fc.oneof(fc.record({ push: fc.integer({ min: 1, max: 60 }) }), fc.record({ drain: fc.integer({ min: 0, max: 60 }) })), {
          maxLength: 40,
        }),
        (start, ops) => {
          const page = newPage();
          page.writeUInt32LE(start, FB.outCons);
          page.writeUInt32LE(start, FB.outProd);
          const p = new RingProducer(page, FB_OUT_RING);
          const c = new RingConsumer(page, FB_OUT_RING);
          const slots: number[] = new Array(LEN).fill(-1);
          let prod = start;
          let cons = start;
          let next = 0;
          for (const op of ops) {
            if ('push' in op) {
              for (let i = 0; i < op.push; i++) {
                const ok = p.push(encodeFbOutEvent(update(next)));
                assert.equal(ok, (prod - cons) >>> 0 < LEN);
                if (ok) {
                  slots[prod % LEN] = next++;
                  prod = (prod + 1) >>> 0;
                }
              }
            } else {
              const want: number[] = [];
              const n = Math.min(op.drain, (prod - cons) >>> 0);
              for (let i = 0; i < n; i++) want.push(slots[((cons + i) >>> 0) % LEN]!);
              cons = (cons + n) >>> 0;
              const got: number[] = [];
              const consumed = c.drain((s) => {
                const ev = decodeFbOutEvent(s);
                got.push(ev.type === 'update' ? ev.x : -1);
              }, op.drain);
              assert.deepEqual(got, want);
              assert.equal(consumed, n);
            }
            assert.equal(page.readUInt32LE(FB.outProd), prod);
            assert.equal(page.readUInt32LE(FB.outCons), cons);
            assert.equal(c.pending(), (prod - cons) >>> 0);
            assert.equal(p.freeSlots(), LEN - ((prod - cons) >>> 0));
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
