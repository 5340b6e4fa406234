import { strict as assert } from 'assert';
import fc from 'fast-check';
import {
  XENKBD_TYPE_MOTION,
  XENKBD_TYPE_KEY,
  XENKBD_TYPE_POS,
  XENKBD_TYPE_MTOUCH,
  XENKBD_MT_EV_DOWN,
  XENKBD_MT_EV_UP,
  XENKBD_MT_EV_MOTION,
  XENKBD_MT_EV_SYN,
  XENKBD_MT_EV_SHAPE,
  XENKBD_MT_EV_ORIENT,
  XENKBD_IN_RING_OFFS,
  XENKBD_IN_RING_SIZE,
  XENKBD_IN_RING_LEN,
  XENKBD_OUT_RING_OFFS,
  XENKBD_OUT_RING_SIZE,
  XENKBD_OUT_RING_LEN,
  KbdPageOffsets,
  XenkbdField,
  BTN_LEFT,
  BTN_RIGHT,
  BTN_MIDDLE,
  encodeKbdInEvent,
  decodeKbdInEvent,
  decodeKbdOutEvent,
  xenkbdTypeName,
  xenkbdMtName,
  KbdInEvent,
} from '../../../shared/kbdif';
import { isXenvfbError, ErrorCode } from '../../../shared/errors';

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => isXenvfbError(e, code));
}

// ---- independent golden builders: literal offsets from kbdif.h ----
function slot(type: number): Buffer {
  const b = Buffer.alloc(40);
  b[0] = type;
  return b;
}
function goldenMotion(x: number, y: number, z: number): Buffer {
  const b = slot(1);
  b.writeInt32LE(x, 4);
  b.writeInt32LE(y, 8);
  b.writeInt32LE(z, 12);
  return b;
}
function goldenKey(pressed: number, keycode: number): Buffer {
  const b = slot(3);
  b[1] = pressed;
  b.writeUInt32LE(keycode, 4);
  return b;
}
function goldenPos(x: number, y: number, z: number): Buffer {
  const b = slot(4);
  b.writeInt32LE(x, 4);
  b.writeInt32LE(y, 8);
  b.writeInt32LE(z, 12);
  return b;
}
function goldenMt(sub: number, contact: number, fill?: (b: Buffer) => void): Buffer {
  const b = slot(5);
  b[1] = sub;
  b[2] = contact;
  fill?.(b);
  return b;
}

const u8 = (b: Buffer) => new Uint8Array(b);

describe('shared/kbdif', () => {
  it('constants match kbdif.h', () => {
    assert.deepEqual([XENKBD_TYPE_MOTION, XENKBD_TYPE_KEY, XENKBD_TYPE_POS, XENKBD_TYPE_MTOUCH], [1, 3, 4, 5]);
    assert.deepEqual(
      [XENKBD_MT_EV_DOWN, XENKBD_MT_EV_UP, XENKBD_MT_EV_MOTION, XENKBD_MT_EV_SYN, XENKBD_MT_EV_SHAPE, XENKBD_MT_EV_ORIENT],
      [0, 1, 2, 3, 4, 5],
    );
    assert.equal(XENKBD_IN_RING_OFFS, 1024);
    assert.equal(XENKBD_IN_RING_LEN, Math.floor(XENKBD_IN_RING_SIZE / 40));
    assert.equal(XENKBD_OUT_RING_OFFS, XENKBD_IN_RING_OFFS + XENKBD_IN_RING_SIZE);
    assert.equal(XENKBD_OUT_RING_LEN, Math.floor(XENKBD_OUT_RING_SIZE / 40));
    assert.equal(XENKBD_OUT_RING_OFFS + XENKBD_OUT_RING_SIZE, 4096);
    assert.deepEqual(KbdPageOffsets, { inCons: 0, inProd: 4, outCons: 8, outProd: 12 });
    assert.deepEqual([BTN_LEFT, BTN_RIGHT, BTN_MIDDLE], [0x110, 0x111, 0x112]);
    assert.equal(XenkbdField.FEATURE_ABS_POINTER, 'feature-abs-pointer');
    assert.equal(XenkbdField.REQ_ABS_POINTER, 'request-abs-pointer');
    assert.equal(XenkbdField.RING_GREF, 'page-gref');
    assert.equal(XenkbdField.MT_NUM_CONTACTS, 'multi-touch-num-contacts');
    assert.equal(xenkbdTypeName(3), 'XENKBD_TYPE_KEY');
    assert.equal(xenkbdMtName(5), 'XENKBD_MT_EV_ORIENT');
    assert.match(xenkbdTypeName(77), /77/);
  });

  const cases: Array<[string, KbdInEvent, Buffer]> = [
    ['motion', { type: 'motion', relX: 5, relY: -7, relZ: 1 }, goldenMotion(5, -7, 1)],
    ['motion s32 extremes', { type: 'motion', relX: -0x80000000, relY: 0x7fffffff, relZ: 0 }, goldenMotion(-0x80000000, 0x7fffffff, 0)],
    ['key press BTN_LEFT', { type: 'key', pressed: true, keycode: BTN_LEFT }, goldenKey(1, 0x110)],
    ['key release u32 max', { type: 'key', pressed: false, keycode: 0xffffffff }, goldenKey(0, 0xffffffff)],
    ['pos', { type: 'pos', absX: 799, absY: 599, relZ: -1 }, goldenPos(799, 599, -1)],
    [
      'mtouch down',
      { type: 'mtouch', eventType: XENKBD_MT_EV_DOWN, contactId: 3, absX: -10, absY: 20 },
      goldenMt(0, 3, (b) => {
        b.writeInt32LE(-10, 8);
        b.writeInt32LE(20, 12);
      }),
    ],
    [
      'mtouch motion',
      { type: 'mtouch', eventType: XENKBD_MT_EV_MOTION, contactId: 255, absX: 1, absY: 2 },
      goldenMt(2, 255, (b) => {
        b.writeInt32LE(1, 8);
        b.writeInt32LE(2, 12);
      }),
    ],
    ['mtouch up', { type: 'mtouch', eventType: XENKBD_MT_EV_UP, contactId: 1 }, goldenMt(1, 1)],
    ['mtouch syn', { type: 'mtouch', eventType: XENKBD_MT_EV_SYN, contactId: 0 }, goldenMt(3, 0)],
    [
      'mtouch shape',
      { type: 'mtouch', eventType: XENKBD_MT_EV_SHAPE, contactId: 2, major: 0xffffffff, minor: 4 },
      goldenMt(4, 2, (b) => {
        b.writeUInt32LE(0xffffffff, 8);
        b.writeUInt32LE(4, 12);
      }),
    ],
    [
      'mtouch orient',
      { type: 'mtouch', eventType: XENKBD_MT_EV_ORIENT, contactId: 2, orientation: -180 },
      goldenMt(5, 2, (b) => b.writeInt16LE(-180, 8)),
    ],
  ];
  for (const [name, ev, golden] of cases) {
    it(`${name}: decode, encode, round trip`, () => {
      assert.deepEqual(decodeKbdInEvent(golden), ev);
      assert.deepEqual(encodeKbdInEvent(ev), u8(golden));
      assert.deepEqual(decodeKbdInEvent(encodeKbdInEvent(ev)), ev);
    });
  }

  it('every event type decodes from the last slot of the in ring, with garbage in reserved bytes', () => {
    const lastSlot = XENKBD_IN_RING_OFFS + 40 * (XENKBD_IN_RING_LEN - 1);
    for (const [, ev, golden] of cases) {
      const page = Buffer.alloc(4096, 0xcc);
      golden.copy(page, lastSlot, 0, 16);
      const at = page.subarray(lastSlot, lastSlot + 40);
      if (ev.type === 'motion' || ev.type === 'pos') at.fill(0xcc, 1, 4);
      if (ev.type === 'key') at.fill(0xcc, 2, 4);
      if (ev.type === 'mtouch') at.fill(0xcc, 3, 8);
      if (ev.type === 'mtouch' && ev.eventType === XENKBD_MT_EV_ORIENT) at.fill(0xcc, 10, 16);
      assert.deepEqual(decodeKbdInEvent(at), ev);
    }
  });

  it('pressed is any non-zero byte', () => {
    assert.deepEqual(decodeKbdInEvent(goldenKey(2, 30)), { type: 'key', pressed: true, keycode: 30 });
  });

  it('unknown codes and MT sub-codes decode as unknown and re-encode', () => {
    for (const code of [0, 2, 6, 255]) assert.deepEqual(decodeKbdInEvent(slot(code)), { type: 'unknown', code });
    assert.deepEqual(decodeKbdInEvent(goldenMt(6, 1)), { type: 'unknown', code: 5, mtEventType: 6 });
    assert.deepEqual(encodeKbdInEvent({ type: 'unknown', code: 5, mtEventType: 6 }), u8(goldenMt(6, 0)));
    assert.deepEqual(encodeKbdInEvent({ type: 'unknown', code: 2 }), u8(slot(2)));
  });

  it('short slots and out-of-range fields throw typed errors', () => {
    throwsCode(() => decodeKbdInEvent(new Uint8Array(39)), 'BYTES_E_SHORT');
    throwsCode(() => encodeKbdInEvent({ type: 'key', pressed: true, keycode: -1 }), 'BYTES_E_RANGE');
    throwsCode(() => encodeKbdInEvent({ type: 'mtouch', eventType: XENKBD_MT_EV_UP, contactId: 256 }), 'BYTES_E_RANGE');
    throwsCode(
      () => encodeKbdInEvent({ type: 'mtouch', eventType: XENKBD_MT_EV_ORIENT, contactId: 0, orientation: 0x8000 }),
      'BYTES_E_RANGE',
    );
  });

  it('out ring: every slot is an unknown out event (FB_E_BAD_EVENT)', () => {
    throwsCode(() => decodeKbdOutEvent(slot(1)), 'FB_E_BAD_EVENT');
    throwsCode(() => decodeKbdOutEvent(new Uint8Array(3)), 'BYTES_E_SHORT');
  });

  it('fuzz: random 40-byte slots end in an event (never a throw) that re-encodes canonically', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 40, maxLength: 40 }), fc.constantFrom(undefined, 1, 3, 4, 5), (bytes, force) => {
        if (force !== undefined) bytes[0] = force;
        const ev = decodeKbdInEvent(bytes);
        assert.ok(['motion', 'key', 'pos', 'mtouch', 'unknown'].includes(ev.type));
        assert.deepEqual(decodeKbdInEvent(encodeKbdInEvent(ev)), ev);
      }),
      { numRuns: 3000 },
    );
  });
});
