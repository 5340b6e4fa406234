// `xenvfb capture --domid N` against a running demo, as a user runs it: the backend records
// while the command waits (a VNC client typing meanwhile: its keys are recorded), Ctrl-C
// (SIGINT) stops it and prints the summary; `capture info` reads the file; `replay --to-png`
// gives pictures that are exactly frames the guest's pattern workload drew (redrawn
// in-process, test/helpers/pattern-frames.ts), in time order. The errors a user meets say
// what to do: no backend (the socket path tried), a capture already running, a directory
// that cannot be written; a backend killed mid-capture leaves a file that reads back.

import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { PNG } from 'pngjs';
import { DemoProcess, freePort, XENVFB } from '../helpers/demo-process';
import { PatternFrames, rgbOfRgba } from '../helpers/pattern-frames';
import { TinyRfbClient } from '../helpers/rfb-client';
import { CaptureFile } from '../../backend/capture/capture-file';

const CWD = path.resolve(__dirname, '../..');

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [XENVFB, ...args], { cwd: CWD, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('xenvfb capture --domid N (a live backend)', function () {
  this.timeout(180_000);
  let tmp: string;
  let demo: DemoProcess;
  let vncPort: number;
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-capture-live-'));
    vncPort = await freePort();
    demo = DemoProcess.start(['--vnc', `127.0.0.1:${vncPort}`, '--no-web', '--workload', 'pattern']);
    await demo.waitFor(/is connected/, 60_000);
  });
  after(async () => {
    await demo?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('records 4 s until SIGINT; info shows the frames; replay --to-png gives the guest pattern frames in order', async () => {
    const file = path.join(tmp, 'live.xvc');
    const child = spawn(process.execPath, [XENVFB, 'capture', '--domid', '1', '-o', file, '--sim-dir', demo.simDir], {
      cwd: CWD,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`capture did not start: ${stderr}`)), 30_000);
      readline.createInterface({ input: child.stdout! }).on('line', (l) => {
        lines.push(l);
        if (!/recording to/.test(l)) return;
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', () => reject(new Error(`capture exited early: ${stderr}`)));
    });
    // While it runs: status shows it, a second capture is refused.
    const busy = cli(['capture', '--domid', '1', '-o', path.join(tmp, 'other.xvc'), '--sim-dir', demo.simDir]);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /CAP_E_BUSY: a capture is already running to .*live\.xvc/);
    const st = cli(['status', '--domid', '1', '--json', '--sim-dir', demo.simDir]);
    assert.equal(st.code, 0, st.stderr);
    const cap = (JSON.parse(st.stdout) as Array<{ capture: { path: string; recording: boolean } }>)[0]!.capture;
    assert.deepEqual([cap.path, cap.recording], [file, true]);
    // A VNC client types while the capture runs: its input is recorded too.
    const typist = await TinyRfbClient.connect('127.0.0.1', vncPort);
    typist.key(0x61, true);
    typist.key(0x61, false);
    await new Promise((r) => setTimeout(r, 4000));
    typist.close();
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    const summary = lines.find((l) => l.startsWith(`${file}:`)) ?? '';
    const m = /: (\d+) frames, \d+ records, [\d.]+ MB, ([\d.]+) s \(stopped\)$/.exec(summary);
    assert.ok(m, `summary line: ${lines.join(' | ')}`);
    const frames = Number(m[1]);
    assert.ok(frames >= 40 && Number(m[2]) >= 3.5, summary);

    const info = cli(['capture', 'info', '--json', file]);
    assert.equal(info.code, 0, info.stderr);
    const i = JSON.parse(info.stdout) as { index: string; frames: number; durationMs: number; geometry: { width: number; height: number } };
    assert.equal(i.index, 'ok');
    assert.equal(i.frames, frames, 'info counts the frames the summary printed');

    const f = CaptureFile.open(file);
    const keys: string[] = [];
    for (const { record } of f.records())
      if (record.type === 'input' && record.input.kind === 'key') keys.push(`${record.input.code}:${record.input.pressed}`);
    f.close();
    assert.deepEqual(keys, ['30:true', '30:false'], 'the client\'s "a" (KEY_A = 30) down and up are in the capture');

    const pngDir = path.join(tmp, 'png');
    const r = cli(['replay', file, '--to-png', pngDir, '--every', '500']);
    assert.equal(r.code, 0, r.stderr);
    const pngs = fs.readdirSync(pngDir).sort();
    assert.ok(pngs.length >= 8, `${pngs.length} PNG files`);
    const pattern = new PatternFrames(i.geometry.width, i.geometry.height);
    const numbers: number[] = [];
    for (const p of pngs) {
      const png = PNG.sync.read(fs.readFileSync(path.join(pngDir, p)));
      // A guest preempted mid-draw leaves a torn picture (frame n + 1 partly over frame n),
      // which the capture holds like any viewer until the next scan: named n + 0.5.
      const n = pattern.frameOrTearOf(rgbOfRgba(png.data, png.width * png.height));
      assert.ok(n !== null, `${p} is neither a frame the pattern workload draws nor two consecutive ones torn`);
      numbers.push(n);
    }
    for (let k = 1; k < numbers.length; k++) assert.ok(numbers[k]! > numbers[k - 1]!, `frames in time order: ${numbers.join(',')}`);
    // 500 ms apart at 25 fps is about 12 frames: the recording kept the guest's pace (a loaded
    // machine slows the guest's timer, never speeds it up).
    const perStep = (numbers[numbers.length - 1]! - numbers[0]!) / (numbers.length - 1);
    assert.ok(perStep > 4 && perStep < 14, `${perStep} frames per 500 ms`);
  });

  it('--duration stops by itself; an existing file is kept and FILE.1 written', () => {
    const file = path.join(tmp, 'live.xvc');
    const r = cli(['capture', '--domid', '1', '-o', file, '--duration', '1.5', '--sim-dir', demo.simDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /live\.xvc exists: recording to .*live\.xvc\.1/);
    assert.match(r.stdout, /live\.xvc\.1: \d+ frames, .* \(stopped: duration\)/);
    const info = JSON.parse(cli(['capture', 'info', '--json', `${file}.1`]).stdout) as { durationMs: number; index: string };
    assert.equal(info.index, 'ok');
    // The backend's timer fires at 1500 ms or later (a loaded machine makes it late, never
    // early; one CI run saw 1501): the capture ends then, so allow the lateness, not less.
    assert.ok(info.durationMs > 1000 && info.durationMs < 1500 + 500, String(info.durationMs));
  });

  it('errors say what to do: no backend (socket path), not writable, nothing to stop', () => {
    const none = cli(['capture', '--domid', '9', '-o', path.join(tmp, 'x.xvc'), '--sim-dir', demo.simDir]);
    assert.equal(none.code, 1);
    assert.ok(none.stderr.includes(path.join(demo.simDir, 'control', 'domain-9.sock')), none.stderr);
    assert.match(none.stderr, /CTL_E_CONNECT: .*Is `xenvfb backend --domid 9` running\?/);
    const dir = cli(['capture', '--domid', '1', '-o', path.join(tmp, 'missing', 'x.xvc'), '--sim-dir', demo.simDir]);
    assert.equal(dir.code, 1);
    assert.match(dir.stderr, /CAP_E_WRITE: .*does not exist/);
    // A directory the backend cannot create files in (root passes permission checks: use /proc).
    const ro = cli(['capture', '--domid', '1', '-o', '/proc/xenvfb-test.xvc', '--sim-dir', demo.simDir]);
    assert.equal(ro.code, 1);
    assert.match(ro.stderr, /CAP_E_WRITE: cannot write the capture file \/proc\/xenvfb-test\.xvc/);
    const isDir = cli(['capture', '--domid', '1', '-o', tmp, '--sim-dir', demo.simDir]);
    assert.equal(isDir.code, 1);
    assert.match(isDir.stderr, /CAP_E_WRITE: .*it is a directory/);
    const stop = cli(['capture', '--domid', '1', '--stop', '--sim-dir', demo.simDir]);
    assert.equal(stop.code, 1);
    assert.match(stop.stderr, /not recording/);
    const usage = cli(['capture']);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /--domid N -o FILE, or use a subcommand: info, import, export/);
  });

  it('the backend killed mid-capture: the command says so, exit 1, and the file reads back', async () => {
    const file = path.join(tmp, 'killed.xvc');
    const pid = Number((await demo.waitFor(/^backend pid (\d+)/))[1]);
    const child = spawn(process.execPath, [XENVFB, 'capture', '--domid', '1', '-o', file, '--sim-dir', demo.simDir], {
      cwd: CWD,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 30_000;
    while (!/recording to/.test(stdout)) {
      if (Date.now() > deadline) assert.fail(`capture did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(pid, 'SIGKILL');
    assert.equal(await exited, 1);
    assert.match(stderr, /stopped answering during the capture; .*killed\.xvc reads back to its last complete record/);
    const info = cli(['capture', 'info', '--json', file]);
    assert.equal(info.code, 0, info.stderr);
    const i = JSON.parse(info.stdout) as { index: string; frames: number };
    assert.equal(i.index, 'missing');
    assert.ok(i.frames > 10, info.stdout);
  });
});
