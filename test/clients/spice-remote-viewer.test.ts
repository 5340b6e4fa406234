// remote-viewer (virt-viewer, spice-gtk's widget) against SpiceServer under Xvfb: the guest's
// picture must appear pixel-exact on the X screen (found anywhere in a root screenshot), also
// after an update, and the viewer must open the cursor channel (it gets the default arrow in
// CURSOR_INIT; Xvfb screenshots do not contain the pointer image, so that is checked on the
// server side: four channels linked).

import { strict as assert } from 'node:assert';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { SpiceServer } from '../../backend/spice/server';
import { patternRgb, patternSurface, RecordingInput, TestDisplay } from '../unit/vnc/helpers';

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

/** Whether the WIDTHxHEIGHT picture `want` is somewhere on the screen, pixel-exact. */
function findPicture(rgb: Buffer, want: (x: number, y: number) => [number, number, number]): boolean {
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
      if (ok) return true;
    }
  }
  return false;
}

async function untilOnScreen(display: string, want: (x: number, y: number) => [number, number, number]): Promise<void> {
  const deadline = Date.now() + 20000;
  for (;;) {
    const rgb = execFileSync('import', ['-display', display, '-window', 'root', '-depth', '8', 'rgb:-'], { maxBuffer: 64 << 20 });
    if (findPicture(rgb, want)) return;
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

  it('shows the guest pixel-exact, follows an update, and links the cursor channel', async function () {
    const surface = patternSurface(WIDTH, HEIGHT);
    const display = new TestDisplay(surface, 'remote-viewer test');
    server = new SpiceServer({ display, input: new RecordingInput(), ticketing: { password: null }, name: 'xenvfb-rv' });
    const { port } = await server.listen('127.0.0.1', 0);
    xvfb = await startXvfb();
    viewer = spawn('remote-viewer', [`spice://127.0.0.1:${port}`], { env: { ...process.env, DISPLAY: xvfb.display }, stdio: 'ignore' });
    await untilOnScreen(xvfb.display, patternRgb);

    // A 40x30 block turns white: the widget must show it (DRAW_COPY after MARK).
    for (let y = 50; y < 80; y++) surface.data.fill(0xff, y * surface.stride + 100 * 4, y * surface.stride + 140 * 4);
    display.emit('damage', [{ x: 100, y: 50, width: 40, height: 30 }]);
    await untilOnScreen(xvfb.display, (x, y) => (x >= 100 && x < 140 && y >= 50 && y < 80 ? [255, 255, 255] : patternRgb(x, y)));
    const channels = server.sessions.describe()[0]?.channels ?? 0;
    assert.ok(channels >= 4, `main, display, inputs and cursor linked (${channels} channels)`);
  });
});
