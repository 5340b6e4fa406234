// noVNC, the browser VNC client, in headless Chromium against `xenvfb demo --web` run as a
// user runs it: the page comes from our web server, connects by WebSocket, and must show the
// guest's PNG pixel for pixel; typed keys and a click must reach the guest's vkbd frontend.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { DemoProcess, freePort, freeVncPort } from '../helpers/demo-process';
import { blockImage, type Rgb } from '../helpers/images';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';
import { guestKeyEvents, usText } from '../helpers/us-keys';

const WIDTH = 320;
const HEIGHT = 240;
const BLOCK = 16;

/** The slice of the DOM these page functions touch (tsconfig has no "dom" lib). */
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
  getBoundingClientRect(): { left: number; top: number; width: number; height: number };
}
type PageGlobals = { document: { querySelector(sel: string): PageCanvas }; xenvfb: { status: string } };

/** The noVNC canvas as RGB rows, read with getImageData (1:1 with the framebuffer). */
async function canvasPixels(page: Page): Promise<{ width: number; height: number; pixels: Rgb[][] }> {
  const got = await page.evaluate(() => {
    const c = (globalThis as unknown as PageGlobals).document.querySelector('#screen canvas');
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let s = '';
    for (let i = 0; i < d.length; i++) s += String.fromCharCode(d[i]!);
    return { width: c.width, height: c.height, rgba: btoa(s) };
  });
  const rgba = Buffer.from(got.rgba, 'base64');
  const pixels: Rgb[][] = [];
  for (let y = 0; y < got.height; y++) {
    const row: Rgb[] = [];
    for (let x = 0; x < got.width; x++) {
      const o = (y * got.width + x) * 4;
      row.push([rgba[o]!, rgba[o + 1]!, rgba[o + 2]!]);
    }
    pixels.push(row);
  }
  return { width: got.width, height: got.height, pixels };
}

function differences(a: Rgb[][], b: Rgb[][]): { count: number; first?: string } {
  let count = 0;
  let first: string | undefined;
  for (let y = 0; y < b.length; y++) {
    for (let x = 0; x < b[y]!.length; x++) {
      const p = a[y]?.[x];
      const q = b[y]![x]!;
      if (!p || p[0] !== q[0] || p[1] !== q[1] || p[2] !== q[2]) {
        count++;
        first ??= `(${x},${y}) got ${JSON.stringify(p)} want ${JSON.stringify(q)}`;
      }
    }
  }
  return { count, first };
}

describe('noVNC in headless Chromium via xenvfb demo --web', function () {
  this.timeout(45000);
  let tmp: string;
  let demo: DemoProcess | undefined;
  let browser: Browser | undefined;

  before(function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    pending: ${CHROMIUM} not installed (Debian package chromium; run npm run setup:test-deps as root)`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-novnc-'));
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await demo?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('shows the guest PNG exactly, and typed keys and a click reach the guest', async () => {
    const t0 = Date.now();
    const image = blockImage(WIDTH, HEIGHT, BLOCK, 4242);
    const png = path.join(tmp, 'still.png');
    fs.writeFileSync(png, PNG.sync.write(image.png));
    const [vncPort, webPort] = [await freeVncPort(), await freePort()];
    demo = DemoProcess.start(['--workload', 'still', '--image', png, '--vnc', `127.0.0.1:${vncPort}`, '--web', `127.0.0.1:${webPort}`]);
    const { chromium } = await import('playwright-core');
    const launching = chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    await demo.waitFor(/is connected/);
    const web = await demo.waitFor(/^\s+Web\s+(http:\/\/\S+)/);
    assert.equal(web[1], `http://127.0.0.1:${webPort}/`);
    browser = await launching;
    const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    const consoleErrors: string[] = [];
    page.on('pageerror', (e) => consoleErrors.push(e.message));

    // "/" is what the demo prints: it redirects to the page, which connects by itself.
    await page.goto(web[1]!);
    assert.match(page.url(), /\/vnc\.html\?autoconnect=1&resize=scale&path=websockify$/);
    await page.waitForFunction(() => (globalThis as unknown as Partial<PageGlobals>).xenvfb?.status === 'connected', null, {
      timeout: 15000,
    });
    const tConnected = Date.now();

    let last: { count: number; first?: string } = { count: -1 };
    const deadline = Date.now() + 10000;
    for (;;) {
      const shot = await canvasPixels(page);
      if (shot.width === WIDTH && shot.height === HEIGHT) {
        last = differences(shot.pixels, image.pixels);
        if (last.count === 0) break;
      }
      if (Date.now() > deadline) assert.fail(`canvas ${shot.width}x${shot.height}: ${last.count} pixels differ, first ${last.first}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // A click at framebuffer (200, 100), through however the page scaled the canvas.
    const from = demo.lines.length;
    const [fx, fy] = [200, 100];
    const box = await page.evaluate(() => {
      const r = (globalThis as unknown as PageGlobals).document.querySelector('#screen canvas').getBoundingClientRect();
      return { left: r.left, top: r.top, width: r.width, height: r.height };
    });
    await page.mouse.click(box.left + ((fx + 0.5) * box.width) / WIDTH, box.top + ((fy + 0.5) * box.height) / HEIGHT);
    await demo.waitFor(new RegExp(`guest input: .*"type":"pos".*"x":${fx},"y":${fy}`), 10000, from);
    await demo.waitFor(/guest input: .*"type":"key","keycode":272,"pressed":true/, 10000, from);
    await demo.waitFor(/guest input: .*"type":"key","keycode":272,"pressed":false/, 10000, from);

    await page.keyboard.type('hi');
    for (const code of [35, 23]) {
      await demo.waitFor(new RegExp(`guest input: .*"type":"key","keycode":${code},"pressed":true`), 10000, from);
      await demo.waitFor(new RegExp(`guest input: .*"type":"key","keycode":${code},"pressed":false`), 10000, from);
    }
    const keys = demo.lines
      .slice(from)
      .map((l) => /"type":"key","keycode":(\d+),"pressed":true/.exec(l)?.[1])
      .filter((k) => k !== undefined && k !== '272');
    assert.deepEqual(keys, ['35', '23'], 'h then i, nothing else pressed');

    // Text typed with no Shift held (as noVNC sends "H" and ":"): the guest must see the Shift
    // each character needs on a US layout, so it reads back as the same text.
    const fromText = demo.lines.length;
    await page.keyboard.type('Hello: /');
    await demo.waitFor(/guest input: .*"type":"key","keycode":53,"pressed":false/, 10000, fromText);
    const events = guestKeyEvents(demo.lines.slice(fromText));
    assert.equal(usText(events), 'Hello: /', JSON.stringify(events));
    assert.deepEqual(consoleErrors, []);
    console.log(`    noVNC connected ${tConnected - t0} ms after start; whole test ${Date.now() - t0} ms`);
  });
});
