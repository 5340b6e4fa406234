// End to end on the simulator with real third-party software: `xenvfb demo --workload still`
// as a user runs it; gvnccapture and vncsnapshot take screenshots; xenstore-utils lists the
// device nodes; a VNC client's key and click reach the guest's vkbd frontend; kill -9 of
// the guest and the backend serves its restarted incarnation.

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { DemoProcess, freeVncPort, hasCommand } from '../helpers/demo-process';
import { TinyRfbClient } from '../helpers/rfb-client';
import { blockImage, readPng, type Rgb } from '../helpers/images';
import { XsClient } from '../../shared/xenstore/client';

const BLOCK = 16;
const WIDTH = 320;
const HEIGHT = 240;

function pendingUnless(ctx: Mocha.Context, cmd: string, pkg: string): void {
  if (!hasCommand(cmd)) {
    console.log(`    pending: ${cmd} not installed (Debian package ${pkg}; run npm run setup:test-deps as root)`);
    ctx.skip();
  }
}

async function waitForStates(xs: XsClient, want: string, paths: string[], timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await Promise.all(paths.map((p) => xs.tryRead(p)));
    if (got.every((s) => s === want)) return;
    if (Date.now() > deadline) throw new Error(`states ${got.join(',')} != ${want} for ${paths.join(' ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('xenvfb demo with real clients', function () {
  this.timeout(60000);
  let tmp: string;
  let imagePath: string;
  let image: Rgb[][];
  let demo: DemoProcess;
  let port: number;
  let xs: XsClient;

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-e2e-'));
    imagePath = path.join(tmp, 'X.png');
    const png = blockImage(WIDTH, HEIGHT, BLOCK, 0x5eed);
    fs.writeFileSync(imagePath, PNG.sync.write(png.png));
    image = png.pixels;
    port = await freeVncPort();
    demo = DemoProcess.start(['--workload', 'still', '--image', imagePath, '--vnc', `127.0.0.1:${port}`]);
    await demo.waitFor(/is connected/, 40000);
    xs = await XsClient.connect({ path: demo.xenstoredPath });
  });

  after(async function () {
    xs?.close();
    const code = await demo?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
    assert.equal(code, 0, 'the demo exits cleanly on SIGTERM');
  });

  function capture(): Rgb[][] {
    const out = path.join(tmp, `gvnc-${Date.now()}.png`);
    execFileSync('gvnccapture', ['--quiet', `127.0.0.1:${port - 5900}`, out], { timeout: 20000 });
    return readPng(fs.readFileSync(out)).pixels;
  }

  it('gvnccapture gets every pixel of the image', function () {
    pendingUnless(this, 'gvnccapture', 'gvncviewer');
    const got = capture();
    assert.equal(got.length, HEIGHT);
    assert.equal(got[0]!.length, WIDTH);
    for (let y = 0; y < HEIGHT; y++) {
      for (let x = 0; x < WIDTH; x++) {
        assert.deepEqual(got[y]![x], image[y]![x], `pixel (${x},${y})`);
      }
    }
  });

  for (const encodings of [undefined, 'raw', 'hextile', 'zrle']) {
    it(`vncsnapshot (${encodings ? `-encodings ${encodings}` : 'default encodings'}) gets the image`, function () {
      pendingUnless(this, 'vncsnapshot', 'vncsnapshot');
      pendingUnless(this, 'djpeg', 'libjpeg-turbo-progs');
      const out = path.join(tmp, `snap-${encodings ?? 'default'}.jpg`);
      const args = ['-quiet', '-allowblank', ...(encodings ? ['-encodings', encodings] : []), `127.0.0.1:${port - 5900}`, out];
      execFileSync('vncsnapshot', args, { timeout: 20000 });
      // vncsnapshot only writes JPEG. The image is made of flat 16x16 blocks aligned to
      // JPEG's MCUs: grey blocks survive exactly (Cb = Cr = 128); colour blocks only
      // through the YCbCr round trip, within 3 levels. A wrong pixel format or offset
      // would be off by far more.
      const got = decodeJpeg(out);
      assert.equal(got.length, HEIGHT);
      for (let y = 0; y < HEIGHT; y++) {
        for (let x = 0; x < WIDTH; x++) {
          const want = image[y]![x]!;
          const have = got[y]![x]!;
          const grey = want[0] === want[1] && want[1] === want[2];
          const tol = grey ? 0 : 3;
          for (let c = 0; c < 3; c++) {
            assert.ok(Math.abs(have[c]! - want[c]!) <= tol, `pixel (${x},${y}) channel ${c}: ${have} vs ${want}`);
          }
        }
      }
    });
  }

  it('xenstore-ls sees both devices Connected with libxl permissions', function () {
    pendingUnless(this, 'xenstore-ls', 'xenstore-utils');
    const out = execFileSync('xenstore-ls', ['-fp'], { env: { ...process.env, XENSTORED_PATH: demo.xenstoredPath } }).toString();
    const node = (p: string) => {
      const line = out.split('\n').find((l) => l.startsWith(`${p} = `));
      assert.ok(line, `${p} listed by xenstore-ls:\n${out}`);
      const m = /^(\S+) = "([^"]*)"\s+\((.*)\)$/.exec(line);
      assert.ok(m, `parse ${line}`);
      return { value: m[2], perms: m[3] };
    };
    for (const kind of ['vfb', 'vkbd']) {
      const be = `/local/domain/0/backend/${kind}/1/0`;
      const fe = `/local/domain/1/device/${kind}/0`;
      assert.deepEqual(node(`${be}/state`), { value: '4', perms: 'n0,r1' });
      assert.deepEqual(node(`${fe}/state`), { value: '4', perms: 'n1,r0' });
      assert.equal(node(`${be}/frontend`).value, fe);
      assert.equal(node(`${fe}/backend`).value, be);
      assert.equal(node(`${fe}/event-channel`).perms, 'n1,r0');
    }
    assert.equal(node('/local/domain/1/device/vfb/0/feature-update').value, '1');
    assert.equal(node('/local/domain/0/backend/vfb/1/0/request-update').value, '1');
    assert.equal(node('/local/domain/1/device/vkbd/0/request-abs-pointer').value, '1');
  });

  it('a key and a click from a VNC client arrive in the guest as Linux input events', async function () {
    const from = demo.lines.length;
    const c = await TinyRfbClient.connect('127.0.0.1', port);
    try {
      assert.equal(c.width, WIDTH);
      assert.equal(c.height, HEIGHT);
      c.key(0x61, true); // XK_a
      c.key(0x61, false);
      await demo.waitFor(/guest input: .*"type":"key","keycode":30,"pressed":true/, 10000, from);
      await demo.waitFor(/guest input: .*"type":"key","keycode":30,"pressed":false/, 10000, from);
      c.pointer(123, 45, 0);
      c.pointer(123, 45, 1); // left button down
      c.pointer(123, 45, 0);
      await demo.waitFor(/guest input: .*"type":"pos".*"x":123,"y":45/, 10000, from);
      await demo.waitFor(/guest input: .*"type":"key","keycode":272,"pressed":true/, 10000, from);
      await demo.waitFor(/guest input: .*"type":"key","keycode":272,"pressed":false/, 10000, from);
    } finally {
      c.close();
    }
  });

  it('kill -9 of the guest: the backend closes, keeps running, and serves the restarted guest', async function () {
    const guestPid = Number(lastMatch(demo.lines, /^guest pid (\d+)/));
    const backendPid = Number(lastMatch(demo.lines, /^backend pid (\d+)/));
    const from = demo.lines.length;
    process.kill(guestPid, 'SIGKILL');
    const backends = ['vfb', 'vkbd'].map((k) => `/local/domain/0/backend/${k}/1/0/state`);
    await waitForStates(xs, '6', backends);
    assert.doesNotThrow(() => process.kill(backendPid, 0), 'the backend process is still alive');
    const m = await demo.waitFor(/^guest pid (\d+)/, 15000, from);
    assert.notEqual(Number(m[1]), guestPid);
    await waitForStates(xs, '4', [...backends, '/local/domain/1/device/vfb/0/state', '/local/domain/1/device/vkbd/0/state'], 30000);
    assert.ok(!demo.lines.slice(from).some((l) => /backend exited/.test(l)), 'the backend did not restart');
    if (hasCommand('gvnccapture')) {
      // Give the restarted guest's first full update a moment to arrive.
      await new Promise((r) => setTimeout(r, 300));
      const got = capture();
      assert.deepEqual(got[100]![200], image[100]![200]);
      assert.deepEqual(got, image);
    }
  });
});

function lastMatch(lines: string[], re: RegExp): string {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = re.exec(lines[i]!);
    if (m) return m[1]!;
  }
  throw new Error(`no line matches ${re}`);
}

/** Decode a JPEG with libjpeg's djpeg (jpeg-js misreads vncsnapshot's files). */
function decodeJpeg(file: string): Rgb[][] {
  return readPpm(execFileSync('djpeg', ['-pnm', file]));
}

function readPpm(buf: Buffer): Rgb[][] {
  const header = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(buf.subarray(0, 64).toString('latin1'));
  if (!header) throw new Error('djpeg did not write a binary PPM');
  const w = Number(header[1]);
  const h = Number(header[2]);
  let o = header[0].length;
  const rows: Rgb[][] = [];
  for (let y = 0; y < h; y++) {
    const row: Rgb[] = [];
    for (let x = 0; x < w; x++, o += 3) row.push([buf[o]!, buf[o + 1]!, buf[o + 2]!]);
    rows.push(row);
  }
  return rows;
}

// The same still image through both damage paths: the dirty-tile page (default) and
// XENFB_TYPE_UPDATE events (--no-dirty-tiles). gvnccapture must see every pixel either way.
describe('xenvfb demo --dirty-tiles / --no-dirty-tiles with gvnccapture', function () {
  this.timeout(60000);
  for (const flag of ['--dirty-tiles', '--no-dirty-tiles']) {
    it(`${flag}: exact screenshot, and the negotiated keys say which path`, async function () {
      pendingUnless(this, 'gvnccapture', 'gvncviewer');
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-dt-e2e-'));
      const imagePath = path.join(tmp, 'still.png');
      const png = blockImage(WIDTH, HEIGHT, BLOCK, 0xd1e7);
      fs.writeFileSync(imagePath, PNG.sync.write(png.png));
      const port = await freeVncPort();
      const demo = DemoProcess.start(['--workload', 'still', '--image', imagePath, '--vnc', `127.0.0.1:${port}`, '--no-web', flag]);
      let xs: XsClient | undefined;
      try {
        await demo.waitFor(/is connected/, 40000);
        xs = await XsClient.connect({ path: demo.xenstoredPath });
        const tiles = flag === '--dirty-tiles';
        // request-dirty-tiles is written before the backend's Connected, which we waited for.
        assert.equal(await xs.tryRead('/local/domain/0/backend/vfb/1/0/request-dirty-tiles'), tiles ? '1' : undefined);
        assert.equal((await xs.tryRead('/local/domain/1/device/vfb/0/dirty-tiles-gref')) !== undefined, tiles);
        assert.equal(await xs.tryRead('/local/domain/1/device/vfb/0/grant-fb'), '1');
        const out = path.join(tmp, 'shot.png');
        execFileSync('gvnccapture', ['--quiet', `127.0.0.1:${port - 5900}`, out], { timeout: 20000 });
        const got = readPng(fs.readFileSync(out)).pixels;
        assert.equal(got.length, HEIGHT);
        for (let y = 0; y < HEIGHT; y++) {
          for (let x = 0; x < WIDTH; x++) assert.deepEqual(got[y]![x], png.pixels[y]![x], `pixel (${x},${y})`);
        }
      } finally {
        xs?.close();
        const code = await demo.stop();
        fs.rmSync(tmp, { recursive: true, force: true });
        assert.equal(code, 0, 'the demo exits cleanly on SIGTERM');
      }
    });
  }
});
