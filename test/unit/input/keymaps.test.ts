import { strict as assert } from 'node:assert';
import { keysymToLinux, XK } from '../../../backend/input/keysym';
import * as K from '../../../backend/input/linux-input-codes';
import { RfbButton, RfbInput } from '../../../backend/vnc/rfb-input';
import { xtScancodeToLinux } from '../../../backend/input/xt-scancode';
import type { InputSink } from '../../../backend/input/input-sink';
import { LOCK_CAPS } from '../../../backend/input/lock-keys';

describe('input/keysym (US layout)', () => {
  const cases: Array<[string, number, number]> = [
    ['a', 0x61, K.KEY_A],
    ['A', 0x41, K.KEY_A],
    ['z', 0x7a, K.KEY_Z],
    ['Q', 0x51, K.KEY_Q],
    ['1', 0x31, K.KEY_1],
    ['0', 0x30, K.KEY_0],
    ['!', 0x21, K.KEY_1],
    ['@', 0x40, K.KEY_2],
    [')', 0x29, K.KEY_0],
    ['_', 0x5f, K.KEY_MINUS],
    ['+', 0x2b, K.KEY_EQUAL],
    ['{', 0x7b, K.KEY_LEFTBRACE],
    ['|', 0x7c, K.KEY_BACKSLASH],
    [':', 0x3a, K.KEY_SEMICOLON],
    ['"', 0x22, K.KEY_APOSTROPHE],
    ['~', 0x7e, K.KEY_GRAVE],
    ['<', 0x3c, K.KEY_COMMA],
    ['?', 0x3f, K.KEY_SLASH],
    ['space', 0x20, K.KEY_SPACE],
    ['Return', XK.Return, K.KEY_ENTER],
    ['BackSpace', XK.BackSpace, K.KEY_BACKSPACE],
    ['Tab', XK.Tab, K.KEY_TAB],
    ['Escape', XK.Escape, K.KEY_ESC],
    ['Delete', XK.Delete, K.KEY_DELETE],
    ['Insert', XK.Insert, K.KEY_INSERT],
    ['Home', XK.Home, K.KEY_HOME],
    ['End', XK.End, K.KEY_END],
    ['Page_Up', XK.Page_Up, K.KEY_PAGEUP],
    ['Page_Down', XK.Page_Down, K.KEY_PAGEDOWN],
    ['Left', XK.Left, K.KEY_LEFT],
    ['Down', XK.Down, K.KEY_DOWN],
    ['F1', 0xffbe, K.KEY_F1],
    ['F10', 0xffc7, K.KEY_F10],
    ['F11', 0xffc8, K.KEY_F11],
    ['F12', 0xffc9, K.KEY_F12],
    ['Shift_L', XK.Shift_L, K.KEY_LEFTSHIFT],
    ['Shift_R', XK.Shift_R, K.KEY_RIGHTSHIFT],
    ['Control_L', XK.Control_L, K.KEY_LEFTCTRL],
    ['Control_R', XK.Control_R, K.KEY_RIGHTCTRL],
    ['Alt_L', XK.Alt_L, K.KEY_LEFTALT],
    ['Alt_R', XK.Alt_R, K.KEY_RIGHTALT],
    ['Super_L', XK.Super_L, K.KEY_LEFTMETA],
    ['Meta_R', XK.Meta_R, K.KEY_RIGHTMETA],
    ['Caps_Lock', XK.Caps_Lock, K.KEY_CAPSLOCK],
    ['KP_0', 0xffb0, K.KEY_KP0],
    ['KP_9', 0xffb9, K.KEY_KP9],
    ['KP_Enter', XK.KP_Enter, K.KEY_KPENTER],
    ['KP_Add', XK.KP_Add, K.KEY_KPPLUS],
    ['KP_Home', XK.KP_Home, K.KEY_KP7],
    ['Print', XK.Print, K.KEY_SYSRQ],
    ['Pause', XK.Pause, K.KEY_PAUSE],
    ['Menu', XK.Menu, K.KEY_COMPOSE],
  ];
  for (const [name, sym, key] of cases) {
    it(`${name} (0x${sym.toString(16)}) -> ${key}`, () => assert.equal(keysymToLinux(sym), key));
  }
  it('unknown keysyms map to nothing', () => {
    assert.equal(keysymToLinux(0x20ac), undefined); // EuroSign
    assert.equal(keysymToLinux(0), undefined);
  });
  it('KEY_* constants match input-event-codes.h spot values', () => {
    assert.deepEqual(
      [K.KEY_A, K.KEY_ESC, K.KEY_F12, K.KEY_LEFTMETA, K.BTN_LEFT, K.BTN_RIGHT, K.BTN_MIDDLE],
      [30, 1, 88, 125, 0x110, 0x111, 0x112],
    );
  });
});

describe('input/xt-scancode', () => {
  it('plain set-1 codes equal Linux codes', () => {
    assert.equal(xtScancodeToLinux(0x1e), K.KEY_A);
    assert.equal(xtScancodeToLinux(0x01), K.KEY_ESC);
    assert.equal(xtScancodeToLinux(0x1c), K.KEY_ENTER);
    assert.equal(xtScancodeToLinux(0x58), K.KEY_F12);
  });
  it('0xE0-prefixed codes arrive with the high bit set', () => {
    assert.equal(xtScancodeToLinux(0xcd), K.KEY_RIGHT);
    assert.equal(xtScancodeToLinux(0x9c), K.KEY_KPENTER);
    assert.equal(xtScancodeToLinux(0x9d), K.KEY_RIGHTCTRL);
    assert.equal(xtScancodeToLinux(0xb8), K.KEY_RIGHTALT);
    assert.equal(xtScancodeToLinux(0xdb), K.KEY_LEFTMETA);
  });
  it('Print/SysRq as 0x54 and 0xB7, Pause as 0xC6', () => {
    assert.equal(xtScancodeToLinux(0x54), K.KEY_SYSRQ);
    assert.equal(xtScancodeToLinux(0xb7), K.KEY_SYSRQ);
    assert.equal(xtScancodeToLinux(0xc6), K.KEY_PAUSE);
  });
  it('unknown codes map to nothing', () => assert.equal(xtScancodeToLinux(0), undefined));
});

describe('input/rfb-input', () => {
  function recorder(): { sink: InputSink; calls: unknown[][] } {
    const calls: unknown[][] = [];
    return {
      calls,
      sink: {
        key: (c, p) => calls.push(['key', c, p]),
        button: (c, p) => calls.push(['button', c, p]),
        pointerAbs: (x, y, w, h) => calls.push(['abs', x, y, w, h]),
        pointerRel: (dx, dy) => calls.push(['rel', dx, dy]),
        wheel: (n) => calls.push(['wheel', n]),
      },
    };
  }

  it('button transitions: press and release each button once, position first', () => {
    const { sink, calls } = recorder();
    const input = new RfbInput(sink);
    input.pointer(RfbButton.Left | RfbButton.Middle, 10, 20, 100, 100);
    input.pointer(RfbButton.Left | RfbButton.Middle, 10, 20, 100, 100);
    input.pointer(RfbButton.Middle | RfbButton.Right, 11, 20, 100, 100);
    input.pointer(0, 11, 20, 100, 100);
    assert.deepEqual(calls, [
      ['abs', 10, 20, 100, 100],
      ['button', K.BTN_LEFT, true],
      ['button', K.BTN_MIDDLE, true],
      ['abs', 11, 20, 100, 100],
      ['button', K.BTN_LEFT, false],
      ['button', K.BTN_RIGHT, true],
      ['button', K.BTN_MIDDLE, false],
      ['button', K.BTN_RIGHT, false],
    ]);
  });

  it('wheel: one click per press, none on release or hold', () => {
    const { sink, calls } = recorder();
    const input = new RfbInput(sink);
    input.pointer(RfbButton.WheelUp, 0, 0, 10, 10);
    input.pointer(RfbButton.WheelUp, 0, 0, 10, 10);
    input.pointer(0, 0, 0, 10, 10);
    input.pointer(RfbButton.WheelDown, 0, 0, 10, 10);
    assert.deepEqual(
      calls.filter((c) => c[0] === 'wheel'),
      [
        ['wheel', 1],
        ['wheel', -1],
      ],
    );
  });

  it('"Hello: /" typed as keysyms with no Shift reaches the guest with the Shift each character needs', () => {
    const { sink, calls } = recorder();
    const input = new RfbInput(sink);
    for (const ch of 'Hello: /') {
      input.keysym(ch.charCodeAt(0), true);
      input.keysym(ch.charCodeAt(0), false);
    }
    const S = K.KEY_LEFTSHIFT;
    const tap = (code: number): unknown[][] => [
      ['key', code, true],
      ['key', code, false],
    ];
    assert.deepEqual(calls, [
      ['key', S, true],
      ['key', K.KEY_H, true],
      ['key', S, false],
      ['key', K.KEY_H, false],
      ...tap(K.KEY_E),
      ...tap(K.KEY_L),
      ...tap(K.KEY_L),
      ...tap(K.KEY_O),
      ['key', S, true],
      ['key', K.KEY_SEMICOLON, true],
      ['key', S, false],
      ['key', K.KEY_SEMICOLON, false],
      ...tap(K.KEY_SPACE),
      ...tap(K.KEY_SLASH),
    ]);
  });

  it('Shift held by the client: kept for shifted keysyms, lifted around unshifted ones, then restored', () => {
    const { sink, calls } = recorder();
    const input = new RfbInput(sink);
    input.keysym(XK.Shift_R, true);
    input.keysym(0x48, true); // H: Shift already held
    input.keysym(0x2f, true); // "/" (another layout's Shift+7): no Shift on a US layout
    assert.deepEqual(calls, [
      ['key', K.KEY_RIGHTSHIFT, true],
      ['key', K.KEY_H, true],
      ['key', K.KEY_RIGHTSHIFT, false],
      ['key', K.KEY_SLASH, true],
      ['key', K.KEY_RIGHTSHIFT, true],
    ]);
  });

  it('Caps Lock on: a capital letter needs no Shift, a small one does', () => {
    const { sink, calls } = recorder();
    const input = new RfbInput(sink, { state: LOCK_CAPS });
    input.keysym(0x41, true); // A
    input.keysym(0x61, true); // a
    assert.deepEqual(calls, [
      ['key', K.KEY_A, true],
      ['key', K.KEY_LEFTSHIFT, true],
      ['key', K.KEY_A, true],
      ['key', K.KEY_LEFTSHIFT, false],
    ]);
  });

  it('extended key: scancode wins, keysym is the fallback', () => {
    const { sink, calls } = recorder();
    const input = new RfbInput(sink);
    assert.equal(input.extendedKey(0x61, 0x1e, true), true);
    assert.equal(input.extendedKey(0x62, 0, true), true);
    assert.equal(input.extendedKey(0x20ac, 0, true), false);
    assert.deepEqual(calls, [
      ['key', K.KEY_A, true],
      ['key', K.KEY_B, true],
    ]);
  });
});
