// `xenvfb watch --http` in headless Chromium (issue 12): two simulated domains under one
// daemon; the host page lists both, each with a thumbnail that Chromium decodes as a PNG and
// that shows that domain's own screen; from the page, the web console of one domain: extra
// keys, fullscreen, paste-as-keystrokes and text typed on the keyboard ("Hello: /") reach
// that guest as the right Linux key codes, and nothing reaches the other guest.

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { SimHypervisor } from '../../shared/platform/sim/hypervisor';
import { addDevice } from '../../shared/platform/sim/toolstack';
import { XsClient } from '../../shared/xenstore/client';
import { silentLogger } from '../../shared/log';
import { XENVFB, freePort } from '../helpers/demo-process';
import { blockImage } from '../helpers/images';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';
import { guestKeyEvents, usText } from '../helpers/us-keys';
import { stopChild } from '../helpers/stop-child';

const WIDTH = 640;
const HEIGHT = 480;
const DOMAINS = [2, 3] as const;

class Lines {
  readonly all: string[] = [];
  constructor(stream: NodeJS.ReadableStream) {
    readline.createInterface({ input: stream }).on('line', (l) => this.all.push(l));
  }
  async wait(re: RegExp, from = 0, timeoutMs = 30000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const l of this.all.slice(from)) {
        const m = l.match(re);
        if (m) return m;
      }
      if (Date.now() > deadline) throw new Error(`no line matching ${re}:\n${this.all.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

type PageGlobals = {
  xenvfb?: { status: string };
  document: {
    fullscreenElement: unknown;
    querySelectorAll(sel: string): ArrayLike<{ getAttribute(n: string): string | null; textContent: string | null }>;
    querySelector(sel: string): unknown;
    createElement(tag: string): unknown;
  };
};

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base (not below `above`) with base+2 and base+3 free. */
async function freeBase(above = 0): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = Math.max(above, (await freePort()) - 2);
    if ((await portFree(base + 2)) && (await portFree(base + 3))) return base;
  }
  throw new Error('no free port pair');
}

/** Keyboard keys only: the click that focuses the console is BTN_LEFT (0x110). */
const keyboardEvents = (lines: readonly string[]) => guestKeyEvents(lines).filter((e) => e.code < 0x100);

/** 0xRRGGBB of every pixel of a guest image. */
function rgbOf(png: PNG): Uint32Array {
  const out = new Uint32Array(png.width * png.height);
  for (let i = 0; i < out.length; i++) out[i] = (png.data[i * 4]! << 16) | (png.data[i * 4 + 1]! << 8) | png.data[i * 4 + 2]!;
  return out;
}

describe('host page and web console in headless Chromium (xenvfb watch --http, two domains)', function () {
  this.timeout(90000);
  let dir: string;
  let hv: SimHypervisor;
  let xs: XsClient;
  let watch: ChildProcess | undefined;
  let out: Lines;
  let hostPage: string;
  let browser: Browser | undefined;
  let page: Page;
  const guests = new Map<number, { child: ChildProcess; lines: Lines; rgb: Uint32Array }>();

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    pending: ${CHROMIUM} not installed (Debian package chromium; run npm run setup:test-deps as root)`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'xenvfb-hostpage-'));
    hv = await SimHypervisor.start({ dir, log: silentLogger });
    xs = await XsClient.connect({ path: path.join(dir, 'xenstored', 'socket') });
    // VNC and web console on base + domid (watch's policy): bases whose ports for 2 and 3 are free.
    const vncBase = await freeBase();
    const webBase = await freeBase(vncBase + 10);
    watch = spawn(
      process.execPath,
      [XENVFB, 'watch', '--sim-dir', dir, '--port-base', String(vncBase), '--web-base', String(webBase), '--http', '127.0.0.1:0'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } },
    );
    watch.stderr!.resume();
    out = new Lines(watch.stdout!);
    hostPage = (await out.wait(/^xenvfb watch: ready: .*; host page (http:\S+)\/$/))[1]!;
    const { chromium } = await import('playwright-core');
    const launching = chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    for (const domid of DOMAINS) {
      const image = blockImage(WIDTH, HEIGHT, 16, 1000 + domid).png;
      const file = path.join(dir, `guest-${domid}.png`);
      fs.writeFileSync(file, PNG.sync.write(image));
      await hv.createDomain(domid, { name: `web-${domid}`, memoryMiB: 64 });
      await addDevice(xs, { kind: 'vfb', domid, devid: 0 });
      await addDevice(xs, { kind: 'vkbd', domid, devid: 0 });
      const child = spawn(
        process.execPath,
        [XENVFB, 'guest', '--domid', String(domid), '--sim-dir', dir, '--workload', 'still', '--image', file],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child.stderr!.resume();
      guests.set(domid, { child, lines: new Lines(child.stdout!), rgb: rgbOf(image) });
    }
    for (const domid of DOMAINS) {
      await out.wait(new RegExp(`^domain ${domid}: backend pid \\d+ serving VNC .*, web http://127\\.0\\.0\\.1:${webBase + domid}/$`));
      await guests.get(domid)!.lines.wait(/"event":"ready"/);
    }
    browser = await launching;
    page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  });

  after(async function () {
    await browser?.close().catch(() => undefined);
    for (const g of guests.values()) g.child.kill('SIGTERM');
    const watchEnd = watch ? await stopChild(watch, { graceMs: 10000 }) : 'gone';
    xs?.close();
    await hv?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    assert.notEqual(watchEnd, 'killed', 'xenvfb watch did not exit within 10 s of SIGTERM');
  });

  it('lists both domains, each with a thumbnail Chromium decodes that shows its own screen', async function () {
    await page.goto(`${hostPage}/`);
    const rows = await page.$$eval('tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.deepEqual(
      rows.map((r) => r.slice(0, 3)),
      DOMAINS.map((d) => [String(d), `web-${d}`, 'running']),
    );
    for (const domid of DOMAINS) {
      const sel = `tr[data-domid="${domid}"] img`;
      await page.waitForFunction((s) => {
        const img = (globalThis as unknown as PageGlobals).document.querySelector(s) as { complete: boolean; naturalWidth: number };
        return img.complete && img.naturalWidth > 0;
      }, sel);
      // The thumbnail's pixels as Chromium decoded them (a canvas, read back).
      const shot = await page.$eval(sel, (img) => {
        const el = img as unknown as { naturalWidth: number; naturalHeight: number };
        const canvas = (globalThis as unknown as PageGlobals).document.createElement('canvas') as {
          width: number;
          height: number;
          getContext(k: string): {
            drawImage(i: unknown, x: number, y: number): void;
            getImageData(...a: number[]): { data: ArrayLike<number> };
          };
        };
        canvas.width = el.naturalWidth;
        canvas.height = el.naturalHeight;
        const ctx = canvas.getContext('2d');
        ctx.drawImage(img, 0, 0);
        return {
          width: el.naturalWidth,
          height: el.naturalHeight,
          data: Array.from(ctx.getImageData(0, 0, el.naturalWidth, el.naturalHeight).data),
        };
      });
      assert.deepEqual([shot.width, shot.height], [WIDTH / 2, HEIGHT / 2], `domain ${domid}: a 640x480 guest at half size`);
      const want = guests.get(domid)!.rgb;
      let wrong = 0;
      for (let y = 0; y < shot.height; y++) {
        for (let x = 0; x < shot.width; x++) {
          const i = (y * shot.width + x) * 4;
          // Nearest neighbour at half size: thumbnail pixel (x, y) is guest pixel (2x, 2y).
          if (((shot.data[i]! << 16) | (shot.data[i + 1]! << 8) | shot.data[i + 2]!) !== want[2 * y * WIDTH + 2 * x]) wrong++;
        }
      }
      assert.equal(wrong, 0, `domain ${domid}: ${wrong} thumbnail pixels are not its guest's`);
    }
  });

  it("domain 3's web console from the page: extra keys, fullscreen, paste and typed 'Hello: /' reach that guest only", async function () {
    const other = guests.get(2)!.lines;
    const otherFrom = other.all.length;
    const mine = guests.get(3)!.lines;
    await page.goto(`${hostPage}/`);
    await Promise.all([page.waitForNavigation(), page.click('tr[data-domid="3"] a')]);
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).xenvfb?.status === 'connected', null, { timeout: 15000 });

    const keysFrom = async (from: number, lastCode: number) => {
      await mine.wait(new RegExp(`"type":"key","keycode":${lastCode},"pressed":false`), from, 10000);
      return guestKeyEvents(mine.all.slice(from)).map((e) => [e.code, e.pressed]);
    };
    let from = mine.all.length;
    await page.selectOption('#keys', 'ctrl-alt-F2');
    assert.deepEqual(await keysFrom(from, 29), [
      [29, true],
      [56, true],
      [60, true],
      [60, false],
      [56, false],
      [29, false],
    ]);

    await page.click('#fullscreen');
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.fullscreenElement !== null, null, { timeout: 5000 });
    await page.click('#fullscreen');
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.fullscreenElement === null, null, { timeout: 5000 });

    const typedSince = async (from: number, text: string) => {
      const deadline = Date.now() + 10000;
      let typed = '';
      while (Date.now() < deadline) {
        typed = usText(keyboardEvents(mine.all.slice(from)));
        if (typed.length >= text.length) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      return typed;
    };
    from = mine.all.length;
    await page.click('#paste');
    await page.fill('#paste-text', 'Hello: /');
    await page.click('#paste-send');
    assert.equal(await typedSince(from, 'Hello: /'), 'Hello: /', 'pasted');
    // The same text typed on the keyboard into the console (noVNC sends keysyms; the backend
    // adds the Shift a US layout needs for 'H' and ':').
    from = mine.all.length;
    await page.click('#screen canvas');
    await page.keyboard.type('Hello: /', { delay: 20 });
    assert.equal(await typedSince(from, 'Hello: /'), 'Hello: /', 'typed');
    // Shift went down around 'H' and ':' and nowhere else: the key codes themselves.
    const codes = keyboardEvents(mine.all.slice(from))
      .filter((e) => e.pressed)
      .map((e) => e.code);
    assert.deepEqual(codes, [42, 35, 18, 38, 38, 24, 42, 39, 57, 53]);

    assert.deepEqual(guestKeyEvents(other.all.slice(otherFrom)), [], 'domain 2 got none of it');
  });
});
