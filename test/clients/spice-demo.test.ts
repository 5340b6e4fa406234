// End to end on the simulator with real SPICE clients, the way a user runs it:
//   - `xenvfb demo --workload still --image X.png`: spicy-screenshot (spice-client-gtk) returns
//     the image pixel for pixel, and the console nodes spice-port/spice-listen are in xenstore;
//   - `xenvfb demo --workload pattern`: the GI client (spice-gtk) follows the animation; each
//     time the guest is stopped (SIGSTOP) its picture equals that of a VNC client following the
//     same guest; keys and clicks it sends arrive in the guest's vkbd as Linux codes.

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { DemoProcess, freeVncPort, hasCommand } from '../helpers/demo-process';
import { blockImage, type Rgb } from '../helpers/images';
import { SpiceGiClient, spiceGiMissing } from '../helpers/spice-gi';
import { XsClient } from '../../shared/xenstore/client';
import { TinyRfbClient } from '../helpers/rfb-client';

const WIDTH = 320;
const HEIGHT = 240;

function pendingUnless(ctx: Mocha.Context, cmd: string, pkg: string): void {
  if (!hasCommand(cmd)) {
    console.log(`    pending: ${cmd} not installed (Debian package ${pkg}; run npm run setup:test-deps as root)`);
    ctx.skip();
  }
}

function pendingUnlessGi(ctx: Mocha.Context): void {
  const why = spiceGiMissing();
  if (why) {
    console.log(`    pending: ${why}; run npm run setup:test-deps as root`);
    ctx.skip();
  }
}

function readPpm(buf: Buffer): { width: number; height: number; pixels: Rgb[][] } {
  const header = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(buf.subarray(0, 64).toString('latin1'));
  if (!header) throw new Error('not a binary PPM');
  const width = Number(header[1]);
  const height = Number(header[2]);
  let o = header[0].length;
  const pixels: Rgb[][] = [];
  for (let y = 0; y < height; y++) {
    const row: Rgb[] = [];
    for (let x = 0; x < width; x++, o += 3) row.push([buf[o]!, buf[o + 1]!, buf[o + 2]!]);
    pixels.push(row);
  }
  return { width, height, pixels };
}

/** The SPICE port the demo printed (it listens on port 0: any free one). */
async function spicePortOf(demo: DemoProcess): Promise<number> {
  const m = await demo.waitFor(/^ {2}SPICE\s+127\.0\.0\.1:(\d+)/, 40000);
  return Number(m[1]);
}

describe('xenvfb demo with real SPICE clients', function () {
  this.timeout(90000);

  describe('still workload', function () {
    let tmp: string;
    let image: Rgb[][];
    let demo: DemoProcess;
    let spicePort: number;

    before(async function () {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-spice-e2e-'));
      const imagePath = path.join(tmp, 'X.png');
      const png = blockImage(WIDTH, HEIGHT, 16, 0x5bce);
      fs.writeFileSync(imagePath, PNG.sync.write(png.png));
      image = png.pixels;
      const vnc = await freeVncPort();
      demo = DemoProcess.start([
        '--workload',
        'still',
        '--image',
        imagePath,
        '--vnc',
        `127.0.0.1:${vnc}`,
        '--no-web',
        '--spice',
        '127.0.0.1:0',
      ]);
      await demo.waitFor(/is connected/, 40000);
      spicePort = await spicePortOf(demo);
    });

    after(async function () {
      const code = await demo?.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
      assert.equal(code, 0, 'the demo exits cleanly on SIGTERM');
    });

    it('prints the SPICE address and writes console/spice-port and spice-listen', async function () {
      const xs = await XsClient.connect({ path: demo.xenstoredPath });
      try {
        assert.equal(await xs.tryRead('/local/domain/1/console/spice-port'), String(spicePort));
        assert.equal(await xs.tryRead('/local/domain/1/console/spice-listen'), '127.0.0.1');
      } finally {
        xs.close();
      }
    });

    it('spicy-screenshot returns the guest image pixel for pixel', function () {
      pendingUnless(this, 'spicy-screenshot', 'spice-client-gtk');
      const out = path.join(tmp, 'shot.ppm');
      execFileSync('spicy-screenshot', ['-h', '127.0.0.1', '-p', String(spicePort), '-o', out], { timeout: 20000, stdio: 'ignore' });
      const got = readPpm(fs.readFileSync(out));
      assert.equal(got.width, WIDTH);
      assert.equal(got.height, HEIGHT);
      for (let y = 0; y < HEIGHT; y++) {
        for (let x = 0; x < WIDTH; x++) assert.deepEqual(got.pixels[y]![x], image[y]![x], `pixel (${x},${y})`);
      }
    });
  });

  describe('pattern workload', function () {
    let tmp: string;
    let demo: DemoProcess;
    let vncPort: number;
    let spicePort: number;

    before(async function () {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-spice-pattern-'));
      vncPort = await freeVncPort();
      // UPDATE events, not dirty tiles: an event is on the ring in the same tick the guest
      // draws, while tile marks wait for the guest to switch bitmaps, which a stopped guest
      // never does; the last frame's damage would then reach neither server, and only the
      // VNC grab (a full read) would show it.
      demo = DemoProcess.start([
        '--workload',
        'pattern',
        '--no-dirty-tiles',
        '--vnc',
        `127.0.0.1:${vncPort}`,
        '--no-web',
        '--spice',
        '127.0.0.1:0',
      ]);
      await demo.waitFor(/is connected/, 40000);
      spicePort = await spicePortOf(demo);
    });

    after(async function () {
      const code = await demo?.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
      assert.equal(code, 0, 'the demo exits cleanly on SIGTERM');
    });

    function guestPid(): number {
      for (let i = demo.lines.length - 1; i >= 0; i--) {
        const m = /^guest pid (\d+)/.exec(demo.lines[i]!);
        if (m) return Number(m[1]);
      }
      throw new Error('no guest pid line');
    }

    it("the GI client's picture follows the animation: equal to a VNC client's that follows the same guest", async function () {
      // Both clients follow the same damage stream (the backend's one Display). The frontend sends
      // its UPDATE events on a refresh tick, so a stopped guest may hold one frame's damage back
      // from both servers; a full VNC grab would show those pixels, a follower must not.
      pendingUnlessGi(this);
      const client = SpiceGiClient.start('127.0.0.1', spicePort);
      const vnc = await TinyRfbClient.connect('127.0.0.1', vncPort);
      vnc.startUpdates();
      const pid = guestPid();
      try {
        await client.waitFor((e) => e.event === 'mark');
        for (let round = 0; round < 3; round++) {
          await new Promise((r) => setTimeout(r, 400)); // let the animation run
          process.kill(pid, 'SIGSTOP');
          try {
            // The last updates drain on both servers (and JPEG areas get their lossless refresh,
            // 300 ms after they went still): poll until the pictures agree, up to a deadline.
            const deadline = Date.now() + 10000;
            let mismatch = '';
            for (;;) {
              const spice = await client.dump();
              assert.equal(spice.width, vnc.width);
              assert.equal(spice.height, vnc.height);
              mismatch = '';
              for (let y = 0; y < vnc.height && !mismatch; y++) {
                for (let x = 0; x < vnc.width; x++) {
                  const o = y * spice.stride + x * 4;
                  const got = (spice.data[o + 2]! << 16) | (spice.data[o + 1]! << 8) | spice.data[o]!;
                  if (got !== vnc.fb[y * vnc.width + x]) {
                    mismatch = `pixel (${x},${y}) ${got.toString(16)} vs ${vnc.fb[y * vnc.width + x]!.toString(16)}`;
                    break;
                  }
                }
              }
              if (!mismatch) break;
              if (Date.now() > deadline) assert.fail(`round ${round}: ${mismatch}`);
              await new Promise((r) => setTimeout(r, 200));
            }
          } finally {
            process.kill(pid, 'SIGCONT');
          }
        }
        const invalidates = client.events.filter((e) => e.event === 'invalidate').length;
        assert.ok(invalidates > 10, `partial updates arrived (${invalidates} invalidate events)`);
      } finally {
        vnc.close();
        await client.stop();
      }
    });

    it("the GI client's keys and clicks arrive in the guest's vkbd", async function () {
      pendingUnlessGi(this);
      const from = demo.lines.length;
      const client = SpiceGiClient.start('127.0.0.1', spicePort);
      try {
        await client.waitFor((e) => e.event === 'inputs');
        await client.waitFor((e) => e.event === 'mark');
        client.send({ cmd: 'key', scancode: 0x10, down: true }); // Q
        client.send({ cmd: 'key', scancode: 0x10, down: false });
        client.send({ cmd: 'position', x: 77, y: 33, buttons: 0 });
        client.send({ cmd: 'button', button: 1, down: true, buttons: 1 });
        client.send({ cmd: 'button', button: 1, down: false, buttons: 0 });
        await demo.waitFor(/guest input: .*"type":"key","keycode":16,"pressed":true/, 10000, from);
        await demo.waitFor(/guest input: .*"type":"key","keycode":16,"pressed":false/, 10000, from);
        await demo.waitFor(/guest input: .*"type":"pos".*"x":77,"y":33/, 10000, from);
        await demo.waitFor(/guest input: .*"type":"key","keycode":272,"pressed":true/, 10000, from);
        await demo.waitFor(/guest input: .*"type":"key","keycode":272,"pressed":false/, 10000, from);
      } finally {
        await client.stop();
      }
    });

    it('a guest resize (SIGUSR1: the next mode) reaches the GI client and spicy-screenshot with the new size', async function () {
      pendingUnlessGi(this);
      pendingUnless(this, 'spicy-screenshot', 'spice-client-gtk');
      const client = SpiceGiClient.start('127.0.0.1', spicePort);
      try {
        await client.waitFor((e) => e.event === 'mark');
        const from = demo.lines.length;
        const fromEvents = client.events.length;
        process.kill(guestPid(), 'SIGUSR1');
        const m = await demo.waitFor(/^guest resized: .*"width":(\d+),"height":(\d+)/, 15000, from);
        const [w, h] = [Number(m[1]), Number(m[2])];
        await client.waitFor((e) => e.event === 'primary' && e.width === w && e.height === h, 15000, fromEvents);
      } finally {
        await client.stop();
      }
      const out = path.join(tmp, 'resized.ppm');
      execFileSync('spicy-screenshot', ['-h', '127.0.0.1', '-p', String(spicePort), '-o', out], { timeout: 20000, stdio: 'ignore' });
      const shot = readPpm(fs.readFileSync(out));
      const last = /"width":(\d+),"height":(\d+)/.exec(demo.lines.filter((l) => l.startsWith('guest resized')).at(-1)!)!;
      assert.deepEqual([shot.width, shot.height], [Number(last[1]), Number(last[2])]);
    });
  });
});
