// Capture and replay end to end, with real VNC clients nobody here wrote (gvnccapture, and a
// libvncclient program) and a real SPICE client (spice-gtk's SpiceClientGLib): the demo's
// pattern workload recorded with --capture for 20 s, its backend killed with SIGKILL
// mid-capture (the file must read back to its last complete record), a live snapshot taken
// during the recording found among the recorded frames, the recorded frames at the checked
// times equal to frames the guest's pattern workload draws (redrawn in-process: the pattern
// is a function of its frame number, test/helpers/pattern-frames.ts) at the guest's pace, and
// `xenvfb replay` serving those frames exactly over VNC and SPICE; both FBS fixtures imported
// and their last frame, grabbed from our replay, equal to what the shared RFB decoder
// reconstructs.

import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { PNG } from 'pngjs';
import { CaptureFile } from '../../backend/capture/capture-file';
import { frameToRgba } from '../../backend/capture/png-frames';
import type { CaptureRecord } from '../../shared/capture/format';
import { FrameState } from '../../shared/capture/frame-state';
import { parseFbs } from '../../shared/capture/fbs';
import { RfbServerStreamReader } from '../../shared/rfb/server-stream';
import { DemoProcess, freePort, freeVncPort, hasCommand, XENVFB } from '../helpers/demo-process';
import { buildVncSnap, readPpm, runSnap } from '../helpers/libvncclient';
import { PatternFrames } from '../helpers/pattern-frames';
import { ReplayProcess } from '../helpers/replay-process';
import { SpiceGiClient, spiceGiMissing } from '../helpers/spice-gi';

const FIXTURES = path.resolve(__dirname, '../../../shared/fixtures/fbs');
const CWD = path.resolve(__dirname, '../..');
/** How long the demo records before its backend is killed (the acceptance's 20 s). */
const CAPTURE_MS = 20_000;

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [XENVFB, ...args], { cwd: CWD, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `xenvfb replay FILE --paused --start T` on a free port; resolves once it listens. */
async function replay(file: string, startMs: number): Promise<{ child: ChildProcess; port: number }> {
  const port = await freeVncPort();
  const child = spawn(process.execPath, [XENVFB, 'replay', file, '--vnc', `127.0.0.1:${port}`, '--start', `${startMs}ms`, '--paused'], {
    cwd: CWD,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('replay did not start')), 30_000);
    readline.createInterface({ input: child.stdout! }).on('line', (l) => /^\s+VNC\s/.test(l) && (clearTimeout(timer), resolve()));
    child.once('exit', (code) => reject(new Error(`replay exited ${code}`)));
  });
  return { child, port };
}

/** RGB of a client's image, each channel cut to the bits the source format has. */
function quantized(rgb: (i: number) => [number, number, number], n: number, bits: [number, number, number]): Buffer {
  const out = Buffer.alloc(n * 3);
  for (let i = 0; i < n; i++) {
    const c = rgb(i);
    for (let k = 0; k < 3; k++) out[i * 3 + k] = c[k]! >> (8 - bits[k]!);
  }
  return out;
}

function bitsOf(state: FrameState): [number, number, number] {
  const f = state.geometry!.format;
  const b = (max: number): number => Math.log2(max + 1);
  return [b(f.redMax), b(f.greenMax), b(f.blueMax)];
}

function expectedOf(state: FrameState): Buffer {
  const { width, height, rgba } = frameToRgba(state);
  return quantized((i) => [rgba[i * 4]!, rgba[i * 4 + 1]!, rgba[i * 4 + 2]!], width * height, bitsOf(state));
}

function differences(a: Buffer, b: Buffer, width: number): string {
  let n = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && n++ === 0) first = i;
  const px = Math.floor(first / 3);
  return `${n} channel values, first at (${px % width}, ${Math.floor(px / width)}): got ${[...a.subarray(px * 3, px * 3 + 3)]}, want ${[...b.subarray(px * 3, px * 3 + 3)]}`;
}

/** Grab the replay with gvnccapture and the libvncclient program; both must equal `state`. */
async function grabBoth(
  ctx: Mocha.Context,
  port: number,
  state: FrameState,
  tmp: string,
  snap: { bin: string } | { missing: string },
): Promise<number> {
  const want = expectedOf(state);
  const g = state.geometry!;
  let checked = 0;
  if (g.format.bitsPerPixel !== 32) {
    // Seen here: gvnccapture 1.3.1 keeps a 16 bpp server's native format and writes a wrong
    // PNG (a solid 565 0x69C9 comes out as 64,203,64 alpha 203) while libvncclient, which asks
    // for 32 bpp, gets every pixel right. Not used for 16 bpp sources until that is understood.
    console.log('      (gvnccapture skipped: it mis-renders 16 bpp native servers; libvncclient checks this one)');
  } else if (hasCommand('gvnccapture')) {
    const out = path.join(tmp, `g-${port}.png`);
    const r = await runSnap(['gvnccapture', `127.0.0.1:${port - 5900}`, out], 30_000);
    assert.equal(r.code, 0, r.stderr);
    const png = PNG.sync.read(fs.readFileSync(out));
    assert.deepEqual([png.width, png.height], [g.width, g.height]);
    assert.ok(
      quantized((i) => [png.data[i * 4]!, png.data[i * 4 + 1]!, png.data[i * 4 + 2]!], g.width * g.height, bitsOf(state)).equals(want),
      'gvnccapture picture differs',
    );
    checked++;
  } else console.log('      (gvnccapture not installed: apt-get install gvncviewer)');
  if ('bin' in snap) {
    const out = path.join(tmp, `v-${port}.ppm`);
    // The first whole picture (the rects received cover the screen), however many updates it
    // takes on a loaded machine: a quiet time is no proof, the server answers pseudo-encodings
    // with updates that carry no pixels before its first frame.
    const r = await runSnap([snap.bin, '127.0.0.1', String(port), 'zrle', '-1', '-1', '1', '1500', out], 30_000, {
      VNCSNAP_STOP_WHEN_COVERED: '1',
    });
    assert.equal(r.code, 0, r.stderr);
    const ppm = readPpm(fs.readFileSync(out));
    assert.deepEqual([ppm.width, ppm.height], [g.width, g.height]);
    const got = quantized((i) => [ppm.rgb[i * 3]!, ppm.rgb[i * 3 + 1]!, ppm.rgb[i * 3 + 2]!], g.width * g.height, bitsOf(state));
    assert.ok(got.equals(want), `libvncclient picture differs: ${differences(got, want, g.width)}`);
    checked++;
  } else console.log(`      (libvncclient program: ${snap.missing})`);
  if (checked === 0) {
    console.log('      pending: no VNC client program to grab the replay with');
    ctx.skip();
  }
  return checked;
}

/** Index of the first pixel whose R,G,B differ between a frame and a GI client dump (B,G,R,X), -1 if none, -2 on size. */
function spiceDiff(state: FrameState, got: { width: number; height: number; stride: number; data: Buffer }): number {
  const { width, height, rgba } = frameToRgba(state);
  if (got.width !== width || got.height !== height) return -2;
  for (let i = 0; i < width * height; i++) {
    const b = Math.floor(i / width) * got.stride + (i % width) * 4;
    if (rgba[i * 4] !== got.data[b + 2] || rgba[i * 4 + 1] !== got.data[b + 1] || rgba[i * 4 + 2] !== got.data[b]) return i;
  }
  return -1;
}

/** The recorded frames at `times` over SPICE (SpiceClientGLib), one replay seeked through its control socket. */
async function replayOverSpice(file: string, times: number[], f: CaptureFile, children: ChildProcess[]): Promise<void> {
  const why = spiceGiMissing();
  if (why) {
    console.log(`      (SPICE not checked: ${why})`);
    return;
  }
  const spicePort = await freePort();
  const socket = path.join(path.dirname(file), 'replay.sock');
  const r = ReplayProcess.start([
    file,
    ...['--vnc', `127.0.0.1:${await freeVncPort()}`, '--spice', `127.0.0.1:${spicePort}`, '--spice-disable-ticketing'],
    ...['--paused', '--start', `${times[0]}ms`, '--control', socket],
  ]);
  children.push(r.child);
  await r.waitFor(/^\s+Control\s/);
  const client = SpiceGiClient.start('127.0.0.1', spicePort);
  try {
    for (const t of times) {
      if (t !== times[0]) {
        const c = cli(['replay-control', '--socket', socket, 'seek', `${t}ms`]);
        assert.equal(c.code, 0, c.stderr);
      }
      const want = f.frameAt(t).state;
      const deadline = Date.now() + 15_000;
      for (;;) {
        const got = await client.dump().catch(() => null);
        const diff = got ? spiceDiff(want, got) : -2;
        if (diff === -1) break;
        if (Date.now() > deadline)
          assert.fail(`SPICE: the replayed frame at ${t} ms never equalled the recording (first difference ${diff})`);
        await new Promise((res) => setTimeout(res, 100));
      }
    }
  } finally {
    await client.stop();
    await r.stop();
  }
}

describe('capture and replay with real VNC clients', function () {
  this.timeout(300_000);
  let tmp: string;
  let snap: { bin: string } | { missing: string };
  const children: ChildProcess[] = [];
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-capture-it-'));
    snap = buildVncSnap(tmp);
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('demo pattern: kill -9 mid-capture leaves a readable file; live and replayed frames match the recording', async function () {
    const file = path.join(tmp, 'demo.xvc');
    const port = await freeVncPort();
    const demo = DemoProcess.start(['--vnc', `127.0.0.1:${port}`, '--no-web', '--workload', 'pattern', '--capture', file]);
    let live: PNG | null = null;
    try {
      await demo.waitFor(/is connected/, 60_000);
      const pid = Number((await demo.waitFor(/^backend pid (\d+)/))[1]);
      await new Promise((r) => setTimeout(r, CAPTURE_MS / 2));
      if (hasCommand('gvnccapture')) {
        const out = path.join(tmp, 'live.png');
        const r = await runSnap(['gvnccapture', `127.0.0.1:${port - 5900}`, out], 30_000);
        assert.equal(r.code, 0, r.stderr);
        live = PNG.sync.read(fs.readFileSync(out));
      }
      await new Promise((r) => setTimeout(r, CAPTURE_MS / 2));
      process.kill(pid, 'SIGKILL');
      await demo.waitFor(/backend exited/, 10_000);
    } finally {
      await demo.stop();
    }

    const info = cli(['capture', 'info', '--json', file]);
    assert.equal(info.code, 0, info.stderr);
    const i = JSON.parse(info.stdout) as { index: string; records: number; durationMs: number; keyframes: number };
    assert.equal(i.index, 'missing', 'no index after kill -9: the reader rebuilt it by a scan');
    assert.ok(i.records > 20 && i.durationMs > CAPTURE_MS * 0.8 && i.keyframes > 0, info.stdout);

    const f = CaptureFile.open(file);
    try {
      // The demo's guest marks dirty tiles: the recorder keeps the backend's scans too.
      let scans = 0;
      for (const { record } of f.records()) if (record.type === 'tiles' && record.scan.source === 0) scans++;
      assert.ok(scans > 10, `${scans} TILE_SCAN records`);
      // The live snapshot is one of the recorded pictures (pattern moves: it pins the time).
      if (live) {
        const key = (b: Buffer): string => b.toString('base64');
        const seen = new Set<string>();
        const s = new FrameState();
        for (const { record } of f.records()) {
          if (record.type === 'unknown') continue;
          s.apply(record as CaptureRecord);
          if (s.geometry) seen.add(key(expectedOf(s)));
        }
        const shot = quantized(
          (k) => [live!.data[k * 4]!, live!.data[k * 4 + 1]!, live!.data[k * 4 + 2]!],
          live.width * live.height,
          [8, 8, 8],
        );
        assert.ok(seen.has(key(shot)), 'the live snapshot is not among the recorded frames');
      }
      const times = [Math.floor(f.durationMs / 2), f.durationMs];
      // What the guest drew: each checked recorded frame is pattern frame N, N at the guest's
      // pace (25 fps; loose bounds for a loaded machine).
      const pattern = new PatternFrames(f.frameAt(0).state.geometry!.width, f.frameAt(0).state.geometry!.height);
      const numbers = times.map((t) => pattern.frameOf(expectedOf(f.frameAt(t).state)));
      assert.ok(
        numbers.every((n) => n !== null),
        `recorded frames at ${times} are pattern frames: ${numbers}`,
      );
      const fps = (numbers[1]! - numbers[0]!) / ((times[1]! - times[0]!) / 1000);
      assert.ok(fps > 8 && fps < 27, `the guest drew ${fps.toFixed(1)} frames a second between the checked times`);
      for (const t of times) {
        const r = await replay(file, t);
        children.push(r.child);
        await grabBoth(this, r.port, f.frameAt(t).state, tmp, snap);
        r.child.kill('SIGTERM');
      }
      await replayOverSpice(file, times, f, children);
    } finally {
      f.close();
    }
  });

  for (const name of ['windows.fbs', 'xclock2.fbs']) {
    it(`${name}: imports, replays, and its last frame over VNC equals the decoder's`, async function () {
      const fbs = path.join(FIXTURES, name);
      if (!fs.existsSync(fbs)) {
        console.log(`      pending: ${fbs} is missing (see ../shared/fixtures/fbs/README.md)`);
        this.skip();
      }
      const out = path.join(tmp, `${name}.xvc`);
      const imp = cli(['capture', 'import', fbs, '-o', out]);
      assert.equal(imp.code, 0, imp.stderr);
      // The decoder's own reconstruction of the last frame, straight from the RFB stream.
      const parsed = parseFbs(fs.readFileSync(fbs));
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
      const r = await replay(out, end);
      children.push(r.child);
      await grabBoth(this, r.port, state, tmp, snap);
      r.child.kill('SIGTERM');
    });
  }
});
