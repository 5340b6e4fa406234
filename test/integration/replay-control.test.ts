// `xenvfb replay FILE --control` driven by `xenvfb replay-control` while a VNC client watches:
// each seek puts the recorded frame of that time on the connected client's screen (pixel for
// pixel, checked against the capture decoder's frameAt), and a fresh gvnccapture grab shows
// it too; pause, play, speed and status report the player's state; bad actions and a missing
// replay get errors that say what to do.

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { CaptureFile } from '../../backend/capture/capture-file';
import { frameToRgba } from '../../backend/capture/png-frames';
import { freeVncPort, hasCommand, XENVFB } from '../helpers/demo-process';
import { ReplayProcess } from '../helpers/replay-process';
import { TinyRfbClient } from '../helpers/rfb-client';
import { runSnap } from '../helpers/libvncclient';
import { writeSyntheticCapture } from '../helpers/synthetic-capture';

const CWD = path.resolve(__dirname, '../..');

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [XENVFB, ...args], { cwd: CWD, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The capture's picture at t as 0xRRGGBB per pixel. */
function frameAt(f: CaptureFile, t: number): Uint32Array {
  const { width, height, rgba } = frameToRgba(f.frameAt(t).state);
  const out = new Uint32Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = (rgba[i * 4]! << 16) | (rgba[i * 4 + 1]! << 8) | rgba[i * 4 + 2]!;
  return out;
}

function same(a: Uint32Array, b: Uint32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Status {
  positionMs: number;
  durationMs: number;
  speed: number;
  paused: boolean;
  ended: boolean;
  clients: number;
}

describe('replay --control: seek, pause, play, speed while a VNC client watches', function () {
  this.timeout(120_000);
  let tmp: string;
  let file: string;
  let replay: ReplayProcess | undefined;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-replay-control-'));
    file = path.join(tmp, 'synth.xvc');
    writeSyntheticCapture(file, { frames: 10 });
  });
  afterEach(async () => {
    await replay?.stop();
    replay = undefined;
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('seek changes the connected client to the frame at that time; status, pause, play, speed', async () => {
    const port = await freeVncPort();
    const socket = path.join(tmp, 'r.sock');
    replay = ReplayProcess.start([file, '--vnc', `127.0.0.1:${port}`, '--paused', '--start', '1.2', '--control', socket]);
    await replay.waitFor(/^\s+Control\s+xenvfb replay-control --socket (\S+)/);
    const f = CaptureFile.open(file);
    const client = await TinyRfbClient.connect('127.0.0.1', port);
    try {
      client.startUpdates();
      await until('the start frame (1.2 s)', () => same(client.fb, frameAt(f, 1200)));
      const ctl = (...a: string[]): Status => {
        const r = cli(['replay-control', '--socket', socket, ...a, '--json']);
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout) as Status;
      };
      let s = ctl('status');
      assert.deepEqual([s.positionMs, s.durationMs, s.paused, s.clients], [1200, f.durationMs, true, 1]);
      for (const [arg, t] of [
        ['3.7', 3700],
        ['600ms', 600],
        ['4.5', 4500],
      ] as const) {
        assert.ok(!same(frameAt(f, t), client.fb), `the frame at ${t} ms differs from the one shown`);
        s = ctl('seek', arg);
        assert.deepEqual([s.positionMs, s.paused], [t, true]);
        await until(`the connected client shows the frame at ${t} ms`, () => same(client.fb, frameAt(f, t)));
      }
      // Play at 4x from 0.6 s: the end (4.5 s) comes within about a second.
      ctl('seek', '0.6');
      await until('the frame at 600 ms again', () => same(client.fb, frameAt(f, 600)));
      s = ctl('speed', '4');
      assert.deepEqual([s.speed, s.paused], [4, true]);
      s = ctl('play');
      assert.equal(s.paused, false);
      await until('the last frame after playing at 4x', () => same(client.fb, frameAt(f, f.durationMs)), 10_000);
      s = ctl('status');
      assert.ok(s.ended && s.positionMs === f.durationMs, JSON.stringify(s));
      s = ctl('seek', '2');
      assert.ok(!s.ended && !s.paused, 'a seek after the end plays on from there');
      s = ctl('pause');
      assert.equal(s.paused, true);
      const held = s.positionMs;
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(ctl('status').positionMs, held, 'paused: the position holds');
      s = ctl('seek', '3.7');
      await until('the frame at 3.7 s', () => same(client.fb, frameAt(f, 3700)));
      // A client nobody here wrote sees the same frame after a seek (last: gvnccapture asks for
      // exclusive access, which disconnects the test client).
      if (hasCommand('gvnccapture')) {
        const out = path.join(tmp, 'g.png');
        const r = await runSnap(['gvnccapture', `127.0.0.1:${port - 5900}`, out], 30_000);
        assert.equal(r.code, 0, r.stderr);
        const png = PNG.sync.read(fs.readFileSync(out));
        const want = frameAt(f, 3700);
        for (let i = 0; i < want.length; i++) {
          const got = (png.data[i * 4]! << 16) | (png.data[i * 4 + 1]! << 8) | png.data[i * 4 + 2]!;
          if (got !== want[i]) assert.fail(`gvnccapture pixel ${i} is ${got.toString(16)}, want ${want[i]!.toString(16)}`);
        }
      } else console.log('      (gvnccapture not installed: the seek checked with the test client only)');
    } finally {
      client.close();
      f.close();
    }
  });

  it('default socket from the VNC port; bad actions and a missing replay say what to do', async () => {
    const port = await freeVncPort();
    replay = ReplayProcess.start([file, '--vnc', `127.0.0.1:${port}`, '--paused', '--control']);
    await replay.waitFor(/^\s+Control\s/);
    const ok = cli(['replay-control', '--port', String(port), 'status']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /synth\.xvc: 0\.000 \/ 4\.500 s, paused, speed 1, 0 clients/);
    const bad = [
      [['seek', 'soon'], /seek takes a time like 12\.5/],
      [['speed', '5000'], /speed takes a number from 0\.001 to 1000/],
      [['jump'], /unknown action "jump"/],
      [['seek'], /seek needs a value/],
    ] as const;
    for (const [a, re] of bad) {
      const r = cli(['replay-control', '--port', String(port), ...a]);
      assert.equal(r.code, 1, a.join(' '));
      assert.match(r.stderr, re);
    }
    const none = cli(['replay-control', '--socket', path.join(tmp, 'none.sock'), 'status']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /none\.sock.*is `xenvfb replay FILE --control` running/);
    const where = cli(['replay-control', 'status']);
    assert.equal(where.code, 1);
    assert.match(where.stderr, /--socket PATH .* or --port VNCPORT/);
  });
});
