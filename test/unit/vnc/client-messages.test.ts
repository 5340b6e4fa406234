import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';
import { BTN_LEFT, BTN_RIGHT, KEY_A, KEY_RIGHT } from '../../../backend/input/linux-input-codes';
import { parseClientMessage, RFB_MAX_CUT_TEXT, RFB_MAX_ENCODINGS } from '../../../backend/vnc/client-messages';
import { clientMessageName, encodingName, RfbEncoding } from '../../../backend/vnc/messages';
import { errorCode, isXenvfbError } from '../../../shared/errors';
import { clientCutText, connected, fur, keyEvent, pointerEvent, qemuExtKey, setEncodings, setPixelFormat } from './helpers';

const code = (e: Error | undefined): string | undefined => errorCode(e);

/** Each message, and what the session must do with it (as input calls and output length). */
const MESSAGES: Array<[string, Buffer]> = [
  ['SetPixelFormat', setPixelFormat({ ...PIXEL_FORMAT_XRGB8888, redShift: 0, blueShift: 16 })],
  ['SetEncodings', setEncodings([RfbEncoding.Raw, RfbEncoding.DesktopSize, RfbEncoding.LastRect])],
  ['FramebufferUpdateRequest', fur(false, 1, 1, 4, 4)],
  ['KeyEvent', keyEvent(true, 0x61)],
  ['PointerEvent', pointerEvent(1, 10, 5)],
  ['ClientCutText', clientCutText(Buffer.from('hello clipboard'))],
  ['QEMU', qemuExtKey(true, 0xff53, 0xcd)],
];

describe('vnc/client-messages', () => {
  for (const [name, bytes] of MESSAGES) {
    it(`${name}: split at every byte gives the same result as one chunk`, () => {
      const whole = connected();
      whole.session.receive(bytes);
      const wholeOut = whole.take();
      assert.equal(whole.session.closed, false);
      for (let cut = 1; cut < bytes.length; cut++) {
        const h = connected();
        h.session.receive(bytes.subarray(0, cut));
        h.session.receive(bytes.subarray(cut));
        assert.deepEqual(h.take(), wholeOut, `cut at ${cut}`);
        assert.deepEqual(h.input.calls, whole.input.calls, `cut at ${cut}`);
        assert.equal(h.session.closed, false);
      }
      const one = connected();
      for (const b of bytes) one.session.receive(Uint8Array.of(b));
      assert.deepEqual(one.take(), wholeOut);
    });
  }

  it('all messages back to back in one chunk', () => {
    const h = connected();
    h.session.receive(Buffer.concat(MESSAGES.map(([, b]) => b)));
    assert.equal(h.session.closed, false);
    assert.deepEqual(h.input.calls, [
      { kind: 'key', args: [KEY_A, true] },
      { kind: 'pointerAbs', args: [10, 5, 32, 16] },
      { kind: 'button', args: [BTN_LEFT, true] },
      { kind: 'key', args: [KEY_RIGHT, true] },
    ]);
  });

  it('parser says "need more" (null) for every proper prefix', () => {
    for (const [, bytes] of MESSAGES) {
      for (let n = 0; n < (bytes[0] === 6 ? 8 : bytes.length); n++) assert.equal(parseClientMessage(bytes.subarray(0, n)), null);
    }
  });

  for (const type of [1, 7, 100, 149, 247, 250, 252, 254]) {
    it(`unknown message type ${type} closes with RFB_E_BAD_MSG`, () => {
      const h = connected();
      h.session.receive(Uint8Array.of(type, 0, 0, 0, 0, 0, 0, 0));
      assert.equal(code(h.session.error), 'RFB_E_BAD_MSG');
      assert.equal(h.closedWith.count, 1);
      h.session.receive(keyEvent(true, 0x61));
      assert.equal(h.input.calls.length, 0, 'nothing is handled after close');
    });
  }

  it('QEMU subtypes other than ExtendedKeyEvent close with RFB_E_BAD_MSG', () => {
    const h = connected();
    h.session.receive(Uint8Array.of(255, 1, 0, 0));
    assert.equal(code(h.session.error), 'RFB_E_BAD_MSG');
  });

  it('ClientCutText at RFB_MAX_CUT_TEXT is read and dropped, one past closes RFB_E_OVERSIZE', () => {
    const ok = connected();
    const text = Buffer.alloc(RFB_MAX_CUT_TEXT, 0x41);
    ok.session.receive(clientCutText(text.subarray(0, 1000), RFB_MAX_CUT_TEXT));
    for (let o = 1000; o < RFB_MAX_CUT_TEXT; o += 65536) ok.session.receive(text.subarray(o, Math.min(RFB_MAX_CUT_TEXT, o + 65536)));
    ok.session.receive(keyEvent(true, 0x61));
    assert.equal(ok.session.closed, false);
    assert.deepEqual(ok.input.calls, [{ kind: 'key', args: [KEY_A, true] }]);
    const bad = connected();
    bad.session.receive(clientCutText(Buffer.alloc(0), RFB_MAX_CUT_TEXT + 1));
    assert.equal(code(bad.session.error), 'RFB_E_OVERSIZE');
  });

  it('SetEncodings at RFB_MAX_ENCODINGS is taken, one past closes RFB_E_OVERSIZE', () => {
    const ok = connected();
    ok.session.receive(setEncodings(Array.from({ length: RFB_MAX_ENCODINGS }, (_, i) => i)));
    assert.equal(ok.session.closed, false);
    const bad = connected();
    bad.session.receive(setEncodings(Array.from({ length: RFB_MAX_ENCODINGS + 1 }, (_, i) => i)).subarray(0, 4));
    assert.equal(code(bad.session.error), 'RFB_E_OVERSIZE');
  });

  it('pointer: position before buttons, transitions only, wheel on press, clamped', () => {
    const h = connected();
    h.session.receive(
      Buffer.concat([
        pointerEvent(0, 3, 4),
        pointerEvent(4, 3, 4),
        pointerEvent(4, 3, 4),
        pointerEvent(0, 500, 500),
        pointerEvent(8, 500, 500),
        pointerEvent(0, 500, 500),
        pointerEvent(16, 500, 500),
      ]),
    );
    assert.deepEqual(h.input.calls, [
      { kind: 'pointerAbs', args: [3, 4, 32, 16] },
      { kind: 'button', args: [BTN_RIGHT, true] },
      { kind: 'pointerAbs', args: [31, 15, 32, 16] },
      { kind: 'button', args: [BTN_RIGHT, false] },
      { kind: 'wheel', args: [1] },
      { kind: 'wheel', args: [-1] },
    ]);
  });

  it('held keys and buttons are released when the session closes', () => {
    const h = connected();
    h.session.receive(Buffer.concat([keyEvent(true, 0x41), pointerEvent(1, 0, 0)]));
    h.input.calls = [];
    h.session.close('test');
    assert.deepEqual(
      h.input.calls.map((c) => c.args).sort(),
      [
        [BTN_LEFT, false],
        [KEY_A, false],
      ].sort(),
    );
  });

  it('an exception from the InputSink closes only this session, receive() does not throw', () => {
    const h = connected();
    h.input.key = () => {
      throw new Error('sink broke');
    };
    h.session.receive(keyEvent(true, 0x61));
    assert.equal(h.session.closed, true);
    assert.match(h.session.closeReason!, /internal error: sink broke/);
  });

  it('fuzz: random client bytes end in a typed-error close or a live session, never a throw', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
        const h = connected();
        for (const c of chunks) h.session.receive(c);
        if (h.session.closed) {
          assert.ok(isXenvfbError(h.session.error), `untyped close: ${h.session.closeReason}`);
          assert.match(code(h.session.error)!, /^RFB_E_/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: valid messages with random fields never fail untyped', () => {
    const msg = fc.oneof(
      fc
        .tuple(
          fc.boolean(),
          fc.integer({ min: 0, max: 0xffff }),
          fc.integer({ min: 0, max: 0xffff }),
          fc.integer({ min: 0, max: 0xffff }),
          fc.integer({ min: 0, max: 0xffff }),
        )
        .map(([i, x, y, w, hh]) => fur(i, x, y, w, hh)),
      fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 0xffffffff })).map(([d, k]) => keyEvent(d, k)),
      fc
        .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }))
        .map(([m, x, y]) => pointerEvent(m, x, y)),
      fc
        .tuple(fc.boolean(), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }))
        .map(([d, k, c]) => qemuExtKey(d, k, c)),
      fc.array(fc.integer({ min: -0x80000000, max: 0x7fffffff }), { maxLength: 20 }).map(setEncodings),
    );
    fc.assert(
      fc.property(fc.array(msg, { maxLength: 20 }), (msgs) => {
        const h = connected();
        h.session.receive(Buffer.concat(msgs));
        assert.equal(h.session.closed, false, h.session.closeReason);
      }),
      { numRuns: 500 },
    );
  });

  it('name lookups for logs', () => {
    assert.equal(encodingName(-223), 'DesktopSize');
    assert.equal(encodingName(-224), 'LastRect');
    assert.equal(encodingName(-308), 'ExtendedDesktopSize');
    assert.equal(encodingName(-258), 'QEMUExtendedKeyEvent');
    assert.equal(encodingName(-26), 'JPEGQuality6');
    assert.equal(encodingName(12345), 'encoding(12345)');
    assert.equal(clientMessageName(3), 'FramebufferUpdateRequest');
  });
});
