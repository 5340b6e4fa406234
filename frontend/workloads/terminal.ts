// The terminal workload: a text console like a guest's VT. A fake kernel log scrolls in the
// upper rows (a new line every ~200 ms), the bottom row is a shell prompt that echoes keys
// typed through kbdif, and a block cursor blinks at 2 Hz. Scrolling moves framebuffer rows
// with copyWithin, as fbcon does, and reports the scrolled area as damage.

import type { Rect } from '../../shared/region';
import { clipRect } from '../../shared/region';
import { drawText, fillRect, rgb, scrollUp, type Rgb } from './canvas';
import { FONT_CELL_HEIGHT, FONT_CELL_WIDTH } from './font';
import { KEY, keyToChar } from './keymap';
import { resolveSize, type FramebufferTarget, type GuestInputEvent, type Workload, type WorkloadOptions } from './workload';

export const TERMINAL_FONT_SCALE = 2;
export const TERMINAL_LOG_INTERVAL_MS = 200;
export const TERMINAL_BLINK_INTERVAL_MS = 500;
export const TERMINAL_PROMPT = 'guest:~$ ';
export const TERMINAL_COLORS = {
  background: rgb(0, 0, 0),
  log: rgb(190, 190, 190),
  prompt: rgb(80, 220, 100),
  input: rgb(255, 255, 255),
  cursor: rgb(255, 255, 255),
} as const;

const BANNER = ['xenvfb guest console', "type 'help' and press Enter"];

type LogMessage = (n: number, random: () => number) => string;

// Plausible kernel chatter; n is the line number, random() a deterministic 32-bit value.
const LOG_MESSAGES: readonly LogMessage[] = [
  (n) => `xen:events: bound irq ${16 + (n % 48)} to event channel ${n % 1024}`,
  (_, r) => `xenfb: update ${(r() % 800) + 1}x${(r() % 600) + 1}+${r() % 800}+${r() % 600}`,
  (_, r) => `xenkbd: key ${(r() % 100) + 1} ${r() % 2 ? 'pressed' : 'released'}`,
  (n, r) => `eth0: rx ${n * 37 + (r() % 1000)} packets, tx ${n * 23} packets`,
  (n) => `EXT4-fs (xvda1): committed transaction ${n}`,
  (_, r) => `xen-blkfront: xvda: flush ${r() % 4096} sectors`,
  (_, r) => `systemd[1]: Started session ${r() % 100}.scope`,
  (_, r) => `NET: rx queue ${r() % 4} backlog ${r() % 300}`,
];

const COMMANDS: Record<string, (args: string) => string[]> = {
  help: () => ['commands: help, uname, echo TEXT, clear'],
  uname: () => ['Linux xenvfb-guest 6.1.0-xen #1 SMP x86_64 GNU/Linux'],
  echo: (args) => [args],
};

export class TerminalWorkload implements Workload {
  readonly name = 'terminal';
  readonly cellWidth = FONT_CELL_WIDTH * TERMINAL_FONT_SCALE;
  readonly cellHeight = FONT_CELL_HEIGHT * TERMINAL_FONT_SCALE;
  private fb: FramebufferTarget | undefined;
  private timers: NodeJS.Timeout[] = [];

  /** How many timers are armed (log and blink while running, none after stop()). */
  get activeTimers(): number {
    return this.timers.length;
  }
  private drawn = 0;
  private cols: number;
  private rows: number;
  private log: string[] = [];
  private typed = '';
  private readonly shiftsDown = new Set<number>();
  private capsLock = false;
  private cursorOn = true;
  private logLines = 0;
  private seed = 0x2545f491;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly logIntervalMs = TERMINAL_LOG_INTERVAL_MS,
  ) {
    this.cols = Math.floor(width / this.cellWidth);
    this.rows = Math.floor(height / this.cellHeight);
  }

  get frames(): number {
    return this.drawn;
  }
  get columns(): number {
    return this.cols;
  }
  /** Rows of the log area; the prompt is the row below them. */
  get logRows(): number {
    return Math.max(0, this.rows - 1);
  }
  /** The log lines currently on screen, top first. */
  get screenLines(): readonly string[] {
    return this.log;
  }
  get promptLine(): string {
    return TERMINAL_PROMPT + this.typed;
  }
  /** The framebuffer rectangle of text cell (col, row). */
  cellRect(col: number, row: number): Rect {
    return { x: col * this.cellWidth, y: row * this.cellHeight, width: this.cellWidth, height: this.cellHeight };
  }

  start(fb: FramebufferTarget): void {
    this.stop();
    this.fb = fb;
    this.cols = Math.floor(fb.width / this.cellWidth);
    this.rows = Math.floor(fb.height / this.cellHeight);
    this.log = [];
    const whole = { x: 0, y: 0, width: fb.width, height: fb.height };
    fillRect(fb, whole, TERMINAL_COLORS.background);
    for (const line of BANNER) this.appendLog(fb, line);
    this.drawPrompt(fb);
    fb.damage(whole);
    this.drawn++;
    this.timers.push(setInterval(() => this.logTick(), this.logIntervalMs));
    this.timers.push(setInterval(() => this.blinkTick(), TERMINAL_BLINK_INTERVAL_MS));
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** Print the next fake kernel log line; returns (and reports) the damage. */
  logTick(): Rect[] {
    const fb = this.fb;
    if (fb === undefined) return [];
    return this.report(fb, this.appendLog(fb, this.nextLogLine()));
  }

  /** Toggle the cursor; returns (and reports) the damage. */
  blinkTick(): Rect[] {
    const fb = this.fb;
    if (fb === undefined) return [];
    this.cursorOn = !this.cursorOn;
    return this.report(fb, [this.drawCursor(fb)]);
  }

  onInput(ev: GuestInputEvent): void {
    if (ev.type !== 'key') return;
    if (ev.keycode === KEY.KEY_LEFTSHIFT || ev.keycode === KEY.KEY_RIGHTSHIFT) {
      if (ev.pressed) this.shiftsDown.add(ev.keycode);
      else this.shiftsDown.delete(ev.keycode);
      return;
    }
    if (!ev.pressed) return;
    const damage = this.handleKey(ev.keycode);
    if (this.fb !== undefined && damage.length > 0) this.report(this.fb, damage);
  }

  private handleKey(keycode: number): Rect[] {
    if (keycode === KEY.KEY_CAPSLOCK) {
      this.capsLock = !this.capsLock;
      return [];
    }
    if (keycode === KEY.KEY_ENTER || keycode === KEY.KEY_KPENTER) return this.submit();
    if (keycode === KEY.KEY_BACKSPACE) {
      if (this.typed.length === 0) return [];
      this.typed = this.typed.slice(0, -1);
    } else {
      const ch = keyToChar(keycode, this.shiftsDown.size > 0, this.capsLock);
      // Leave room for the cursor cell at the end of the prompt row.
      if (ch === undefined || this.promptLine.length + 1 >= this.cols) return [];
      this.typed += ch;
    }
    return this.fb === undefined ? [] : [this.drawPrompt(this.fb)];
  }

  /** Enter: echo the command into the log, run it, and clear the prompt. */
  private submit(): Rect[] {
    const line = this.typed;
    this.typed = '';
    const fb = this.fb;
    if (fb === undefined) return [];
    const damage = this.appendLog(fb, TERMINAL_PROMPT + line);
    const [cmd = '', ...rest] = line.trim().split(/\s+/);
    if (cmd === 'clear') {
      this.log = [];
      damage.push(fillRect(fb, this.logArea(), TERMINAL_COLORS.background));
    } else if (cmd !== '') {
      const run = COMMANDS[cmd];
      const output = run !== undefined ? run(rest.join(' ')) : [`sh: ${cmd}: command not found`];
      for (const out of output) damage.push(...this.appendLog(fb, out));
    }
    damage.push(this.drawPrompt(fb));
    return damage;
  }

  private report(fb: FramebufferTarget, damage: Rect[]): Rect[] {
    for (const r of damage) fb.damage(r);
    this.drawn++;
    return damage;
  }

  private logArea(): Rect {
    return { x: 0, y: 0, width: this.cols * this.cellWidth, height: this.logRows * this.cellHeight };
  }

  /** Add a line (wrapped at the terminal width) to the log area, scrolling when it is full. */
  private appendLog(fb: FramebufferTarget, text: string): Rect[] {
    if (this.logRows === 0 || this.cols === 0) return [];
    const damage: Rect[] = [];
    const chunks = text.length === 0 ? [''] : (text.match(new RegExp(`.{1,${this.cols}}`, 'g')) ?? ['']);
    for (const chunk of chunks) {
      const scroll = this.log.length === this.logRows;
      if (scroll) {
        damage.push(scrollUp(fb, this.logArea(), this.cellHeight));
        this.log.shift();
      }
      this.log.push(chunk);
      const rowRect = this.drawRow(fb, this.log.length - 1, chunk, TERMINAL_COLORS.log);
      // After a scroll the new row is inside the scrolled area already reported.
      if (!scroll) damage.push(rowRect);
    }
    return damage;
  }

  private drawRow(fb: FramebufferTarget, row: number, text: string, fg: Rgb): Rect {
    const rect = { x: 0, y: row * this.cellHeight, width: this.cols * this.cellWidth, height: this.cellHeight };
    fillRect(fb, rect, TERMINAL_COLORS.background);
    drawText(fb, 0, rect.y, text, { fg, scale: TERMINAL_FONT_SCALE });
    return clipRect(rect, fb.width, fb.height);
  }

  private drawPrompt(fb: FramebufferTarget): Rect {
    if (this.rows === 0) return { x: 0, y: 0, width: 0, height: 0 };
    const row = this.drawRow(fb, this.logRows, TERMINAL_PROMPT, TERMINAL_COLORS.prompt);
    const x = TERMINAL_PROMPT.length * this.cellWidth;
    drawText(fb, x, row.y, this.typed, { fg: TERMINAL_COLORS.input, scale: TERMINAL_FONT_SCALE });
    this.drawCursor(fb);
    return row;
  }

  private drawCursor(fb: FramebufferTarget): Rect {
    if (this.rows === 0) return { x: 0, y: 0, width: 0, height: 0 };
    const cell = this.cellRect(this.promptLine.length, this.logRows);
    const color = this.cursorOn ? TERMINAL_COLORS.cursor : TERMINAL_COLORS.background;
    return fillRect(fb, cell, color);
  }

  private random(): number {
    this.seed = (Math.imul(this.seed, 1664525) + 1013904223) >>> 0;
    return this.seed >>> 8;
  }

  private nextLogLine(): string {
    const n = this.logLines++;
    const micros = n * this.logIntervalMs * 1000 + (this.random() % 100000);
    const stamp = `[${String(Math.floor(micros / 1e6)).padStart(5, ' ')}.${String(micros % 1e6).padStart(6, '0')}]`;
    const message = LOG_MESSAGES[this.random() % LOG_MESSAGES.length];
    return `${stamp} ${message(n, () => this.random())}`;
  }
}

export function createTerminalWorkload(opts: WorkloadOptions): TerminalWorkload {
  const { width, height } = resolveSize(opts);
  return new TerminalWorkload(width, height);
}
