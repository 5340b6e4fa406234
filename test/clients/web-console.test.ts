// The web console's controls in headless Chromium against `xenvfb demo --web`, as a user
// clicks them: keys the browser keeps for itself, text typed as keystrokes (a PV guest has no
// clipboard), view-only, fullscreen, disconnect, and reconnect with backoff after the backend
// is killed and restarted by the demo.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { DemoProcess, freePort, freeVncPort } from '../helpers/demo-process';
import { blockImage } from '../helpers/images';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';
import { guestKeyEvents, usText } from '../helpers/us-keys';

const WIDTH = 320;
const HEIGHT = 240;

/** The page state the console exposes (backend/web/page/vnc.js). */
interface ConsoleState {
  status: string;
  reconnects: number;
  typed: number;
}
type PageGlobals = {
  xenvfb?: ConsoleState;
  document: { fullscreenElement: unknown; querySelector(sel: string): { getBoundingClientRect(): { left: number; top: number } } };
};

const consoleState = (page: Page): Promise<ConsoleState> => page.evaluate(() => (globalThis as unknown as PageGlobals).xenvfb!);

async function waitStatus(page: Page, want: string, timeout = 15000): Promise<void> {
  await page.waitForFunction((s) => (globalThis as unknown as PageGlobals).xenvfb?.status === s, want, { timeout });
}

describe('web console controls in headless Chromium (xenvfb demo --web)', function () {
  this.timeout(60000);
  let tmp: string;
  let demo: DemoProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    pending: ${CHROMIUM} not installed (Debian package chromium; run npm run setup:test-deps as root)`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-console-'));
    const png = path.join(tmp, 'still.png');
    fs.writeFileSync(png, PNG.sync.write(blockImage(WIDTH, HEIGHT, 16, 77).png));
    const [vncPort, webPort] = [await freeVncPort(), await freePort()];
    demo = DemoProcess.start(['--workload', 'still', '--image', png, '--vnc', `127.0.0.1:${vncPort}`, '--web', `127.0.0.1:${webPort}`]);
    const { chromium } = await import('playwright-core');
    const launching = chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    await demo.waitFor(/is connected/);
    const web = await demo.waitFor(/^\s+Web\s+(http:\/\/\S+)/);
    browser = await launching;
    page = await browser.newPage({ viewport: { width: 900, height: 600 } });
    await page.goto(web[1]!);
    await waitStatus(page, 'connected');
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await demo?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Key events the guest received from line `from` on, once `code` was released. */
  async function keysUntilReleased(from: number, code: number): Promise<Array<[number, boolean]>> {
    await demo!.waitFor(new RegExp(`guest input: .*"type":"key","keycode":${code},"pressed":false`), 10000, from);
    return guestKeyEvents(demo!.lines.slice(from)).map((e) => [e.code, e.pressed]);
  }

  it('Ctrl-Alt-Del, Ctrl-Alt-F2, Esc and Tab reach the guest as those Linux keys', async () => {
    let from = demo!.lines.length;
    await page.click('#cad');
    assert.deepEqual(await keysUntilReleased(from, 29), [
      [29, true],
      [56, true],
      [111, true],
      [111, false],
      [56, false],
      [29, false],
    ]);
    for (const [option, keys] of [
      [
        'ctrl-alt-F2',
        [
          [29, true],
          [56, true],
          [60, true],
          [60, false],
          [56, false],
          [29, false],
        ],
      ],
      [
        'Escape',
        [
          [1, true],
          [1, false],
        ],
      ],
      [
        'Tab',
        [
          [15, true],
          [15, false],
        ],
      ],
    ] as const) {
      from = demo!.lines.length;
      await page.selectOption('#keys', option);
      const last = keys[keys.length - 1]![0];
      assert.deepEqual(await keysUntilReleased(from, last), keys, option);
    }
  });

  it('text pasted into the console is typed into the guest, Shift and newlines included', async () => {
    const text = 'Hello: /\nxenvfb 1+1=2 "ok"?';
    const from = demo!.lines.length;
    await page.click('#paste');
    await page.fill('#paste-text', text);
    await page.click('#paste-send');
    const deadline = Date.now() + 10000;
    let typed = '';
    while (Date.now() < deadline) {
      typed = usText(guestKeyEvents(demo!.lines.slice(from)));
      if (typed.length >= text.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(typed, text);
  });

  it('view only: clicks do not reach the guest and the key buttons are disabled', async () => {
    await page.check('#view-only');
    assert.equal(await page.isDisabled('#cad'), true);
    const from = demo!.lines.length;
    const box = await page.evaluate(() => {
      const r = (globalThis as unknown as PageGlobals).document.querySelector('#screen canvas').getBoundingClientRect();
      return { left: r.left, top: r.top };
    });
    await page.mouse.click(box.left + 20, box.top + 20);
    await new Promise((r) => setTimeout(r, 700));
    const input = demo!.lines.slice(from).filter((l) => l.includes('guest input:'));
    assert.deepEqual(input, [], 'no input while view only');
    await page.uncheck('#view-only');
    assert.equal(await page.isDisabled('#cad'), false);
  });

  it('fullscreen toggles the page into and out of fullscreen', async () => {
    await page.click('#fullscreen');
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.fullscreenElement !== null, null, { timeout: 5000 });
    await page.click('#fullscreen');
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.fullscreenElement === null, null, { timeout: 5000 });
  });

  it('a killed backend: the page reconnects by itself once the demo has restarted it', async () => {
    const pids = demo!.lines.map((l) => /backend pid (\d+)/.exec(l)?.[1]).filter((p): p is string => p !== undefined);
    assert.ok(pids.length > 0, 'the demo printed the backend pid');
    const before = (await consoleState(page)).reconnects;
    process.kill(Number(pids[pids.length - 1]), 'SIGKILL');
    await page.waitForFunction((n) => ((globalThis as unknown as PageGlobals).xenvfb?.reconnects ?? 0) > n, before, { timeout: 10000 });
    await waitStatus(page, 'connected', 30000);
  });

  it('disconnect stays disconnected (no reconnect)', async () => {
    await page.click('#disconnect');
    await waitStatus(page, 'disconnected');
    const { reconnects } = await consoleState(page);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await consoleState(page);
    assert.equal(after.status, 'disconnected');
    assert.equal(after.reconnects, reconnects);
  });
});
