// `xenvfb inspect` against a running demo whose guest logs every rect its workload draws
// (XENVFB_GUEST_LOG_DAMAGE=1): --once --json must report exactly the tiles of those rects
// (nothing the guest did not draw, everything it drew well inside the window), --png writes a
// heat map, and the live view works in a real terminal (tmux: send-keys, capture-pane).

import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { DemoProcess, freeVncPort, hasCommand, XENVFB } from '../helpers/demo-process';
import { wordsForRects } from '../../shared/dirty-tiles/scan-report';
import type { TileGeometry } from '../../shared/dirty-tiles/page';
import type { Rect } from '../../shared/region';

const run = promisify(execFile);
const WINDOW_MS = 2000;
/** Guest rects this close to the window's ends may fall either side of it. */
const EDGE_MS = 400;

interface Drawn extends Rect {
  t: number;
}

function tileSet(rects: readonly Rect[], g: TileGeometry, w: number, h: number): Set<string> {
  const out = new Set<string>();
  wordsForRects(rects, g, w, h).forEach((word, row) => {
    for (let c = 0; c < g.cols; c++) if ((word >> BigInt(c)) & 1n) out.add(`${c},${row}`);
  });
  return out;
}

describe('xenvfb inspect (demo, pattern workload)', function () {
  this.timeout(60000);
  let demo: DemoProcess;
  let tmp: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-inspect-'));
    demo = DemoProcess.start(['--workload', 'pattern', '--vnc', `127.0.0.1:${await freeVncPort()}`, '--no-web'], {
      XENVFB_GUEST_LOG_DAMAGE: '1',
    });
    await demo.waitFor(/is connected/);
  });

  after(async () => {
    await demo?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const inspect = (...args: string[]) =>
    run(process.execPath, [XENVFB, 'inspect', '--domid', '1', '--sim-dir', demo.simDir, ...args], { timeout: 30000 });

  it('--once --json reports the tiles the workload drew in the window, and no others', async () => {
    const t0 = Date.now();
    const { stdout } = await inspect('--once', '--json', '--window', String(WINDOW_MS));
    const t1 = Date.now();
    const summary = JSON.parse(stdout) as {
      source: string;
      fbWidth: number;
      fbHeight: number;
      geometry: TileGeometry;
      scans: number;
      tiles: Array<[number, number]>;
    };
    assert.equal(summary.source, 'tiles');
    assert.ok(summary.scans > 5, `${summary.scans} scans in ${WINDOW_MS} ms`);
    const drawn: Drawn[] = demo.lines
      .map((l) => /^guest damage: (.*)$/.exec(l)?.[1])
      .filter((j): j is string => j !== undefined)
      .map((j) => JSON.parse(j) as Drawn);
    const { geometry: g, fbWidth: w, fbHeight: h } = summary;
    const reported = new Set(summary.tiles.map(([c, r]) => `${c},${r}`));
    // Sound: every tile reported was drawn around the window (the scan may drain marks made
    // just before the inspector's first poll).
    const around = tileSet(
      drawn.filter((d) => d.t >= t0 - 1000 && d.t <= t1),
      g,
      w,
      h,
    );
    const phantom = [...reported].filter((t) => !around.has(t));
    assert.deepEqual(phantom, [], 'tiles the guest never drew');
    // Complete: what was drawn well inside the window was reported.
    const inside = tileSet(
      drawn.filter((d) => d.t >= t1 - WINDOW_MS + EDGE_MS && d.t <= t1 - EDGE_MS),
      g,
      w,
      h,
    );
    assert.ok(inside.size > 10, `the guest drew ${inside.size} tiles inside the window`);
    const missed = [...inside].filter((t) => !reported.has(t));
    assert.deepEqual(missed, [], 'tiles the guest drew that the inspector missed');
    console.log(`      ${summary.scans} scans, ${reported.size} tiles reported, ${inside.size} drawn well inside the window`);
  });

  it('--png writes the heat map over the guest screenshot', async () => {
    const file = path.join(tmp, 'heat.png');
    await inspect('--png', file, '--window', '1000');
    const png = PNG.sync.read(fs.readFileSync(file));
    assert.equal(png.width, 800);
    assert.equal(png.height, 600);
    // The pattern's band (40%..60% of the height) is drawn every frame: red-tinted.
    const o = (Math.floor(600 * 0.5) * 800 + 400) * 4;
    assert.ok(png.data[o]! > png.data[o + 2]!, `band pixel ${[...png.data.subarray(o, o + 3)]} is tinted red`);
  });

  it('the live view in tmux: grid and rates, p pauses, q quits', async function () {
    if (!hasCommand('tmux')) {
      console.log('      pending: tmux not installed (Debian package tmux; run npm run setup:test-deps as root)');
      this.skip();
    }
    const session = `xenvfb-inspect-${process.pid}`;
    const cmd = `${process.execPath} ${XENVFB} inspect --domid 1 --sim-dir ${demo.simDir}`;
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '100', '-y', '45', cmd]);
    const capture = () => execFileSync('tmux', ['capture-pane', '-p', '-t', session]).toString();
    const until = async (what: string, ok: (screen: string) => boolean) => {
      const deadline = Date.now() + 15000;
      let screen = '';
      while (Date.now() < deadline) {
        screen = capture();
        if (ok(screen)) return screen;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`${what}; screen:\n${screen}`);
    };
    try {
      // A whole frame: header, a hot tile inside the grid, and the key help below it (the
      // terminal may take a frame in several reads, so a capture can fall between them).
      const screen = await until(
        'the grid with hot tiles and the key help',
        (s) => /dirty-tile page/.test(s) && /\|[^|\n]*@[^|\n]*\|/.test(s) && /q quit/.test(s),
      );
      assert.match(screen, /scans [\d.]+\/s {2}switches [\d.]+\/s/);
      execFileSync('tmux', ['send-keys', '-t', session, 'p']);
      await until('PAUSED shown', (s) => /PAUSED/.test(s));
      execFileSync('tmux', ['send-keys', '-t', session, 'q']);
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        try {
          execFileSync('tmux', ['has-session', '-t', session], { stdio: 'ignore' });
        } catch {
          return; // the inspector quit and its session ended
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail('q did not end the inspector');
    } finally {
      try {
        execFileSync('tmux', ['kill-session', '-t', session], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  });
});

describe('xenvfb inspect --capture (a recorded demo)', function () {
  this.timeout(60000);

  it('reads the tile scans a recorder kept: the pattern band is there, every column of it', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-inspect-cap-'));
    const file = path.join(tmp, 'pattern.xvc');
    const demo = DemoProcess.start(['--workload', 'pattern', '--vnc', `127.0.0.1:${await freeVncPort()}`, '--no-web', '--capture', file]);
    try {
      await demo.waitFor(/is connected/);
      await new Promise((r) => setTimeout(r, 3000));
      await demo.stop();
      const { stdout } = await run(process.execPath, [XENVFB, 'inspect', '--capture', file, '--once', '--json'], { timeout: 30000 });
      const s = JSON.parse(stdout) as { source: string; scans: number; geometry: TileGeometry; tiles: Array<[number, number]> };
      assert.equal(s.source, 'tiles');
      assert.ok(s.scans > 10, `${s.scans} scans`);
      // The band covers rows 240..359 of the 800x600 guest, the whole width.
      const row = Math.floor(300 / s.geometry.tileH);
      const cols = s.tiles.filter(([, r]) => r === row).map(([c]) => c);
      const want = Array.from({ length: Math.ceil(800 / s.geometry.tileW) }, (_, c) => c);
      assert.deepEqual(cols, want);
      const text = (await run(process.execPath, [XENVFB, 'inspect', '--capture', file, '--once'], { timeout: 30000 })).stdout;
      assert.match(text, /dirty-tile page +\d+x\d+ tiles of \d+x\d+ px on 800x600/);
      assert.match(text, /^\|.*@.*\|$/m);
    } finally {
      await demo.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
