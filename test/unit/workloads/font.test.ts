import { strict as assert } from 'node:assert';
import {
  FONT_CELL_HEIGHT,
  FONT_FIRST_CHAR,
  FONT_GLYPH_WIDTH,
  FONT_LAST_CHAR,
  glyphPixel,
  glyphRows,
} from '../../../frontend/workloads/font';
import { KEY, keyName, keyToChar } from '../../../frontend/workloads/keymap';

describe('workloads/font', () => {
  const printable = Array.from({ length: FONT_LAST_CHAR - FONT_FIRST_CHAR + 1 }, (_, i) => FONT_FIRST_CHAR + i);

  it('has a glyph for every printable ASCII character, all distinct, ink only for non-space', () => {
    const seen = new Map<string, string>();
    for (const code of printable) {
      const rows = glyphRows(code);
      assert.equal(rows.length, FONT_CELL_HEIGHT);
      assert.ok(
        rows.every((r) => r < 1 << FONT_GLYPH_WIDTH),
        'nothing in the spacing column',
      );
      const key = Array.from(rows).join(',');
      const ch = String.fromCharCode(code);
      assert.equal(seen.get(key), undefined, `'${ch}' looks the same as '${seen.get(key)}'`);
      seen.set(key, ch);
      assert.equal(
        rows.some((r) => r !== 0),
        ch !== ' ',
        `'${ch}' ink`,
      );
    }
  });

  it('draws unprintable characters as "?"', () => {
    for (const code of [0, 0x1f, 0x7f, 0xe9, 0x263a]) assert.deepEqual(glyphRows(code), glyphRows(0x3f));
  });

  it('reads pixels left to right, top to bottom', () => {
    // 'L' is a left column with a bottom bar on row 6.
    const L = 'L'.charCodeAt(0);
    assert.ok(glyphPixel(L, 0, 0) && glyphPixel(L, 0, 6) && glyphPixel(L, 4, 6));
    assert.ok(!glyphPixel(L, 4, 0) && !glyphPixel(L, 0, 7) && !glyphPixel(L, 5, 6) && !glyphPixel(L, -1, 0));
  });
});

describe('workloads/keymap', () => {
  it('maps letters, digits and space with shift and caps lock', () => {
    assert.equal(keyToChar(KEY.KEY_A, false), 'a');
    assert.equal(keyToChar(KEY.KEY_Z, true), 'Z');
    assert.equal(keyToChar(KEY.KEY_M, false, true), 'M');
    assert.equal(keyToChar(KEY.KEY_M, true, true), 'm');
    assert.equal(keyToChar(KEY.KEY_0, false), '0');
    assert.equal(keyToChar(KEY.KEY_9, false, true), '9');
    assert.equal(keyToChar(KEY.KEY_2, true), '@');
    assert.equal(keyToChar(KEY.KEY_SPACE, true), ' ');
    assert.equal(keyToChar(KEY.KEY_SLASH, true), '?');
  });

  it('types nothing for control keys', () => {
    for (const k of [KEY.KEY_ENTER, KEY.KEY_BACKSPACE, KEY.KEY_LEFTSHIFT, KEY.KEY_ESC, 0, 500]) {
      assert.equal(keyToChar(k, false), undefined);
    }
  });

  it('uses the Linux input-event-codes.h numbering', () => {
    assert.deepEqual([KEY.KEY_Q, KEY.KEY_A, KEY.KEY_Z, KEY.KEY_H, KEY.KEY_I, KEY.KEY_ENTER, KEY.KEY_SPACE], [16, 30, 44, 35, 23, 28, 57]);
    assert.equal(keyName(35), 'KEY_H');
    assert.equal(keyName(250), 'KEY_250');
  });
});
