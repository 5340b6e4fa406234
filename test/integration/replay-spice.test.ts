// `xenvfb replay FILE --spice HOST:PORT` with spice-gtk's SpiceClientGLib (PyGObject,
// test/helpers/spice-gi.ts), a SPICE client nobody here wrote: the client's decoded surface
// equals the frame the capture decoder reconstructs (CaptureFile.frameAt), at the start and
// after seeks through the replay's control socket; with xclock2.fbs (when the fixture is
// there) the last frame equals what the RFB decoder reconstructs from the FBS stream.

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureFile } from '../../backend/capture/capture-file';
import { frameToRgba } from '../../backend/capture/png-frames';
import { FrameState } from '../../shared/capture/frame-state';
import { parseFbs } from '../../shared/capture/fbs';
import { RfbServerStreamReader } from '../../shared/rfb/server-stream';
import { freePort, freeVncPort, XENVFB } from '../helpers/demo-process';
import { ReplayProcess } from '../helpers/replay-process';
import { SpiceGiClient, spiceGiMissing } from '../helpers/spice-gi';
import { writeSyntheticCapture } from '../helpers/synthetic-capture';

const CWD = path.resolve(__dirname, '../..');
/** Beside the repository (../shared/fixtures/fbs), as test/integration/capture-replay.test.ts looks. */
const FBS = path.resolve(__dirname, '../../../shared/fixtures/fbs/xclock2.fbs');

/** Index of the first pixel whose R,G,B differ between a frame and the GI client's B,G,R,X dump, or -1. */
function firstDiff(state: FrameState, got: { width: number; height: number; stride: number; data: Buffer }): number {
  const { width, height, rgba } = frameToRgba(state);
  if (got.width !== width || got.height !== height) return -2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const a = (y * width + x) * 4;
      const b = y * got.stride + x * 4;
      if (rgba[a] !== got.data[b + 2] || rgba[a + 1] !== got.data[b + 1] || rgba[a + 2] !== got.data[b]) return y * width + x;
    }
  }
  return -1;
}

async function untilEqual(client: SpiceGiClient, state: FrameState, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await client.dump().catch(() => null);
    const diff = got ? firstDiff(state, got) : -2;
    if (diff === -1) return;
    if (Date.now() > deadline) assert.fail(`${what}: the GI client's surface never equalled the frame (first difference ${diff})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('replay over SPICE (SpiceClientGLib)', function () {
  this.timeout(120_000);
  let tmp: string;
  let replay: ReplayProcess | undefined;
  let client: SpiceGiClient | undefined;
  before(function () {
    const why = spiceGiMissing();
    if (why) {
      console.log(`    pending: ${why}; run npm run setup:test-deps as root`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-replay-spice-'));
  });
  afterEach(async () => {
    await client?.stop();
    await replay?.stop();
    client = undefined;
    replay = undefined;
  });
  after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

  /** Replay `file` paused at `start` ms on VNC and SPICE (a free port each: 5930 is shared), with a control socket. */
  async function start(file: string, startMs: number): Promise<{ socket: string }> {
    const socket = path.join(tmp, `c-${Date.now()}.sock`);
    const spicePort = await freePort();
    replay = ReplayProcess.start([
      file,
      '--vnc',
      `127.0.0.1:${await freeVncPort()}`,
      '--spice',
      `127.0.0.1:${spicePort}`,
      '--spice-disable-ticketing',
      '--paused',
      '--start',
      `${startMs}ms`,
      '--control',
      socket,
    ]);
    await replay.waitFor(/^\s+SPICE\s+127\.0\.0\.1:\d+/);
    await replay.waitFor(/^\s+Control\s/);
    client = SpiceGiClient.start('127.0.0.1', spicePort);
    return { socket };
  }

  it('the replayed frames over SPICE equal the decoder, at the start and after each seek', async () => {
    const file = path.join(tmp, 'synth.xvc');
    writeSyntheticCapture(file, { width: 320, height: 192, frames: 12, seed: 11 });
    const f = CaptureFile.open(file);
    try {
      const { socket } = await start(file, 1300);
      await untilEqual(client!, f.frameAt(1300).state, 'start frame (1.3 s)');
      for (const t of [4200, 700, f.durationMs]) {
        const r = spawnSync(process.execPath, [XENVFB, 'replay-control', '--socket', socket, 'seek', `${t}ms`], {
          cwd: CWD,
          encoding: 'utf8',
        });
        assert.equal(r.status, 0, r.stderr);
        await untilEqual(client!, f.frameAt(t).state, `after seek ${t} ms`);
      }
    } finally {
      f.close();
    }
  });

  it("xclock2.fbs imported and replayed: its last frame over SPICE equals the RFB decoder's", async function () {
    if (!fs.existsSync(FBS)) {
      console.log(`      pending: ${FBS} is missing (see ../shared/fixtures/fbs/README.md)`);
      this.skip();
    }
    const out = path.join(tmp, 'xclock.xvc');
    const imp = spawnSync(process.execPath, [XENVFB, 'capture', 'import', FBS, '-o', out], { cwd: CWD, encoding: 'utf8' });
    assert.equal(imp.status, 0, imp.stderr);
    const parsed = parseFbs(fs.readFileSync(FBS));
    const reader = new RfbServerStreamReader(Buffer.concat(parsed.blocks.map((b) => b.data)));
    while (!reader.done) reader.next();
    const state = new FrameState();
    state.apply({
      type: 'keyframe',
      timeMs: 0,
      geometry: { width: reader.fb.width, height: reader.fb.height, format: reader.init.format },
      pixels: reader.fb.pixels,
    });
    const f = CaptureFile.open(out);
    const end = f.durationMs;
    f.close();
    await start(out, end);
    await untilEqual(client!, state, 'last frame of xclock2');
  });
});
