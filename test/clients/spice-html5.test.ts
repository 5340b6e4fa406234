// spice-html5 (Debian's package) in headless Chromium against `xenvfb demo --web`, as a user
// opens it: the backend's own /spice page connects by WebSocket through the web server to the
// SPICE server and must show the guest's PNG pixel for pixel (LZ_RGB, decoded by spice-html5's
// lz.js); typed text and a click must reach the guest's vkbd; a guest resize gives a canvas of the new size. A WebSocket straight to the SPICE
// port links too (sniffed on the same port, as spice-server does).

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { DemoProcess, freeVncPort } from '../helpers/demo-process';
import { blockImage, type Rgb } from '../helpers/images';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';
import { SPICE_HTML5_DIR } from '../../backend/spice/web-client';
import { WebSocket } from 'ws';
import { linkBytes } from '../unit/spice/helpers';

const WIDTH = 320;
const HEIGHT = 240;

/** The slice of the DOM these page functions touch (tsconfig has no "dom" lib). */
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
  getBoundingClientRect(): { left: number; top: number; width: number; height: number };
  clientLeft: number;
  clientTop: number;
}
type PageGlobals = { document: { getElementById(id: string): PageCanvas | null } };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Pixels of spice-html5's primary surface canvas, or null before it exists. */
async function surfacePixels(page: Page): Promise<{ width: number; height: number; pixels: Rgb[][] } | null> {
  const got = await page.evaluate(() => {
    const c = (globalThis as unknown as PageGlobals).document.getElementById('spice_surface_0');
    if (!c) return null;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let s = '';
    for (let i = 0; i < d.length; i++) s += String.fromCharCode(d[i]!);
    return { width: c.width, height: c.height, rgba: btoa(s) };
  });
  if (!got) return null;
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

async function untilShows(page: Page, want: Rgb[][]): Promise<void> {
  const deadline = Date.now() + 15000;
  let note = 'no surface canvas';
  for (;;) {
    const shot = await surfacePixels(page);
    if (shot && shot.width === WIDTH && shot.height === HEIGHT) {
      let bad = 0;
      let first = '';
      for (let y = 0; y < HEIGHT; y++) {
        for (let x = 0; x < WIDTH; x++) {
          const p = shot.pixels[y]![x]!;
          const q = want[y]![x]!;
          if (p[0] !== q[0] || p[1] !== q[1] || p[2] !== q[2]) {
            if (!bad) first = `(${x},${y}) got ${p} want ${q}`;
            bad++;
          }
        }
      }
      if (bad === 0) return;
      note = `${bad} pixels differ, first ${first}`;
    } else if (shot) note = `canvas ${shot.width}x${shot.height}`;
    if (Date.now() > deadline) assert.fail(`spice-html5 never showed the guest: ${note}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe('spice-html5 in headless Chromium via xenvfb demo --web', function () {
  this.timeout(60000);
  let tmp: string;
  let demo: DemoProcess | undefined;
  let browser: Browser | undefined;

  before(function () {
    for (const [file, pkg] of [
      [CHROMIUM, 'chromium'],
      [`${SPICE_HTML5_DIR}/main.js`, 'spice-html5'],
    ] as const) {
      if (!fs.existsSync(file)) {
        console.log(`    pending: ${file} not installed (Debian package ${pkg}; run npm run setup:test-deps as root)`);
        this.skip();
      }
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-spice-html5-'));
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await demo?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the /spice page shows the guest exactly; typed text and a click reach the guest; the SPICE port takes WebSocket too', async () => {
    const image = blockImage(WIDTH, HEIGHT, 16, 0x4711);
    const png = path.join(tmp, 'still.png');
    fs.writeFileSync(png, PNG.sync.write(image.png));
    const [vncPort, webPort] = [await freeVncPort(), await freePort()];
    demo = DemoProcess.start([
      '--workload',
      'still',
      '--image',
      png,
      '--vnc',
      `127.0.0.1:${vncPort}`,
      '--web',
      `127.0.0.1:${webPort}`,
      '--spice',
      '127.0.0.1:0',
    ]);
    const { chromium } = await import('playwright-core');
    const launching = chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    await demo.waitFor(/is connected/);
    const spicePort = Number((await demo.waitFor(/^ {2}SPICE\s+127\.0\.0\.1:(\d+)/))[1]);
    const webLine = await demo.waitFor(/^ {2}SPICE web\s+(http:\/\/\S+)/);
    assert.equal(webLine[1], `http://127.0.0.1:${webPort}/spice`);
    browser = await launching;
    const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(webLine[1]!);
    assert.match(page.url(), /\/spice\/spice_auto\.html\?path=spice\/websocket$/);
    await untilShows(page, image.pixels);

    const from = demo.lines.length;
    const [fx, fy] = [200, 100];
    // spice-html5 sends the event's offsetX/offsetY: from the canvas' padding edge (spice.css gives it a 1px border).
    const box = await page.evaluate(() => {
      const c = (globalThis as unknown as PageGlobals).document.getElementById('spice_surface_0')!;
      const r = c.getBoundingClientRect();
      return { left: r.left + c.clientLeft, top: r.top + c.clientTop };
    });
    await page.mouse.click(Math.round(box.left + fx) + 0.25, Math.round(box.top + fy) + 0.25);
    await demo.waitFor(new RegExp(`guest input: .*"type":"pos".*"x":${fx},"y":${fy}`), 10000, from);
    await demo.waitFor(/guest input: .*"type":"key","keycode":272,"pressed":true/, 10000, from);
    await demo.waitFor(/guest input: .*"type":"key","keycode":272,"pressed":false/, 10000, from);
    await page.keyboard.type('hi');
    for (const code of [35, 23]) {
      await demo.waitFor(new RegExp(`guest input: .*"type":"key","keycode":${code},"pressed":true`), 10000, from);
      await demo.waitFor(new RegExp(`guest input: .*"type":"key","keycode":${code},"pressed":false`), 10000, from);
    }
    assert.deepEqual(pageErrors, []);

    // The guest changes mode (SIGUSR1): spice-html5 gets SURFACE_DESTROY/CREATE and a canvas of the new size.
    const guestPid = Number(
      [...demo.lines]
        .reverse()
        .map((l) => /^guest pid (\d+)/.exec(l)?.[1])
        .find((p) => p !== undefined),
    );
    const fromResize = demo.lines.length;
    process.kill(guestPid, 'SIGUSR1');
    const m = await demo.waitFor(/^guest resized: .*"width":(\d+),"height":(\d+)/, 15000, fromResize);
    const want = { width: Number(m[1]), height: Number(m[2]) };
    await page.waitForFunction(
      (size) => {
        const c = (globalThis as unknown as PageGlobals).document.getElementById('spice_surface_0');
        return c !== null && c.width === size.width && c.height === size.height;
      },
      want,
      { timeout: 15000 },
    );

    // Straight to the SPICE port: the server tells a WebSocket upgrade from plain SPICE by the
    // first bytes. (A browser page from the web server's origin is refused there by the Origin
    // check, so this is a plain WebSocket client doing the link.)
    const ws = new WebSocket(`ws://127.0.0.1:${spicePort}/`, 'binary');
    const reply = await new Promise<Buffer>((resolve, reject) => {
      ws.on('open', () => ws.send(linkBytes({ type: 1, common: [0x09] })));
      ws.on('message', (d) => resolve(Buffer.from(d as Buffer)));
      ws.on('error', reject);
    });
    assert.equal(ws.protocol, 'binary');
    assert.equal(reply.subarray(0, 4).toString('latin1'), 'REDQ');
    assert.equal(reply.readUInt32LE(16), 0, 'SpiceLinkReply error 0 over WebSocket');
    ws.close();
  });
});
