// MJPEG video streams against spice-gtk (SpiceClientGLib over PyGObject): the pattern workload's
// rainbow band changes every frame, so it must become a stream whose frames the client decodes
// and draws (display-invalidate with the stream's rect), spice-gtk must send STREAM_REPORTs, and
// once the animation stops the stream goes and the client's picture equals the guest's exactly.

import { strict as assert } from 'node:assert';
import { SpiceServer } from '../../backend/spice/server';
import type { DisplayChannel } from '../../backend/spice/display-channel';
import { PatternWorkload } from '../../frontend/workloads/pattern';
import type { Rect } from '../../shared/region';
import { patternSurface, RecordingInput, TestDisplay } from '../unit/vnc/helpers';
import type { Surface } from '../../backend/display/display';
import { SpiceGiClient, spiceGiMissing } from '../helpers/spice-gi';

function pendingUnlessGi(ctx: Mocha.Context): void {
  const why = spiceGiMissing();
  if (why) {
    console.log(`    pending: ${why}; run npm run setup:test-deps as root`);
    ctx.skip();
  }
}

/** The pattern workload drawing into the test display's surface, its damage emitted as the guest's would be. */
function animate(display: TestDisplay, surface: Surface): PatternWorkload {
  const w = new PatternWorkload(surface.width, surface.height, 25);
  w.start({
    width: surface.width,
    height: surface.height,
    stride: surface.stride,
    data: surface.data,
    damage: (r: Rect) => display.emit('damage', [r]),
  });
  return w;
}

function sameRgb(want: Surface, got: { width: number; height: number; stride: number; data: Buffer }): boolean {
  if (got.width !== want.width || got.height !== want.height) return false;
  for (let y = 0; y < want.height; y++) {
    for (let x = 0; x < want.width; x++) {
      const a = y * want.stride + x * 4;
      const b = y * got.stride + x * 4;
      if (want.data[a] !== got.data[b] || want.data[a + 1] !== got.data[b + 1] || want.data[a + 2] !== got.data[b + 2]) return false;
    }
  }
  return true;
}

async function until(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function withServer(
  opts: { streams?: boolean },
  body: (ctx: { server: SpiceServer; display: TestDisplay; surface: Surface; client: SpiceGiClient }) => Promise<void>,
): Promise<void> {
  const surface = patternSurface(640, 480);
  const display = new TestDisplay(surface, 'spice streams test');
  const server = new SpiceServer({
    display,
    input: new RecordingInput(),
    ticketing: { password: null },
    ...(opts.streams === false ? { streams: false } : {}),
  });
  const { port } = await server.listen('127.0.0.1', 0);
  const client = SpiceGiClient.start('127.0.0.1', port);
  try {
    await client.waitFor((e) => e.event === 'mark');
    await body({ server, display, surface, client });
  } finally {
    await client.stop();
    await server.close();
  }
}

function displayChannel(server: SpiceServer): DisplayChannel {
  const [d] = server.sessions.displays();
  assert.ok(d, 'a display channel is linked');
  return d;
}

describe('SPICE MJPEG streams with spice-gtk (SpiceClientGLib over PyGObject)', function () {
  this.timeout(60000);

  it('the pattern band becomes a stream spice-gtk draws and reports on; when it stops the picture is exact', async function () {
    pendingUnlessGi(this);
    await withServer({}, async ({ server, display, surface, client }) => {
      const workload = animate(display, surface);
      const d = displayChannel(server);
      try {
        await until('a stream', () => (d.streams?.stats.created ?? 0) > 0);
        const [stream] = d.streams!.describe();
        // The band: full width, rows 40%..60% of the height (frontend/workloads/pattern.ts).
        assert.deepEqual(stream!.rect, { x: 0, y: 192, width: 640, height: 96 });
        // From here on the band goes only as stream frames: each one spice-gtk decodes and draws is an invalidate of it.
        const from = client.events.length;
        const streamDraws = (): number =>
          client.events.slice(from).filter((e) => e.event === 'invalidate' && e.x === 0 && e.y === 192 && e.w === 640 && e.h === 96).length;
        await until('spice-gtk drawing 20 stream frames', () => streamDraws() >= 20);
        await until('a STREAM_REPORT from spice-gtk', () => d.streams!.stats.reports > 0);
        assert.ok(d.streams!.stats.frames >= streamDraws(), 'every band draw was a frame we sent');
      } finally {
        workload.stop();
      }
      const s = d.streams!.stats;
      await until('the stream to be destroyed once still', () => d.streams!.stats.destroyed === s.created);
      await until('the client picture to equal the guest', async () => sameRgb(surface, await client.dump()), 10000);
      console.log(
        `      ${s.created} stream(s), ${s.frames} frames, ${(s.frameBytes / s.frames / 1024).toFixed(1)} KiB/frame, ` +
          `${(s.encodeMs / s.frames).toFixed(2)} ms/frame, ${s.reports} reports, ${s.heldBack} held back; ` +
          `${d.drawStats.draws} draws besides`,
      );
    });
  });

  it('--no-spice-streams: the same animation goes as plain draws and ends exact', async function () {
    pendingUnlessGi(this);
    await withServer({ streams: false }, async ({ server, display, surface, client }) => {
      const workload = animate(display, surface);
      await new Promise((r) => setTimeout(r, 1200));
      workload.stop();
      const d = displayChannel(server);
      assert.equal(d.streams, null);
      await until('the client picture to equal the guest', async () => sameRgb(surface, await client.dump()), 10000);
    });
  });
});
