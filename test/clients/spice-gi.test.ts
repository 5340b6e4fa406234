// Our SPICE server against spice-gtk's SpiceClientGLib (PyGObject, test/helpers/spice-gi-client.py):
// the client's decoded primary surface must equal our display pixel for pixel after a full
// picture, after a sequence of partial updates and after a resize, once per image codec; its
// keys, pointer and buttons must reach the InputSink as the right Linux codes; a wrong ticket
// is refused. The display here is an in-process test surface, so every pixel is known.

import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { SpiceServer } from '../../backend/spice/server';
import { SpiceChannel } from '../../shared/spice/constants';
import { linkBytes, ticketBytes } from '../unit/spice/helpers';
import { IMAGE_CODECS, type ImageCodecName } from '../../backend/spice/image-codecs';
import { patternSurface, RecordingInput, TestDisplay } from '../unit/vnc/helpers';
import type { Surface } from '../../backend/display/display';
import { SpiceGiClient, spiceGiMissing } from '../helpers/spice-gi';
import { prng } from '../helpers/prng';
import { BTN_LEFT, BTN_RIGHT, KEY_A, KEY_RIGHT } from '../../backend/input/linux-input-codes';

function pendingUnlessGi(ctx: Mocha.Context): void {
  const why = spiceGiMissing();
  if (why) {
    console.log(`    pending: ${why}; run npm run setup:test-deps as root`);
    ctx.skip();
  }
}

/** Link one channel on a raw socket and stop reading after the link; returns MAIN_INIT's session id (main). */
function rawLink(port: number, type: number, connectionId: number, keep: net.Socket[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    keep.push(sock);
    let buf = Buffer.alloc(0);
    let stage = 0;
    sock.on('error', reject);
    sock.on('connect', () => sock.write(linkBytes({ type, connectionId })));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (stage === 0 && buf.length >= 16 && buf.length >= 16 + buf.readUInt32LE(12)) {
        sock.write(ticketBytes(buf.subarray(20, 182), ''));
        buf = buf.subarray(16 + buf.readUInt32LE(12));
        stage = 1;
      }
      if (stage === 1 && buf.length >= 4) {
        stage = 2;
        if (type !== SpiceChannel.MAIN) {
          sock.pause(); // from here on it never reads
          return resolve(0);
        }
      }
      if (stage === 2 && type === SpiceChannel.MAIN && buf.length >= 4 + 6 + 4) {
        stage = 3;
        sock.pause();
        resolve(buf.readUInt32LE(4 + 6));
      }
    });
  });
}

/** Index of the first pixel (R,G,B) that differs, or -1. */
function firstDiff(want: Surface, got: { width: number; height: number; stride: number; data: Buffer }): number {
  assert.equal(got.width, want.width);
  assert.equal(got.height, want.height);
  for (let y = 0; y < want.height; y++) {
    for (let x = 0; x < want.width; x++) {
      const a = y * want.stride + x * 4;
      const b = y * got.stride + x * 4;
      for (let c = 0; c < 3; c++) if (want.data[a + c] !== got.data[b + c]) return y * want.width + x;
    }
  }
  return -1;
}

async function untilEqual(client: SpiceGiClient, want: Surface, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await client.dump().catch(() => null);
    const diff = got && got.width === want.width && got.height === want.height ? firstDiff(want, got) : -2;
    if (diff === -1) return;
    if (Date.now() > deadline) {
      const at =
        diff >= 0 ? ` first differing pixel (${diff % want.width}, ${Math.floor(diff / want.width)})` : ' (no surface of the right size)';
      assert.fail(`the GI client's surface never equalled the display;${at}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Flat 16x16 blocks of random colours: what JPEG keeps well. */
function blockSurface(width: number, height: number): Surface {
  const s = patternSurface(width, height);
  const rnd = prng(0xb10c);
  const colours = new Map<number, number[]>();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const key = (y >> 4) * 1000 + (x >> 4);
      if (!colours.has(key)) colours.set(key, [rnd() * 256, rnd() * 256, rnd() * 256].map(Math.floor));
      const c = colours.get(key)!;
      for (let k = 0; k < 3; k++) s.data[y * s.stride + x * 4 + k] = c[k]!;
    }
  }
  return s;
}

/** Paint a random solid or noisy rect into the surface; returns it. */
function scribble(s: Surface, rnd: () => number): { x: number; y: number; width: number; height: number } {
  const width = 1 + Math.floor(rnd() * Math.min(200, s.width));
  const height = 1 + Math.floor(rnd() * Math.min(150, s.height));
  const x = Math.floor(rnd() * (s.width - width));
  const y = Math.floor(rnd() * (s.height - height));
  const solid = rnd() < 0.5;
  const colour = [rnd() * 256, rnd() * 256, rnd() * 256].map(Math.floor);
  for (let yy = y; yy < y + height; yy++) {
    for (let xx = x; xx < x + width; xx++) {
      const o = yy * s.stride + xx * 4;
      for (let c = 0; c < 3; c++) s.data[o + c] = solid ? colour[c]! : Math.floor(rnd() * 256);
    }
  }
  return { x, y, width, height };
}

async function withServer(
  opts: { surface: Surface; codec?: ImageCodecName; password?: string; losslessRefreshMs?: number; jpegPhotos?: boolean },
  body: (ctx: { server: SpiceServer; display: TestDisplay; input: RecordingInput; port: number }) => Promise<void>,
): Promise<void> {
  const display = new TestDisplay(opts.surface, 'spice gi test');
  const input = new RecordingInput();
  const server = new SpiceServer({
    display,
    input,
    ticketing: { password: opts.password ?? null },
    name: 'gi-test',
    ...(opts.codec ? { codec: opts.codec } : {}),
    ...(opts.losslessRefreshMs !== undefined ? { losslessRefreshMs: opts.losslessRefreshMs } : {}),
    ...(opts.jpegPhotos ? { jpegPhotos: true } : {}),
  });
  const { port } = await server.listen('127.0.0.1', 0);
  try {
    await body({ server, display, input, port });
  } finally {
    await server.close();
  }
}

describe('SPICE server with spice-gtk (SpiceClientGLib over PyGObject)', function () {
  this.timeout(60000);

  for (const codec of IMAGE_CODECS) {
    // JPEG too: its areas are re-sent losslessly once still, so the end result is exact as well.
    it(`${codec}: full picture, 40 partial updates and a resize arrive pixel-exact`, async function () {
      pendingUnlessGi(this);
      await withServer({ surface: patternSurface(640, 400), codec }, async ({ display, port }) => {
        const client = SpiceGiClient.start('127.0.0.1', port);
        try {
          await client.waitFor((e) => e.event === 'mark');
          await untilEqual(client, display.current!);
          const rnd = prng(0x5b1ce + codec.length);
          for (let i = 0; i < 40; i++) {
            const r = scribble(display.current!, rnd);
            display.emit('damage', [r]);
            if (i % 10 === 9) await untilEqual(client, display.current!);
          }
          await untilEqual(client, display.current!);
          const invalidates = client.events.filter((e) => e.event === 'invalidate').length;
          assert.ok(invalidates > 2, `partial updates were drawn (${invalidates} invalidate events)`);
          // Resize: SURFACE_DESTROY + SURFACE_CREATE with the new size, then a full picture.
          const from = client.events.length;
          display.setSurface(patternSurface(800, 600));
          await client.waitFor((e) => e.event === 'primary' && e.width === 800 && e.height === 600, 10000, from);
          await untilEqual(client, display.current!);
        } finally {
          await client.stop();
        }
      });
    });
  }

  it('jpeg: before the lossless refresh the picture is within JPEG tolerance (mean |error| <= 4, 99% of channels within 24)', async function () {
    pendingUnlessGi(this);
    const surface = blockSurface(640, 400);
    await withServer({ surface, codec: 'jpeg', losslessRefreshMs: 600_000 }, async ({ port }) => {
      const client = SpiceGiClient.start('127.0.0.1', port);
      try {
        await client.waitFor((e) => e.event === 'mark');
        const got = await client.dump();
        let sum = 0;
        let far = 0;
        const n = surface.width * surface.height * 3;
        for (let y = 0; y < surface.height; y++) {
          for (let x = 0; x < surface.width; x++) {
            for (let c = 0; c < 3; c++) {
              const d = Math.abs(got.data[y * got.stride + x * 4 + c]! - surface.data[y * surface.stride + x * 4 + c]!);
              sum += d;
              if (d > 24) far++;
            }
          }
        }
        assert.ok(sum / n <= 4, `mean error ${(sum / n).toFixed(2)}`);
        assert.ok(far / n <= 0.01, `${far} of ${n} channels off by more than 24`);
        assert.ok(firstDiff(surface, got) >= 0, 'the JPEG picture is lossy (the refresh is what makes it exact)');
      } finally {
        await client.stop();
      }
    });
  });

  it('--spice-jpeg: photo-like updates go as JPEG, then losslessly once still: the picture ends exact', async function () {
    pendingUnlessGi(this);
    const surface = patternSurface(640, 400);
    await withServer({ surface, jpegPhotos: true }, async ({ server, display, port }) => {
      const client = SpiceGiClient.start('127.0.0.1', port);
      try {
        await untilEqual(client, surface);
        const rnd = prng(0x9407);
        for (let y = 100; y < 300; y++)
          for (let x = 100; x < 400; x++)
            for (let c = 0; c < 3; c++) surface.data[y * surface.stride + x * 4 + c] = Math.floor(rnd() * 256);
        display.emit('damage', [{ x: 100, y: 100, width: 300, height: 200 }]);
        await untilEqual(client, surface);
        const [d] = server.sessions.displays();
        assert.ok(d!.drawStats.lossyDraws >= 1, 'the noise went as JPEG first');
        assert.equal(d!.drawStats.codec, 'lz_rgb');
      } finally {
        await client.stop();
      }
    });
  });

  it('the image cache: a rect that flips between two pictures is drawn from the client cache, pixel-exact', async function () {
    pendingUnlessGi(this);
    const surface = patternSurface(320, 240);
    await withServer({ surface }, async ({ server, display, port }) => {
      const client = SpiceGiClient.start('127.0.0.1', port);
      try {
        await untilEqual(client, surface);
        const r = { x: 50, y: 60, width: 100, height: 80 };
        const paint = (v: number) => {
          for (let y = r.y; y < r.y + r.height; y++) {
            for (let x = r.x; x < r.x + r.width; x++)
              surface.data.fill((x * v + y) & 255, y * surface.stride + x * 4, y * surface.stride + x * 4 + 3);
          }
        };
        for (let i = 0; i < 6; i++) {
          paint(i % 2 === 0 ? 3 : 5);
          display.emit('damage', [r]);
          await untilEqual(client, surface);
        }
        const hits = server.sessions.displays().reduce((n, d) => n + (d.cache?.hits ?? 0), 0);
        assert.ok(hits >= 4, `${hits} draws came from the client's cache`);
      } finally {
        await client.stop();
      }
    });
  });

  it('--spice-shared: a client that never reads stays bounded and does not stall a spice-gtk client beside it', async function () {
    pendingUnlessGi(this);
    const surface = patternSurface(1920, 1080);
    const display = new TestDisplay(surface, 'shared test');
    const server = new SpiceServer({ display, input: new RecordingInput(), ticketing: { password: null }, shared: true, codec: 'bitmap' });
    const { port } = await server.listen('127.0.0.1', 0);
    const stalled: net.Socket[] = [];
    try {
      // The hostile client: links main and display, then never reads another byte.
      const session = await rawLink(port, SpiceChannel.MAIN, 0, stalled);
      await rawLink(port, SpiceChannel.DISPLAY, session, stalled);
      const client = SpiceGiClient.start('127.0.0.1', port);
      try {
        const rnd = prng(77);
        for (let i = 0; i < 30; i++) {
          display.emit('damage', [scribble(surface, rnd), { x: 0, y: 0, width: 1920, height: 1080 }]);
          await new Promise((r) => setTimeout(r, 20));
        }
        await untilEqual(client, surface, 20000);
        const queued = server.clientInfo().map((c) => c.queuedBytes);
        const worst = Math.max(...queued);
        console.log(`      the client that never reads holds ${(worst / 1048576).toFixed(1)} MiB queued at the server`);
        assert.ok(worst < 64 * 1024 * 1024, `bounded (${worst} bytes)`);
      } finally {
        await client.stop();
      }
    } finally {
      for (const s of stalled) s.destroy();
      await server.close();
    }
  });

  it('a 1920x1080 picture and updates arrive pixel-exact', async function () {
    pendingUnlessGi(this);
    await withServer({ surface: patternSurface(1920, 1080) }, async ({ display, port }) => {
      const client = SpiceGiClient.start('127.0.0.1', port);
      try {
        await untilEqual(client, display.current!, 20000);
        const rnd = prng(1080);
        for (let i = 0; i < 10; i++) display.emit('damage', [scribble(display.current!, rnd)]);
        display.emit('damage', [{ x: 0, y: 0, width: 1920, height: 1080 }]);
        await untilEqual(client, display.current!, 20000);
      } finally {
        await client.stop();
      }
    });
  });

  it("the client's keys, pointer and buttons reach the guest as Linux codes", async function () {
    pendingUnlessGi(this);
    await withServer({ surface: patternSurface(320, 200) }, async ({ input, port }) => {
      const client = SpiceGiClient.start('127.0.0.1', port);
      try {
        await client.waitFor((e) => e.event === 'inputs');
        await client.waitFor((e) => e.event === 'mark');
        client.send({ cmd: 'key', scancode: 0x1e, down: true });
        client.send({ cmd: 'key', scancode: 0x1e, down: false });
        client.send({ cmd: 'key', scancode: 0x14d, down: true }); // spice-gtk: 0x100 | code = E0 prefix (Right)
        client.send({ cmd: 'key', scancode: 0x14d, down: false });
        client.send({ cmd: 'position', x: 123, y: 45, buttons: 0 });
        client.send({ cmd: 'button', button: 1, down: true, buttons: 1 });
        client.send({ cmd: 'button', button: 1, down: false, buttons: 0 });
        client.send({ cmd: 'button', button: 3, down: true, buttons: 4 });
        client.send({ cmd: 'button', button: 3, down: false, buttons: 0 });
        const want = [
          { kind: 'key', args: [KEY_A, true] },
          { kind: 'key', args: [KEY_A, false] },
          { kind: 'key', args: [KEY_RIGHT, true] },
          { kind: 'key', args: [KEY_RIGHT, false] },
          { kind: 'pointerAbs', args: [123, 45, 320, 200] },
          { kind: 'button', args: [BTN_LEFT, true] },
          { kind: 'button', args: [BTN_LEFT, false] },
          { kind: 'button', args: [BTN_RIGHT, true] },
          { kind: 'button', args: [BTN_RIGHT, false] },
        ];
        const deadline = Date.now() + 10000;
        while (input.calls.length < want.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(JSON.stringify(input.calls), JSON.stringify(want));
      } finally {
        await client.stop();
      }
    });
  });

  it('the right ticket is accepted and a wrong one refused', async function () {
    pendingUnlessGi(this);
    await withServer({ surface: patternSurface(64, 48), password: 'sesame' }, async ({ display, port }) => {
      const bad = SpiceGiClient.start('127.0.0.1', port, 'wrong');
      try {
        const e = await bad.waitFor((ev) => ev.event === 'channel-event');
        assert.match(String(e.name), /AUTH|ERROR/i, `refused with an auth error: ${JSON.stringify(e)}`);
        assert.ok(!bad.events.some((ev) => ev.event === 'primary'), 'no picture without the ticket');
      } finally {
        await bad.stop();
      }
      const good = SpiceGiClient.start('127.0.0.1', port, 'sesame');
      try {
        await untilEqual(good, display.current!);
      } finally {
        await good.stop();
      }
    });
  });
});
