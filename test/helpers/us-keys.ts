// Reading back what a guest typed from the demo guest's printed input events, as a US-layout
// Linux console would: Shift (KEY_LEFTSHIFT 42 / KEY_RIGHTSHIFT 54) picks the second symbol.

/** Linux key code -> [unshifted, shifted] (include/uapi/linux/input-event-codes.h, US layout). */
const US_KEYS: Record<number, [string, string]> = {
  2: ['1', '!'],
  3: ['2', '@'],
  4: ['3', '#'],
  5: ['4', '$'],
  6: ['5', '%'],
  7: ['6', '^'],
  8: ['7', '&'],
  9: ['8', '*'],
  10: ['9', '('],
  11: ['0', ')'],
  12: ['-', '_'],
  13: ['=', '+'],
  16: ['q', 'Q'],
  17: ['w', 'W'],
  18: ['e', 'E'],
  19: ['r', 'R'],
  20: ['t', 'T'],
  21: ['y', 'Y'],
  22: ['u', 'U'],
  23: ['i', 'I'],
  24: ['o', 'O'],
  25: ['p', 'P'],
  26: ['[', '{'],
  27: [']', '}'],
  28: ['\n', '\n'],
  30: ['a', 'A'],
  31: ['s', 'S'],
  32: ['d', 'D'],
  33: ['f', 'F'],
  34: ['g', 'G'],
  35: ['h', 'H'],
  36: ['j', 'J'],
  37: ['k', 'K'],
  38: ['l', 'L'],
  39: [';', ':'],
  40: ["'", '"'],
  41: ['`', '~'],
  43: ['\\', '|'],
  44: ['z', 'Z'],
  45: ['x', 'X'],
  46: ['c', 'C'],
  47: ['v', 'V'],
  48: ['b', 'B'],
  49: ['n', 'N'],
  50: ['m', 'M'],
  51: [',', '<'],
  52: ['.', '>'],
  53: ['/', '?'],
  57: [' ', ' '],
};

export interface GuestKeyEvent {
  code: number;
  pressed: boolean;
}

/** The key events among the demo's `guest input: {...}` lines, in order. */
export function guestKeyEvents(lines: readonly string[]): GuestKeyEvent[] {
  return lines
    .map((l) => /"type":"key","keycode":(\d+),"pressed":(true|false)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ code: Number(m[1]), pressed: m[2] === 'true' }));
}

/** The text those events type on a US layout; keys outside the table show as <code>. */
export function usText(events: readonly GuestKeyEvent[]): string {
  let shift = 0;
  let out = '';
  for (const e of events) {
    if (e.code === 42 || e.code === 54) shift += e.pressed ? 1 : -1;
    else if (e.pressed) out += US_KEYS[e.code]?.[shift > 0 ? 1 : 0] ?? `<${e.code}>`;
  }
  return out;
}
