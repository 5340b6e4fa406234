// remote-viewer (virt-viewer, spice-gtk's widget) against SpiceServer under Xvfb: the guest's
// picture must appear pixel-exact on the X screen (found anywhere in a root screenshot), also
// after an update, and the guest's cursor shape must be the X server's cursor over the picture
// (screenshots never contain the pointer, so test/helpers/x-cursor-image.py moves the pointer
// there and reads the cursor image with XFixesGetCursorImage).

import { strict as assert } from 'node:assert';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { SpiceServer } from '../../backend/spice/server';
import * as path from 'node:path';
import type { CursorState } from '../../backend/display/display';
import { patternRgb, patternSurface, RecordingInput, TestDisplay } from '../unit/vnc/helpers';
import { SYSTEM_PYTHON } from '../helpers/spice-gi';

const CURSOR_SCRIPT = path.join(__dirname, '../helpers/x-cursor-image.py');
/** A 24x24 cursor no default theme has: opaque red with a 2-pixel opaque blue frame, hot spot (3, 5). */
const CURSOR = { width: 24, height: 24, hotX: 3, hotY: 5 };
function cursorRgba(): Uint8Array {
  const rgba = new Uint8Array(CURSOR.width * CURSOR.height * 4);
  for (let y = 0; y < CURSOR.height; y++) {
    for (let x = 0; x < CURSOR.width; x++) {
      const frame = x < 2 || y < 2 || x >= CURSOR.width - 2 || y >= CURSOR.height - 2;
      rgba.set(frame ? [0, 0, 255, 255] : [255, 0, 0, 255], (y * CURSOR.width + x) * 4);
    }
  }
  return rgba;
}

class CursorDisplay extends TestDisplay {
  override cursor(): CursorState {
    return { shape: { ...CURSOR, rgba: cursorRgba() }, x: 0, y: 0, visible: true };
  }
}

const SCREEN = { width: 1024, height: 768 };
const WIDTH = 320;
const HEIGHT = 200;

function which(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

async function startXvfb(): Promise<{ proc: ChildProcess; display: string }> {
  const proc = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', `${SCREEN.width}x${SCREEN.height}x24`, '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  const display = await new Promise<string>((resolve, reject) => {
    let text = '';
    proc.stdio[3]!.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) resolve(`:${text.trim()}`);
    });
    proc.once('exit', (code) => reject(new Error(`Xvfb exited (${code})`)));
    setTimeout(() => reject(new Error('Xvfb did not report its display')), 5000);
  });
  return { proc, display };
}

/** Where the WIDTHxHEIGHT picture `want` is on the screen, pixel-exact, or null. */
function findPicture(rgb: Buffer, want: (x: number, y: number) => [number, number, number]): { x: number; y: number } | null {
  const [ax, ay] = [3, 2];
  const anchor = want(ax, ay);
  const at = (x: number, y: number, c: number) => rgb[(y * SCREEN.width + x) * 3 + c]!;
  for (let y = ay; y <= SCREEN.height - HEIGHT + ay; y++) {
    for (let x = ax; x <= SCREEN.width - WIDTH + ax; x++) {
      if (at(x, y, 0) !== anchor[0] || at(x, y, 1) !== anchor[1] || at(x, y, 2) !== anchor[2]) continue;
      const [ox, oy] = [x - ax, y - ay];
      let ok = true;
      for (let yy = 0; yy < HEIGHT && ok; yy++) {
        for (let xx = 0; xx < WIDTH; xx++) {
          const i = ((oy + yy) * SCREEN.width + ox + xx) * 3;
          const [r, g, b] = want(xx, yy);
          if (rgb[i] !== r || rgb[i + 1] !== g || rgb[i + 2] !== b) {
            ok = false;
            break;
          }
        }
      }
      if (ok) return { x: ox, y: oy };
    }
  }
  return null;
}

async function untilOnScreen(display: string, want: (x: number, y: number) => [number, number, number]): Promise<{ x: number; y: number }> {
  const deadline = Date.now() + 20000;
  for (;;) {
    const rgb = execFileSync('import', ['-display', display, '-window', 'root', '-depth', '8', 'rgb:-'], { maxBuffer: 64 << 20 });
    const at = findPicture(rgb, want);
    if (at) return at;
    if (Date.now() > deadline) assert.fail('the picture never appeared pixel-exact on the X screen');
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('remote-viewer (virt-viewer) under Xvfb', function () {
  this.timeout(60000);
  let xvfb: { proc: ChildProcess; display: string } | undefined;
  let viewer: ChildProcess | undefined;
  let server: SpiceServer | undefined;

  before(function () {
    const missing = ['Xvfb', 'remote-viewer', 'import'].filter((b) => !which(b));
    if (missing.length > 0) {
      console.log(
        `      pending: missing ${missing.join(', ')} (Debian packages xvfb virt-viewer imagemagick; scripts/setup-test-deps.sh)`,
      );
      this.skip();
    }
  });

  after(async () => {
    viewer?.kill('SIGKILL');
    xvfb?.proc.kill('SIGKILL');
    await server?.close();
  });

  it("shows the guest pixel-exact, follows an update, and shows the guest's cursor over it", async function () {
    const surface = patternSurface(WIDTH, HEIGHT);
    const display = new CursorDisplay(surface, 'remote-viewer test');
    server = new SpiceServer({ display, input: new RecordingInput(), ticketing: { password: null }, name: 'xenvfb-rv' });
    const { port } = await server.listen('127.0.0.1', 0);
    xvfb = await startXvfb();
    viewer = spawn('remote-viewer', [`spice://127.0.0.1:${port}`], { env: { ...process.env, DISPLAY: xvfb.display }, stdio: 'ignore' });
    const at = await untilOnScreen(xvfb.display, patternRgb);

    // A 40x30 block turns white: the widget must show it (DRAW_COPY after MARK).
    for (let y = 50; y < 80; y++) surface.data.fill(0xff, y * surface.stride + 100 * 4, y * surface.stride + 140 * 4);
    display.emit('damage', [{ x: 100, y: 50, width: 40, height: 30 }]);
    await untilOnScreen(xvfb.display, (x, y) => (x >= 100 && x < 140 && y >= 50 && y < 80 ? [255, 255, 255] : patternRgb(x, y)));
    const channels = server.sessions.describe()[0]?.channels ?? 0;
    assert.ok(channels >= 4, `main, display, inputs and cursor linked (${channels} channels)`);

    // The pointer over the picture wears the guest's cursor (CURSOR_INIT's ALPHA shape).
    const deadline = Date.now() + 10000;
    let seen = '';
    for (;;) {
      const out = execFileSync(SYSTEM_PYTHON, [CURSOR_SCRIPT, String(at.x + 160), String(at.y + 100)], {
        env: { ...process.env, DISPLAY: xvfb.display },
      }).toString();
      const img = JSON.parse(out) as { width: number; height: number; xhot: number; yhot: number; argb: number[] };
      seen = `${img.width}x${img.height} hot (${img.xhot}, ${img.yhot}), centre 0x${(img.argb[12 * img.width + 12] ?? 0).toString(16)}`;
      if (img.width === CURSOR.width && img.height === CURSOR.height) {
        assert.equal(img.xhot, CURSOR.hotX);
        assert.equal(img.yhot, CURSOR.hotY);
        assert.equal(img.argb[12 * CURSOR.width + 12], 0xffff0000, 'red inside');
        assert.equal(img.argb[0], 0xff0000ff, 'blue frame');
        break;
      }
      if (Date.now() > deadline) assert.fail(`the X cursor over the picture is not the guest's: ${seen}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  });
});
