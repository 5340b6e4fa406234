// Pseudo-encodings and extension messages: ExtendedDesktopSize / SetDesktopSize, DesktopName,
// QEMU ExtendedKeyEvent ack and LED state, ContinuousUpdates and Fence. Client messages are
// built and server messages decoded here, independently of the server's codec.

import { strict as assert } from 'node:assert';
import { KEY_1, KEY_A, KEY_CAPSLOCK, KEY_GRAVE, KEY_RIGHT, KEY_SLASH, BTN_LEFT, BTN_RIGHT } from '../../../backend/input/linux-input-codes';
import { keysymToLinux } from '../../../backend/input/keysym';
import { parseClientMessage, RFB_MAX_FENCE_PAYLOAD, RFB_MAX_SCREENS } from '../../../backend/vnc/client-messages';
import { RfbEncoding } from '../../../backend/vnc/messages';
import { errorCode, isXenvfbError } from '../../../shared/errors';
import {
  connected,
  fur,
  harness,
  keyEvent,
  patternSurface,
  pointerEvent,
  qemuExtKey,
  setEncodings,
  TestDisplay,
  VERSION_38,
  type Harness,
} from './helpers';

const code = (e: Error | undefined): string | undefined => errorCode(e);
const E = RfbEncoding;

// ---- client message builders ----

function enableCu(enable: boolean, x: number, y: number, w: number, h: number): Buffer {
  const b = Buffer.alloc(10);
  b[0] = 150;
  b[1] = enable ? 1 : 0;
  [x, y, w, h].forEach((v, i) => b.writeUInt16BE(v, 2 + 2 * i));
  return b;
}

function clientFence(flags: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(9);
  b[0] = 248;
  b.writeUInt32BE(flags >>> 0, 4);
  b[8] = payload.length;
  return Buffer.concat([b, payload]);
}

type Screen = [id: number, x: number, y: number, w: number, h: number, flags: number];
function setDesktopSize(w: number, h: number, screens: Screen[]): Buffer {
  const b = Buffer.alloc(8 + 16 * screens.length);
  b[0] = 251;
  b.writeUInt16BE(w, 2);
  b.writeUInt16BE(h, 4);
  b[6] = screens.length;
  screens.forEach(([id, x, y, sw, sh, flags], i) => {
    const o = 8 + 16 * i;
    b.writeUInt32BE(id, o);
    b.writeUInt16BE(x, o + 4);
    b.writeUInt16BE(y, o + 6);
    b.writeUInt16BE(sw, o + 8);
    b.writeUInt16BE(sh, o + 10);
    b.writeUInt32BE(flags, o + 12);
  });
  return b;
}

// ---- server message decoder (pseudo-rects, Raw, fences, EndOfContinuousUpdates) ----

type ServerMsg =
  | { kind: 'update'; rects: Array<{ x: number; y: number; w: number; h: number; enc: number; data: Buffer }> }
  | { kind: 'fence'; flags: number; payload: Buffer }
  | { kind: 'endOfCU' };

function decode(bytes: Buffer, bpp = 4): ServerMsg[] {
  const out: ServerMsg[] = [];
  let o = 0;
  while (o < bytes.length) {
    const type = bytes[o]!;
    if (type === 150) {
      out.push({ kind: 'endOfCU' });
      o += 1;
    } else if (type === 248) {
      const len = bytes[o + 8]!;
      out.push({ kind: 'fence', flags: bytes.readUInt32BE(o + 4), payload: bytes.subarray(o + 9, o + 9 + len) });
      o += 9 + len;
    } else if (type === 0) {
      const n = bytes.readUInt16BE(o + 2);
      o += 4;
      const rects = [];
      for (let i = 0; i < n; i++) {
        const [x, y, w, h] = [0, 2, 4, 6].map((k) => bytes.readUInt16BE(o + k)) as [number, number, number, number];
        const enc = bytes.readInt32BE(o + 8);
        o += 12;
        let len = 0;
        if (enc === 0) len = w * h * bpp;
        else if (enc === E.ExtendedDesktopSize) len = 4 + 16 * bytes[o]!;
        else if (enc === E.DesktopName) len = 4 + bytes.readUInt32BE(o);
        else if (enc === E.QEMULedState) len = 1;
        rects.push({ x, y, w, h, enc, data: bytes.subarray(o, o + len) });
        o += len;
      }
      out.push({ kind: 'update', rects });
    } else {
      throw new Error(`unexpected server message ${type} at ${o}`);
    }
  }
  return out;
}

function layoutOf(data: Buffer): Screen[] {
  const screens: Screen[] = [];
  for (let i = 0; i < data[0]!; i++) {
    const o = 4 + 16 * i;
    screens.push([
      data.readUInt32BE(o),
      data.readUInt16BE(o + 4),
      data.readUInt16BE(o + 6),
      data.readUInt16BE(o + 8),
      data.readUInt16BE(o + 10),
      data.readUInt32BE(o + 12),
    ]);
  }
  return screens;
}

function encs(h: Harness, list: number[]): ServerMsg[] {
  h.session.receive(setEncodings(list));
  return decode(h.take());
}

const REQUEST = 0x80000000;

describe('vnc/extensions: new client messages', () => {
  const cases: Array<[string, Buffer, object]> = [
    [
      'EnableContinuousUpdates',
      enableCu(true, 1, 2, 30, 40),
      { type: 'EnableContinuousUpdates', enable: true, x: 1, y: 2, width: 30, height: 40 },
    ],
    [
      'ClientFence',
      clientFence(REQUEST | 3, Buffer.from('abc')),
      { type: 'ClientFence', flags: (REQUEST | 3) >>> 0, payload: Uint8Array.from(Buffer.from('abc')) },
    ],
    [
      'SetDesktopSize',
      setDesktopSize(640, 480, [
        [7, 0, 0, 320, 480, 0],
        [8, 320, 0, 320, 480, 0],
      ]),
      {
        type: 'SetDesktopSize',
        width: 640,
        height: 480,
        screens: [
          { id: 7, x: 0, y: 0, width: 320, height: 480, flags: 0 },
          { id: 8, x: 320, y: 0, width: 320, height: 480, flags: 0 },
        ],
      },
    ],
  ];
  for (const [name, bytes, want] of cases) {
    it(`${name}: decodes, and every split point says "need more" until the last byte`, () => {
      assert.deepEqual(parseClientMessage(bytes), { message: want, size: bytes.length });
      for (let cut = 0; cut < bytes.length; cut++) assert.equal(parseClientMessage(bytes.subarray(0, cut)), null, `cut ${cut}`);
      const more = Buffer.concat([bytes, Buffer.of(3)]);
      assert.equal(parseClientMessage(more)!.size, bytes.length);
    });

    it(`${name}: the session gives the same output split at every byte`, () => {
      const prep = (h: Harness) => {
        h.session.receive(setEncodings([E.Raw, E.ExtendedDesktopSize, E.Fence, E.ContinuousUpdates]));
        h.take();
      };
      const whole = connected();
      prep(whole);
      whole.session.receive(bytes);
      const wholeOut = whole.take();
      assert.ok(wholeOut.length > 0, 'each of these messages is answered');
      for (let cut = 1; cut < bytes.length; cut++) {
        const h = connected();
        prep(h);
        h.session.receive(bytes.subarray(0, cut));
        h.session.receive(bytes.subarray(cut));
        assert.deepEqual(h.take(), wholeOut, `cut at ${cut}`);
        assert.equal(h.session.closed, false);
      }
    });
  }

  it(`ClientFence: a ${RFB_MAX_FENCE_PAYLOAD}-byte payload is taken, one more is RFB_E_OVERSIZE`, () => {
    assert.equal(parseClientMessage(clientFence(REQUEST, Buffer.alloc(RFB_MAX_FENCE_PAYLOAD)))!.size, 9 + RFB_MAX_FENCE_PAYLOAD);
    assert.throws(
      () => parseClientMessage(clientFence(REQUEST, Buffer.alloc(RFB_MAX_FENCE_PAYLOAD + 1))),
      (e: unknown) => isXenvfbError(e, 'RFB_E_OVERSIZE'),
    );
  });

  it(`SetDesktopSize: ${RFB_MAX_SCREENS} screens are taken, one more is RFB_E_OVERSIZE`, () => {
    const screens = (n: number): Screen[] => Array.from({ length: n }, (_, i) => [i + 1, 0, 0, 10, 10, 0] as Screen);
    assert.equal(parseClientMessage(setDesktopSize(10, 10, screens(RFB_MAX_SCREENS)))!.message.type, 'SetDesktopSize');
    const past = setDesktopSize(10, 10, screens(RFB_MAX_SCREENS + 1));
    // The count alone (first 8 bytes) is enough to refuse.
    assert.throws(
      () => parseClientMessage(past.subarray(0, 8)),
      (e: unknown) => isXenvfbError(e, 'RFB_E_OVERSIZE'),
    );
  });
});

describe('vnc/extensions: confirmations on SetEncodings', () => {
  it('Fence -> one ServerFence request, ContinuousUpdates -> one EndOfContinuousUpdates, only the first time', () => {
    const h = connected();
    assert.deepEqual(encs(h, [E.Raw, E.Fence, E.ContinuousUpdates]), [
      { kind: 'fence', flags: REQUEST, payload: Buffer.alloc(0) },
      { kind: 'endOfCU' },
    ]);
    assert.deepEqual(encs(h, [E.Raw, E.Fence, E.ContinuousUpdates]), []);
  });

  it('QEMU ExtendedKeyEvent: an ack rect (QEMU style: the screen size) each time it is listed', () => {
    const h = connected();
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(encs(h, [E.QEMUExtendedKeyEvent]), [
        { kind: 'update', rects: [{ x: 0, y: 0, w: 32, h: 16, enc: E.QEMUExtendedKeyEvent, data: Buffer.alloc(0) }] },
      ]);
    }
  });

  it('DesktopName: the name once', () => {
    const h = connected(new TestDisplay(patternSurface(32, 16), 'guest "ü"'));
    const [m] = encs(h, [E.DesktopName]);
    assert.ok(m?.kind === 'update');
    assert.equal(m.rects[0]!.enc, E.DesktopName);
    assert.deepEqual([m.rects[0]!.x, m.rects[0]!.y, m.rects[0]!.w, m.rects[0]!.h], [0, 0, 0, 0]);
    assert.equal(m.rects[0]!.data.subarray(4).toString('utf8'), 'guest "ü"');
    assert.deepEqual(encs(h, [E.DesktopName]), []);
  });

  it('QEMU LED state: sent on negotiation, then on every lock-key press, to every session of the guest', () => {
    const display = new TestDisplay(patternSurface(32, 16));
    const a = connected(display);
    const input = a.input;
    const b = harness(display, { input });
    b.session.receive(VERSION_38);
    b.session.receive(Uint8Array.of(1));
    b.session.receive(Uint8Array.of(1));
    b.take();
    const led = (msgs: ServerMsg[]) =>
      msgs.flatMap((m) => (m.kind === 'update' ? m.rects.filter((r) => r.enc === E.QEMULedState).map((r) => r.data[0]) : []));
    assert.deepEqual(led(encs(a, [E.QEMULedState])), [0]);
    b.session.receive(setEncodings([E.Raw])); // b never asked for LEDs
    b.take();
    a.session.receive(keyEvent(true, 0xffe5)); // Caps_Lock down (toggles)
    a.session.receive(keyEvent(false, 0xffe5));
    assert.deepEqual(led(decode(a.take())), [4]);
    b.session.receive(qemuExtKey(true, 0xff7f, 0x45)); // Num_Lock by XT scancode, from the other session
    assert.deepEqual(led(decode(a.take())), [6]);
    assert.equal(b.take().length, 0);
    a.session.close('done');
    b.session.receive(qemuExtKey(true, 0xff7f, 0x45));
    assert.equal(a.take().length, 0, 'a closed session hears nothing');
    assert.deepEqual(
      input.calls.filter((c) => c.kind === 'key').map((c) => c.args[0]),
      [KEY_CAPSLOCK, KEY_CAPSLOCK, 69, 69],
    );
  });
});

describe('vnc/extensions: ExtendedDesktopSize and SetDesktopSize', () => {
  it('every non-incremental FUR is answered with the layout (reason 0, status 0), then the pixels', () => {
    const h = connected();
    encs(h, [E.Raw, E.ExtendedDesktopSize]);
    h.session.receive(fur(false, 0, 0, 32, 16));
    const [layout, pixels] = decode(h.take());
    assert.ok(layout?.kind === 'update' && pixels?.kind === 'update');
    const r = layout.rects[0]!;
    assert.deepEqual([r.x, r.y, r.w, r.h, r.enc], [0, 0, 32, 16, E.ExtendedDesktopSize]);
    assert.deepEqual(layoutOf(r.data), [[1, 0, 0, 32, 16, 0]]);
    assert.deepEqual(
      pixels.rects.map((p) => p.enc),
      [E.Raw],
    );
    h.session.receive(fur(true, 0, 0, 32, 16));
    assert.equal(h.take().length, 0, 'incremental: no layout');
  });

  const sds: Array<[string, Buffer, number]> = [
    ['a new size is prohibited (1): the guest picks its mode', setDesktopSize(640, 480, [[1, 0, 0, 640, 480, 0]]), 1],
    ['the current size succeeds (0) with nothing to do', setDesktopSize(32, 16, [[1, 0, 0, 32, 16, 0]]), 0],
    ['no screens is an invalid layout (3)', setDesktopSize(640, 480, []), 3],
    ['a screen outside the framebuffer is an invalid layout (3)', setDesktopSize(64, 64, [[1, 40, 0, 32, 16, 0]]), 3],
    [
      'duplicate screen ids are an invalid layout (3)',
      setDesktopSize(64, 64, [
        [1, 0, 0, 8, 8, 0],
        [1, 8, 0, 8, 8, 0],
      ]),
      3,
    ],
  ];
  for (const [label, msg, status] of sds) {
    it(`SetDesktopSize: ${label}; the reply (reason 1) carries the current layout`, () => {
      const h = connected();
      encs(h, [E.Raw, E.ExtendedDesktopSize]);
      h.session.receive(msg);
      const [m] = decode(h.take());
      assert.ok(m?.kind === 'update');
      const r = m.rects[0]!;
      assert.deepEqual([r.x, r.y, r.w, r.h, r.enc], [1, status, 32, 16, E.ExtendedDesktopSize]);
      assert.deepEqual(layoutOf(r.data), [[1, 0, 0, 32, 16, 0]]);
      assert.equal(h.session.closed, false);
    });
  }
});

describe('vnc/extensions: resize', () => {
  it('ExtendedDesktopSize client: the new layout (reason 0) alone, then the whole new picture', () => {
    const h = connected();
    encs(h, [E.Raw, E.ExtendedDesktopSize]);
    h.session.receive(fur(true, 0, 0, 32, 16));
    h.take();
    h.display.setSurface(patternSurface(20, 10));
    h.session.receive(fur(true, 0, 0, 32, 16));
    const [resize] = decode(h.take());
    assert.ok(resize?.kind === 'update');
    assert.deepEqual(
      resize.rects.map((r) => [r.x, r.y, r.w, r.h, r.enc]),
      [[0, 0, 20, 10, E.ExtendedDesktopSize]],
    );
    assert.deepEqual(layoutOf(resize.rects[0]!.data), [[1, 0, 0, 20, 10, 0]]);
    h.session.receive(fur(true, 0, 0, 20, 10));
    const [pixels] = decode(h.take());
    assert.ok(pixels?.kind === 'update');
    assert.deepEqual(
      pixels.rects.map((r) => [r.x, r.y, r.w, r.h, r.enc]),
      [[0, 0, 20, 10, E.Raw]],
    );
  });

  it('a client with neither DesktopSize nor ExtendedDesktopSize is closed with RFB_E_NO_RESIZE', () => {
    const h = connected();
    encs(h, [E.Raw]);
    h.display.setSurface(patternSurface(20, 10));
    assert.equal(h.session.closed, true);
    assert.equal(code(h.closedWith.error), 'RFB_E_NO_RESIZE');
  });

  it('continuous updates: after a resize the new size and the whole picture come without a request', () => {
    const h = connected();
    encs(h, [E.Raw, E.ExtendedDesktopSize, E.ContinuousUpdates]);
    h.session.receive(enableCu(true, 0, 0, 32, 16));
    h.take();
    h.display.setSurface(patternSurface(40, 24));
    const [resize, pixels] = decode(h.take());
    assert.ok(resize?.kind === 'update' && pixels?.kind === 'update');
    assert.deepEqual(
      resize.rects.map((r) => [r.w, r.h, r.enc]),
      [[40, 24, E.ExtendedDesktopSize]],
    );
    assert.deepEqual(
      pixels.rects.map((r) => [r.x, r.y, r.w, r.h]),
      [[0, 0, 40, 24]],
    );
  });
});

describe('vnc/extensions: continuous updates', () => {
  it('enable: updates flow without requests, incremental FURs are ignored, disable answers EndOfContinuousUpdates', () => {
    const h = connected();
    encs(h, [E.Raw, E.ContinuousUpdates]);
    h.session.receive(enableCu(true, 0, 0, 32, 16));
    const [first] = decode(h.take());
    assert.ok(first?.kind === 'update');
    assert.deepEqual(
      first.rects.map((r) => [r.x, r.y, r.w, r.h]),
      [[0, 0, 32, 16]],
      'the initial picture, unrequested',
    );
    h.display.emit('damage', [{ x: 1, y: 1, width: 2, height: 2 }]);
    h.display.emit('damage', [{ x: 5, y: 5, width: 1, height: 1 }]);
    assert.deepEqual(
      decode(h.take()).map((m) => (m.kind === 'update' ? m.rects.map((r) => [r.x, r.y, r.w, r.h]) : m)),
      [[[1, 1, 2, 2]], [[5, 5, 1, 1]]],
    );
    h.session.receive(fur(true, 0, 0, 32, 16));
    assert.equal(h.take().length, 0, 'incremental FUR ignored');
    h.session.receive(fur(false, 0, 0, 4, 4));
    const [full] = decode(h.take());
    assert.ok(full?.kind === 'update');
    assert.deepEqual(
      full.rects.map((r) => [r.x, r.y, r.w, r.h]),
      [[0, 0, 4, 4]],
      'non-incremental FUR honoured',
    );
    h.display.emit('damage', [{ x: 30, y: 0, width: 2, height: 2 }]);
    h.take();
    h.session.receive(enableCu(false, 0, 0, 32, 16));
    assert.deepEqual(decode(h.take()), [{ kind: 'endOfCU' }]);
    h.display.emit('damage', [{ x: 1, y: 1, width: 2, height: 2 }]);
    assert.equal(h.take().length, 0, 'off: damage waits for a request again');
  });

  it('damage outside the continuous area waits', () => {
    const h = connected();
    encs(h, [E.Raw, E.ContinuousUpdates]);
    h.session.receive(enableCu(true, 0, 0, 8, 8));
    h.take();
    h.display.emit('damage', [{ x: 20, y: 10, width: 2, height: 2 }]);
    assert.equal(h.take().length, 0);
  });
});

describe('vnc/extensions: fences', () => {
  it('a request is answered at once with Request cleared, unknown bits cleared and the payload echoed', () => {
    const h = connected();
    encs(h, [E.Raw, E.Fence]);
    h.session.receive(clientFence(REQUEST | 1 | 2 | (1 << 9), Buffer.from('xyz')));
    assert.deepEqual(decode(h.take()), [{ kind: 'fence', flags: 3, payload: Buffer.from('xyz') }]);
  });

  it('SyncNext: the answer follows the output of the next message', () => {
    const h = connected();
    encs(h, [E.Raw, E.Fence]);
    h.session.receive(clientFence(REQUEST | 4, Buffer.of(9)));
    assert.equal(h.take().length, 0, 'held until the next message');
    h.session.receive(fur(false, 0, 0, 2, 2));
    const msgs = decode(h.take());
    assert.deepEqual(
      msgs.map((m) => m.kind),
      ['update', 'fence'],
    );
    assert.deepEqual(msgs[1], { kind: 'fence', flags: 4, payload: Buffer.of(9) });
  });

  it('a fence after a SyncNext fence releases the first answer, then its own', () => {
    const h = connected();
    encs(h, [E.Raw, E.Fence]);
    h.session.receive(clientFence(REQUEST | 4, Buffer.of(1)));
    h.session.receive(clientFence(REQUEST, Buffer.of(2)));
    assert.deepEqual(decode(h.take()), [
      { kind: 'fence', flags: 4, payload: Buffer.of(1) },
      { kind: 'fence', flags: 0, payload: Buffer.of(2) },
    ]);
  });

  it("the client's answer to our fence (no Request) needs nothing", () => {
    const h = connected();
    encs(h, [E.Raw, E.Fence]);
    h.session.receive(clientFence(0, Buffer.alloc(0)));
    assert.equal(h.take().length, 0);
    assert.equal(h.session.closed, false);
  });
});

describe('vnc/extensions: input', () => {
  it('QEMU ExtendedKeyEvent: XT scancodes (E0-prefixed with the high bit) reach the guest as Linux keys', () => {
    const h = connected();
    h.session.receive(qemuExtKey(true, 0xff53, 0xcd)); // E0 4D Right
    h.session.receive(qemuExtKey(true, 0x61, 0x1e)); // a
    h.session.receive(qemuExtKey(true, 0, 0xb7)); // Print as E0 37
    assert.deepEqual(
      h.input.calls.map((c) => c.args),
      [
        [KEY_RIGHT, true],
        [KEY_A, true],
        [99, true],
      ],
    );
  });

  it('US layout: shifted symbols are their base key', () => {
    for (const [sym, key] of [
      ['!', KEY_1],
      ['~', KEY_GRAVE],
      ['?', KEY_SLASH],
      ['A', KEY_A],
    ] as const) {
      assert.equal(keysymToLinux(sym.charCodeAt(0)), key, sym);
    }
    for (let c = 0x20; c < 0x7f; c++) assert.notEqual(keysymToLinux(c), undefined, `printable ${String.fromCharCode(c)} has a key`);
  });

  it('pointer: buttons 1-3 are BTN_LEFT/MIDDLE/RIGHT, buttons 4/5 wheel clicks', () => {
    const h = connected();
    h.session.receive(pointerEvent(1, 3, 4));
    h.session.receive(pointerEvent(1 | 4, 3, 4));
    h.session.receive(pointerEvent(8, 3, 4));
    h.session.receive(pointerEvent(16, 3, 4));
    assert.deepEqual(
      h.input.calls.map((c) => [c.kind, ...c.args]),
      [
        ['pointerAbs', 3, 4, 32, 16],
        ['button', BTN_LEFT, true],
        ['button', BTN_RIGHT, true],
        ['button', BTN_LEFT, false],
        ['button', BTN_RIGHT, false],
        ['wheel', 1],
        ['wheel', -1],
      ],
    );
  });
});
