import { strict as assert } from 'node:assert';
import { createWorkload, TerminalWorkload } from '../../../frontend/workloads';
import { getPixel } from '../../../frontend/workloads/canvas';
import { glyphPixel } from '../../../frontend/workloads/font';
import { KEY } from '../../../frontend/workloads/keymap';
import { TERMINAL_COLORS, TERMINAL_FONT_SCALE, TERMINAL_PROMPT } from '../../../frontend/workloads/terminal';
import { RecordingFramebuffer, rectInside, sleep, unreportedChanges } from './helpers';

function press(w: TerminalWorkload, keycode: number): void {
  w.onInput({ type: 'key', keycode, pressed: true });
  w.onInput({ type: 'key', keycode, pressed: false });
}

/** Start a terminal with its timers stopped so the test drives every change. */
function started(width = 320, height = 240): { w: TerminalWorkload; fb: RecordingFramebuffer } {
  const w = new TerminalWorkload(width, height);
  const fb = new RecordingFramebuffer(width, height);
  w.start(fb);
  w.stop();
  fb.takeDamage();
  return { w, fb };
}

/** Assert that text cell (col, row) shows `ch` in `fg` on the terminal background. */
function assertCellShows(w: TerminalWorkload, fb: RecordingFramebuffer, col: number, row: number, ch: string, fg: number): void {
  const cell = w.cellRect(col, row);
  for (let y = 0; y < cell.height; y++) {
    for (let x = 0; x < cell.width; x++) {
      const ink = glyphPixel(ch.charCodeAt(0), Math.floor(x / TERMINAL_FONT_SCALE), Math.floor(y / TERMINAL_FONT_SCALE));
      const want = ink ? fg : TERMINAL_COLORS.background;
      assert.equal(getPixel(fb, cell.x + x, cell.y + y), want, `'${ch}' pixel (${x}, ${y})`);
    }
  }
}

describe('workloads/terminal', () => {
  it('defaults to 800x600 with 2x-scaled 6x8 cells', async () => {
    const w = await createWorkload('terminal', {});
    assert.ok(w instanceof TerminalWorkload);
    assert.deepEqual([w.width, w.height, w.cellWidth, w.cellHeight], [800, 600, 12, 16]);
    assert.equal(w.columns, 66);
    assert.equal(w.logRows, 36);
  });

  it('draws a banner and the prompt with full damage on start', () => {
    const w = new TerminalWorkload(320, 240);
    const fb = new RecordingFramebuffer(320, 240);
    w.start(fb);
    w.stop();
    assert.deepEqual(fb.takeDamage(), [{ x: 0, y: 0, width: 320, height: 240 }]);
    assert.equal(w.frames, 1);
    assert.equal(w.screenLines[0], 'xenvfb guest console');
    assert.equal(w.promptLine, TERMINAL_PROMPT);
    assertCellShows(w, fb, 0, w.logRows, TERMINAL_PROMPT[0], TERMINAL_COLORS.prompt);
  });

  it('echoes shifted KEY_H, KEY_I as "HI" at the prompt, glyph pixels and all', () => {
    const { w, fb } = started();
    const before = fb.data.slice();
    w.onInput({ type: 'key', keycode: KEY.KEY_LEFTSHIFT, pressed: true });
    press(w, KEY.KEY_H);
    press(w, KEY.KEY_I);
    w.onInput({ type: 'key', keycode: KEY.KEY_LEFTSHIFT, pressed: false });
    assert.equal(w.promptLine, `${TERMINAL_PROMPT}HI`);
    const col = TERMINAL_PROMPT.length;
    assertCellShows(w, fb, col, w.logRows, 'H', TERMINAL_COLORS.input);
    assertCellShows(w, fb, col + 1, w.logRows, 'I', TERMINAL_COLORS.input);
    const damage = fb.takeDamage();
    for (const r of damage) assert.ok(rectInside(r, fb.width, fb.height));
    assert.deepEqual(unreportedChanges(fb, before, damage), []);
  });

  it('types lower case, digits, symbols with shift, and handles backspace and caps lock', () => {
    const { w } = started();
    for (const k of [KEY.KEY_H, KEY.KEY_I, KEY.KEY_SPACE, KEY.KEY_4, KEY.KEY_2]) press(w, k);
    assert.equal(w.promptLine, `${TERMINAL_PROMPT}hi 42`);
    w.onInput({ type: 'key', keycode: KEY.KEY_RIGHTSHIFT, pressed: true });
    press(w, KEY.KEY_1);
    w.onInput({ type: 'key', keycode: KEY.KEY_RIGHTSHIFT, pressed: false });
    press(w, KEY.KEY_BACKSPACE);
    press(w, KEY.KEY_BACKSPACE);
    press(w, KEY.KEY_CAPSLOCK);
    press(w, KEY.KEY_A);
    press(w, KEY.KEY_1);
    assert.equal(w.promptLine, `${TERMINAL_PROMPT}hi 4A1`);
  });

  it('ignores key releases, unknown keys and pointer events', () => {
    const { w, fb } = started();
    const frames = w.frames;
    w.onInput({ type: 'key', keycode: KEY.KEY_A, pressed: false });
    w.onInput({ type: 'key', keycode: 999, pressed: true });
    w.onInput({ type: 'pos', x: 5, y: 5 });
    w.onInput({ type: 'motion', dx: 1, dy: 1 });
    w.onInput({ type: 'wheel', dz: -1 });
    press(w, KEY.KEY_BACKSPACE);
    assert.equal(w.promptLine, TERMINAL_PROMPT);
    assert.equal(w.frames, frames);
    assert.deepEqual(fb.takeDamage(), []);
  });

  it('stops accepting characters when the prompt row is full', () => {
    const { w } = started(240, 64);
    for (let i = 0; i < 100; i++) press(w, KEY.KEY_X);
    assert.equal(w.promptLine.length, w.columns - 1, 'one cell left for the cursor');
  });

  it('runs the line on Enter: echoes it to the log and prints the output', () => {
    const { w, fb } = started();
    const before = fb.data.slice();
    for (const k of [KEY.KEY_E, KEY.KEY_C, KEY.KEY_H, KEY.KEY_O, KEY.KEY_SPACE, KEY.KEY_O, KEY.KEY_K]) press(w, k);
    press(w, KEY.KEY_ENTER);
    assert.deepEqual(w.screenLines.slice(-2), [`${TERMINAL_PROMPT}echo ok`, 'ok']);
    assert.equal(w.promptLine, TERMINAL_PROMPT);
    assert.deepEqual(unreportedChanges(fb, before, fb.takeDamage()), []);
    for (const k of [KEY.KEY_Z, KEY.KEY_Z, KEY.KEY_ENTER]) press(w, k);
    assert.equal(w.screenLines.at(-1), 'sh: zz: command not found');
  });

  it('clear empties the log area', () => {
    const { w, fb } = started();
    for (const k of [KEY.KEY_C, KEY.KEY_L, KEY.KEY_E, KEY.KEY_A, KEY.KEY_R]) press(w, k);
    const before = fb.data.slice();
    press(w, KEY.KEY_ENTER);
    assert.deepEqual(w.screenLines, []);
    assert.deepEqual(unreportedChanges(fb, before, fb.takeDamage()), []);
    assertCellShows(w, fb, 0, 0, ' ', TERMINAL_COLORS.log);
  });

  it('scrolls the log up a row per line once full, and the damage covers every change', () => {
    // Wide enough that no log line wraps, so each tick adds exactly one row.
    const { w, fb } = started(800, 160);
    let scrolls = 0;
    for (let i = 0; i < w.logRows * 3; i++) {
      const before = fb.data.slice();
      const linesBefore = w.screenLines.slice();
      const damage = w.logTick();
      assert.deepEqual(fb.takeDamage(), damage);
      for (const r of damage) assert.ok(rectInside(r, fb.width, fb.height));
      assert.deepEqual(unreportedChanges(fb, before, damage), [], `log line ${i}`);
      if (linesBefore.length === w.logRows) {
        scrolls++;
        // The screen moved up exactly one text row: old row 1 is now row 0.
        const rowBytes = w.cellHeight * fb.stride;
        assert.ok(Buffer.from(fb.data.subarray(0, rowBytes)).equals(before.subarray(rowBytes, 2 * rowBytes)));
        assert.deepEqual(w.screenLines.slice(0, -1), linesBefore.slice(1));
      } else {
        assert.ok(
          damage.every((r) => r.height === w.cellHeight),
          'no scroll: only the new row is damaged',
        );
      }
    }
    assert.ok(scrolls > w.logRows);
    assert.equal(w.screenLines.length, w.logRows);
    assert.match(w.screenLines.at(-1) ?? '', /^\[\s*\d+\.\d{6}\] /);
  });

  it('wraps log lines longer than the terminal is wide', () => {
    const { w } = started(120, 160);
    for (let i = 0; i < 3; i++) w.logTick();
    assert.ok(w.screenLines.every((l) => l.length <= w.columns));
  });

  it('blinks the cursor cell and reports just that cell', () => {
    const { w, fb } = started();
    const cursor = w.cellRect(w.promptLine.length, w.logRows);
    assert.equal(getPixel(fb, cursor.x, cursor.y), TERMINAL_COLORS.cursor);
    const before = fb.data.slice();
    assert.deepEqual(w.blinkTick(), [cursor]);
    assert.equal(getPixel(fb, cursor.x, cursor.y), TERMINAL_COLORS.background);
    assert.deepEqual(unreportedChanges(fb, before, fb.takeDamage()), []);
    w.blinkTick();
    assert.equal(getPixel(fb, cursor.x, cursor.y), TERMINAL_COLORS.cursor);
  });

  it('survives a framebuffer too small for a single text row', () => {
    const w = new TerminalWorkload(8, 8);
    const fb = new RecordingFramebuffer(8, 8);
    w.start(fb);
    w.stop();
    press(w, KEY.KEY_A);
    press(w, KEY.KEY_ENTER);
    w.logTick();
    w.blinkTick();
    for (const r of fb.damages) assert.ok(rectInside(r, 8, 8));
  });

  it('logs and blinks on its timers until stop()', async () => {
    const w = new TerminalWorkload(320, 240, 10);
    const fb = new RecordingFramebuffer(320, 240);
    w.start(fb);
    try {
      assert.equal(w.activeTimers, 2);
      await sleep(120);
    } finally {
      w.stop();
    }
    assert.equal(w.activeTimers, 0);
    const frames = w.frames;
    assert.ok(frames >= 4, `expected several log lines, got ${frames} frames`);
    await sleep(60);
    assert.equal(w.frames, frames, 'nothing drawn after stop()');
    w.stop();
  });
});
