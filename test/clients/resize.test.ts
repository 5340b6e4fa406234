// A guest mode switch end to end, as a user sees it: `xenvfb demo --workload still` shows a
// 720x500 PNG; SIGUSR1 makes the guest switch to 640x480 (XENFB_TYPE_RESIZE from our
// frontend, a new surface in the backend, ExtendedDesktopSize / DesktopSize to the clients)
// and the still workload redraws the picture centred, so cropped by 40 px left and right and
// 10 px top and bottom. Clients connected before the switch (libvncclient, noVNC in headless
// Chromium) must end with the new size and the cropped picture; gvnccapture, connected after,
// must see the same. gvnccapture asks for exclusive access, which drops the others, so it
// goes last. A missing client makes its test pending with the reason.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { stillOffset } from '../../frontend/workloads';
import { DemoProcess, freePort, freeVncPort, hasCommand } from '../helpers/demo-process';
import { blockImage, type Rgb } from '../helpers/images';
import { buildVncSnap, readPpm, runSnap } from '../helpers/libvncclient';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';

const IMAGE = { width: 720, height: 500 };
const MODE = { width: 640, height: 480 };
/** libvncclient ends after the server was quiet this long at the new size. */
const SNAP_IDLE_MS = 1500;

type PageGlobals = {
  document: {
    querySelector(sel: string): {
      width: number;
      height: number;
      getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
    };
  };
  xenvfb: { status: string };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The picture the still workload shows at MODE: IMAGE centred, cropped. */
function expectedPixels(image: Rgb[][]): Rgb[][] {
  const at = stillOffset(MODE, IMAGE);
  const rows: Rgb[][] = [];
  for (let y = 0; y < MODE.height; y++) {
    const row: Rgb[] = [];
    for (let x = 0; x < MODE.width; x++) row.push(image[y - at.y]?.[x - at.x] ?? [0, 0, 0]);
    rows.push(row);
  }
  return rows;
}

/** Count of pixels where RGB bytes (3 per pixel, row-major) differ from `want`, and the first. */
function differences(rgb: Uint8Array, step: number, width: number, want: Rgb[][]): { count: number; first?: string } {
  let count = 0;
  let first: string | undefined;
  want.forEach((row, y) =>
    row.forEach((q, x) => {
      const o = (y * width + x) * step;
      if (rgb[o] !== q[0] || rgb[o + 1] !== q[1] || rgb[o + 2] !== q[2]) {
        count++;
        first ??= `(${x},${y}) got ${[rgb[o], rgb[o + 1], rgb[o + 2]]} want ${q}`;
      }
    }),
  );
  return { count, first };
}

async function canvas(page: Page): Promise<{ width: number; height: number; rgba: Buffer }> {
  const got = await page.evaluate(() => {
    const c = (globalThis as unknown as PageGlobals).document.querySelector('#screen canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let s = '';
    for (let i = 0; i < d.length; i++) s += String.fromCharCode(d[i]!);
    return { width: c.width, height: c.height, rgba: btoa(s) };
  });
  return { width: got.width, height: got.height, rgba: Buffer.from(got.rgba, 'base64') };
}

describe('clients/resize: a guest mode switch reaches every client (xenvfb demo, SIGUSR1)', function () {
  this.timeout(90000);
  let tmp = '';
  let demo: DemoProcess | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let vncPort = 0;
  let want: Rgb[][] = [];
  const missing: Record<'libvncclient' | 'noVNC' | 'gvnccapture', string | null> = { libvncclient: null, noVNC: null, gvnccapture: null };
  let snapDone: Promise<{ code: number | null; stderr: string }> | undefined;
  let snapOut = '';
  let resizedAfterMs = 0;

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-resize-'));
    const built = buildVncSnap(tmp);
    missing.libvncclient = 'missing' in built ? built.missing : null;
    missing.noVNC = fs.existsSync(CHROMIUM) ? null : `${CHROMIUM} not installed (Debian package chromium)`;
    missing.gvnccapture = hasCommand('gvnccapture') ? null : 'gvnccapture not installed (Debian package gvncviewer)';

    const image = blockImage(IMAGE.width, IMAGE.height, 20, 777);
    want = expectedPixels(image.pixels);
    const png = path.join(tmp, 'still.png');
    fs.writeFileSync(png, PNG.sync.write(image.png));
    vncPort = await freeVncPort();
    const webPort = await freePort();
    demo = DemoProcess.start(['--workload', 'still', '--image', png, '--vnc', `127.0.0.1:${vncPort}`, '--web', `127.0.0.1:${webPort}`]);
    const launching = missing.noVNC
      ? undefined
      : import('playwright-core').then(({ chromium }) =>
          chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS }),
        );
    const guestPid = Number((await demo.waitFor(/^guest pid (\d+)/))[1]);
    await demo.waitFor(/is connected/);

    // Clients connected before the switch.
    if ('bin' in built) {
      snapOut = path.join(tmp, 'libvncclient.ppm');
      const args = [
        built.bin,
        '127.0.0.1',
        String(vncPort),
        'zrle',
        '-1',
        '-1',
        '1',
        String(SNAP_IDLE_MS),
        snapOut,
        String(MODE.width),
        String(MODE.height),
      ];
      snapDone = runSnap(args, 40000);
    }
    if (launching) {
      browser = await launching;
      page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
      await page.goto(`http://127.0.0.1:${webPort}/`);
      await page.waitForFunction(() => (globalThis as unknown as Partial<PageGlobals>).xenvfb?.status === 'connected', null, {
        timeout: 15000,
      });
      const deadline = Date.now() + 10000;
      while ((await canvas(page)).width !== IMAGE.width) {
        if (Date.now() > deadline) assert.fail('noVNC never showed the initial size');
        await sleep(100);
      }
    }
    await sleep(1000); // libvncclient has its first picture by now

    const from = demo.lines.length;
    const t0 = Date.now();
    process.kill(guestPid, 'SIGUSR1');
    const line = await demo.waitFor(/^guest resized: (.*)$/, 10000, from);
    resizedAfterMs = Date.now() - t0;
    assert.deepEqual(JSON.parse(line[1]!), { event: 'resized', ...MODE });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await demo?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('noVNC, connected before: the canvas takes the new size and shows the cropped picture', async function () {
    if (missing.noVNC) {
      console.log(`      pending: ${missing.noVNC}`);
      this.skip();
    }
    const deadline = Date.now() + 10000;
    let last = '';
    for (;;) {
      const c = await canvas(page!);
      if (c.width === MODE.width && c.height === MODE.height) {
        const d = differences(c.rgba, 4, c.width, want);
        if (d.count === 0) break;
        last = `${d.count} pixels differ, first ${d.first}`;
      } else last = `canvas ${c.width}x${c.height}`;
      if (Date.now() > deadline) assert.fail(`noVNC after the switch: ${last}`);
      await sleep(100);
    }
    console.log(`      guest reported the switch ${resizedAfterMs} ms after SIGUSR1`);
  });

  it('libvncclient, connected before: its framebuffer ends at the new size, equal to the picture', async function () {
    if (missing.libvncclient) {
      console.log(`      pending: ${missing.libvncclient}`);
      this.skip();
    }
    const res = await snapDone!;
    assert.equal(res.code, 0, `vncsnap failed: ${res.stderr}`);
    const ppm = readPpm(fs.readFileSync(snapOut));
    assert.deepEqual([ppm.width, ppm.height], [MODE.width, MODE.height]);
    const d = differences(ppm.rgb, 3, ppm.width, want);
    assert.equal(d.count, 0, `${d.count} pixels differ, first ${d.first}`);
  });

  it('gvnccapture, connected after: the new size, and the same picture as libvncclient', async function () {
    if (missing.gvnccapture) {
      console.log(`      pending: ${missing.gvnccapture}`);
      this.skip();
    }
    await snapDone; // gvnccapture asks for exclusive access: the others are dropped
    const out = path.join(tmp, 'gvnccapture.png');
    execFileSync('gvnccapture', [`127.0.0.1:${vncPort - 5900}`, out], { stdio: 'ignore', timeout: 20000 });
    const shot = PNG.sync.read(fs.readFileSync(out));
    assert.deepEqual([shot.width, shot.height], [MODE.width, MODE.height]);
    const d = differences(shot.data, 4, shot.width, want);
    assert.equal(d.count, 0, `${d.count} pixels differ, first ${d.first}`);
    if (!missing.libvncclient) {
      const ppm = readPpm(fs.readFileSync(snapOut));
      for (let i = 0; i < MODE.width * MODE.height; i++) {
        const same =
          ppm.rgb[i * 3] === shot.data[i * 4] && ppm.rgb[i * 3 + 1] === shot.data[i * 4 + 1] && ppm.rgb[i * 3 + 2] === shot.data[i * 4 + 2];
        if (!same) assert.fail(`libvncclient and gvnccapture differ at pixel ${i % MODE.width},${Math.floor(i / MODE.width)}`);
      }
    }
  });
});
