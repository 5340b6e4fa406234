import { strict as assert } from 'node:assert';
import { parseStatTicks, parseStatusField } from '../../../scripts/bench/lib/proc';
import { comparePixels, parseClientReport, type RunResult } from '../../../scripts/bench/peers/measure';
import { noiseRgb, parsePpm } from '../../../scripts/bench/peers/pictures';
import { fallback, formatPictureTable, median, summarize, type Cell } from '../../../scripts/bench/peers/table';
import { buildCommand } from '../../../scripts/bench/peers/main';
import { planInstall } from '../../../scripts/bench/peers/setup';
import { formatIdleTable } from '../../../scripts/bench/idle/table';
import { drawStamp, readStamp, STAMP_RECT } from '../../../scripts/bench/latency/stamp';
import { drawScenario, SCENARIOS } from '../../../scripts/bench/latency/guest';
import { percentile } from '../../../scripts/bench/latency/main';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeSessionStream, loadSession, prepareSession, toBgrx, XRGB8888, type Session } from '../../../scripts/bench/peers/sessions';
import * as os from 'node:os';
import { formatSessionTable, sessionFallback, type SessionCell } from '../../../scripts/bench/peers/session-table';
import type { SessionRunResult } from '../../../scripts/bench/peers/session-run';
import { FIXTURE_DIR, sessionPath } from '../../../scripts/bench/peers/session-bench';

function run(over: Partial<RunResult> = {}): RunResult {
  return {
    updatesPerSec: 10,
    bytesPerUpdate: 1000,
    cpuMsPerUpdate: 5,
    firstMs: 100,
    updates: 5,
    partial: 0,
    sentEncoding: 0,
    warnings: [],
    ...over,
  };
}

describe('bench/lib/proc', () => {
  it('reads utime + stime after the last ")" of a comm that holds spaces and parentheses', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const line = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 11 0';
    assert.equal(parseStatTicks(line), 325);
    assert.throws(() => parseStatTicks('garbage'));
    assert.throws(() => parseStatTicks('1 (a) S 1'));
  });

  it('reads a kB field of /proc/PID/status, undefined when absent', () => {
    const status = 'Name:\tnode\nVmPeak:\t  900 kB\nVmRSS:\t   65432 kB\nvoluntary_ctxt_switches:\t17\n';
    assert.equal(parseStatusField(status, 'VmRSS'), 65432);
    assert.equal(parseStatusField(status, 'voluntary_ctxt_switches'), 17);
    assert.equal(parseStatusField(status, 'VmSwap'), undefined);
  });
});

describe('bench/peers measure and pictures', () => {
  it('parses what peer-client prints and refuses a report with a missing field', () => {
    const line =
      '{"width":1920,"height":1080,"updates":4,"partial":0,"firstMs":12.5,"steadyMs":300,"steadyBytes":900,"firstBytes":300,"encoding":16}';
    assert.equal(parseClientReport(`noise\n${line}\n`).encoding, 16);
    assert.throws(() => parseClientReport('{"width":1}'), /no height/);
  });

  it('counts differing pixels and computes PSNR over RGB samples', () => {
    const a = Buffer.from([0, 0, 0, 10, 10, 10]);
    assert.deepEqual(comparePixels(a, Buffer.from(a)), { wrongPixels: 0, psnr: Infinity });
    const b = Buffer.from([0, 0, 0, 10, 10, 20]); // one sample off by 10: MSE = 100 / 6
    const c = comparePixels(a, b);
    assert.equal(c.wrongPixels, 1);
    assert.ok(Math.abs(c.psnr - 10 * Math.log10((255 * 255 * 6) / 100)) < 1e-9);
    assert.throws(() => comparePixels(a, Buffer.alloc(3)), /sizes differ/);
  });

  it('makes the same noise for the same seed and parses a binary PPM', () => {
    assert.deepEqual(noiseRgb(8, 4), noiseRgb(8, 4));
    assert.notDeepEqual(noiseRgb(8, 4, 1), noiseRgb(8, 4, 2));
    const rgb = noiseRgb(3, 2);
    const p = parsePpm(Buffer.concat([Buffer.from('P6\n3 2\n255\n'), rgb]));
    assert.deepEqual([p.width, p.height], [3, 2]);
    assert.deepEqual(p.rgb, rgb);
    assert.throws(() => parsePpm(Buffer.concat([Buffer.from('P6\n3 2\n255\n'), rgb.subarray(1)])), /truncated/);
    assert.throws(() => parsePpm(Buffer.from('P3\n1 1\n255\n0 0 0')), /binary PPM/);
  });
});

describe('bench/peers packages', () => {
  const host = (missing: string[], isRoot: boolean) => ({ installed: (p: string) => !missing.includes(p), isRoot, hasApt: true });

  it('installs what is missing as root, and names the command otherwise', () => {
    assert.equal(planInstall(['xenvfb', 'tigervnc'], host([], true)).action, 'none');
    const asRoot = planInstall(['xenvfb', 'tigervnc'], host(['tigervnc-standalone-server', 'gcc'], true));
    assert.equal(asRoot.action, 'install');
    assert.deepEqual(asRoot.missing, ['gcc', 'tigervnc-standalone-server']);
    const user = planInstall(['xenvfb', 'tigervnc'], host(['libvncserver-dev'], false));
    assert.equal(user.action, 'ask');
    assert.equal(user.command, 'apt-get install -y --no-install-recommends libvncserver-dev');
  });

  it('asks only for the packages of the peers it runs', () => {
    assert.equal(planInstall(['xenvfb', 'libvncserver'], host(['tigervnc-standalone-server', 'libx11-dev'], false)).action, 'none');
  });
});

describe('bench/peers table', () => {
  it('takes medians (odd and even counts)', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  it('reports a pixel check as exact, wrong pixels, or PSNR for lossy output', () => {
    assert.equal(summarize([run({ check: { wrongPixels: 0, psnr: Infinity } })], false).check, 'exact');
    assert.equal(summarize([run({ check: { wrongPixels: 12, psnr: 50 } })], false).check, '12 px wrong');
    assert.equal(summarize([run({ check: { wrongPixels: 12, psnr: 43.04 } })], true).check, 'PSNR 43.0 dB');
  });

  it('notices a server that answered with another encoding (Xvnc has no Zlib)', () => {
    assert.equal(fallback([run({ sentEncoding: 6 })], 'zlib'), undefined);
    assert.equal(fallback([run({ sentEncoding: 0 })], 'zlib'), 'raw');
    assert.equal(fallback([run({ sentEncoding: 7 })], 'jpeg'), undefined);
  });

  it('prints ours/peer ratios on the peer rows and none against a fallback', () => {
    const cells: Cell[] = [
      {
        picture: 'photo',
        encoding: 'zrle',
        peer: 'xenvfb',
        runs: [
          run({ updatesPerSec: 20, bytesPerUpdate: 900, cpuMsPerUpdate: 10, sentEncoding: 16, check: { wrongPixels: 0, psnr: Infinity } }),
        ],
      },
      {
        picture: 'photo',
        encoding: 'zrle',
        peer: 'libvncserver',
        runs: [run({ updatesPerSec: 10, bytesPerUpdate: 1000, cpuMsPerUpdate: 20, sentEncoding: 16 })],
      },
      { picture: 'photo', encoding: 'zlib', peer: 'xenvfb', runs: [run({ sentEncoding: 6 })] },
      { picture: 'photo', encoding: 'zlib', peer: 'tigervnc', runs: [run({ sentEncoding: 0 })] },
    ];
    const text = formatPictureTable('photo', cells, ['zrle', 'zlib'], ['xenvfb', 'libvncserver', 'tigervnc']);
    const zrlePeer = text.split('\n').find((l) => l.startsWith('zrle') && l.includes('libvncserver'))!;
    assert.match(zrlePeer, /2\.00x\s+0\.90x\s+0\.50x$/);
    const zlibPeer = text.split('\n').find((l) => l.startsWith('zlib') && l.includes('tigervnc'))!;
    assert.match(zlibPeer, /sent raw: n\/a\s*$/);
    assert.match(text, /met for zrle; not met for none$/);
    // The same numbers with 3 wrong pixels in ours: not met, however fast.
    cells[0]!.runs[0]!.check = { wrongPixels: 3, psnr: 60 };
    assert.match(formatPictureTable('photo', cells, ['zrle'], ['xenvfb', 'libvncserver']), /met for none; not met for zrle$/);
  });

  it('refuses bad flags with a message that names the flag', () => {
    const parse = (args: string[]) =>
      buildCommand()
        .exitOverride()
        .configureOutput({ writeErr: () => undefined })
        .parse(['node', 'x', ...args])
        .opts();
    assert.deepEqual(parse(['--peers', 'xenvfb,tigervnc']).peers, ['xenvfb', 'tigervnc']);
    assert.throws(() => parse(['--peers', 'xenvfb,vino']), /--peers: expected a comma list/);
    assert.throws(() => parse(['--encodings', 'raw,zlibhex']), /--encodings/);
    assert.throws(() => parse(['--quality', '10']), /--quality must be 0..9/);
    assert.throws(() => parse(['--size', '10x10']), /--size must be/);
    assert.throws(() => parse(['--runs', '0']), /--runs must be a positive integer/);
    assert.deepEqual(parse(['--sessions', 'none', '--pictures', 'none']).sessions, []);
    assert.deepEqual(parse(['--sessions', 'xclock2,/tmp/a.fbs']).sessions, ['xclock2', '/tmp/a.fbs']);
    assert.throws(() => parse(['--session-speed', '0']), /--session-speed must be a positive number/);
  });
});

/** Play a session's steps onto its first picture, as peer-server does. */
function playAll(s: Session): Uint8Array {
  const fb = new Uint8Array(s.first);
  const stride = s.width * 4;
  for (const st of s.steps)
    for (const op of st.ops) {
      if (op.kind === 'pixels') {
        const r = op.rect;
        for (let y = 0; y < r.height; y++) fb.set(op.bgrx.subarray(y * r.width * 4, (y + 1) * r.width * 4), (r.y + y) * stride + r.x * 4);
      } else {
        const c = op.copy;
        const rows = [...Array(c.height).keys()];
        if (c.dstY > c.srcY) rows.reverse();
        for (const y of rows)
          fb.copyWithin(
            (c.dstY + y) * stride + c.dstX * 4,
            (c.srcY + y) * stride + c.srcX * 4,
            (c.srcY + y) * stride + (c.srcX + c.width) * 4,
          );
      }
    }
  return fb;
}

describe('bench/peers sessions', () => {
  const xclock = path.join(FIXTURE_DIR, 'xclock2.fbs');

  it('names the fixture recordings and takes paths as they are', () => {
    assert.equal(sessionPath('windows'), path.join(FIXTURE_DIR, 'windows.fbs'));
    assert.equal(sessionPath('/x/y.fbs'), '/x/y.fbs');
    assert.equal(sessionPath('rec.xvfbcap'), 'rec.xvfbcap');
  });

  it('turns 16-bpp 565 pixels into B, G, R, X', () => {
    const rgb565 = {
      ...XRGB8888,
      bitsPerPixel: 16 as const,
      depth: 16,
      redMax: 31,
      greenMax: 63,
      blueMax: 31,
      redShift: 11,
      greenShift: 5,
    };
    // pure red, pure blue (little-endian 16-bit words)
    assert.deepEqual([...toBgrx(new Uint8Array([0x00, 0xf8, 0x1f, 0x00]), rgb565)], [0, 0, 255, 0, 255, 0, 0, 0]);
    assert.deepEqual([...toBgrx(new Uint8Array([1, 2, 3, 99]), XRGB8888)], [1, 2, 3, 0]);
  });

  it('the xclock recording: its steps played on its first picture give its last, and the session file holds them all', function () {
    if (!fs.existsSync(xclock)) {
      console.log(`      pending: ${xclock} not found (../shared beside the checkout)`);
      this.skip();
    }
    const s = loadSession(xclock);
    assert.equal(s.width, 1024);
    assert.equal(s.height, 768);
    assert.equal(s.steps.length, 71);
    assert.equal(s.steps.flatMap((st) => st.ops).filter((op) => op.kind === 'copy').length, 59);
    assert.ok(s.durationMs > 19_000 && s.durationMs < 21_000, `${s.durationMs} ms`);
    assert.ok(Buffer.from(playAll(s)).equals(Buffer.from(s.last)));
    assert.ok(!Buffer.from(s.first).equals(Buffer.from(s.last)));
    const b = encodeSessionStream(s);
    assert.equal(b.toString('latin1', 0, 8), 'XVFBSES1');
    assert.deepEqual([b.readUInt32LE(8), b.readUInt32LE(12), b.readUInt32LE(16)], [1024, 768, 71]);
    let size = 20 + 1024 * 768 * 4;
    // step: time, count; op: kind, x, y, w, h, then pixels or srcX, srcY
    for (const st of s.steps) size += 8 + st.ops.reduce((n, op) => n + 20 + (op.kind === 'pixels' ? op.bgrx.length : 8), 0);
    assert.equal(b.length, size);
    // The same session read back from the capture written for `xenvfb replay`.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-session-'));
    try {
      const p = prepareSession(xclock, dir);
      const again = loadSession(p.capture);
      assert.equal(again.steps.length, s.steps.length);
      assert.ok(Buffer.from(again.last).equals(Buffer.from(s.last)));
      assert.ok(Buffer.from(again.first).equals(Buffer.from(s.first)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

function sessionRun(over: Partial<SessionRunResult> = {}): SessionRunResult {
  return {
    updates: 50,
    rects: 60,
    copyRects: 5,
    bytes: 100_000,
    cpuMs: 40,
    doneMs: 2000,
    check: { wrongPixels: 0, psnr: Infinity },
    encodings: [16],
    ...over,
  } as SessionRunResult;
}

describe('bench/peers session table', () => {
  it('prints totals with ours/peer ratios, a failed peer with its reason, and the verdict', () => {
    const cells: SessionCell[] = [
      {
        session: 'x',
        encoding: 'zrle',
        peer: 'xenvfb',
        runs: [sessionRun({ bytes: 90_000, cpuMs: 30 }), sessionRun({ bytes: 80_000, cpuMs: 20 })],
      },
      { session: 'x', encoding: 'zrle', peer: 'libvncserver', runs: [sessionRun()] },
      { session: 'x', encoding: 'zrle', peer: 'tigervnc', runs: [], error: 'Xvnc did not start' },
      { session: 'x', encoding: 'raw', peer: 'xenvfb', runs: [sessionRun({ check: { wrongPixels: 4, psnr: 50 }, encodings: [0] })] },
      { session: 'x', encoding: 'raw', peer: 'libvncserver', runs: [sessionRun({ bytes: 200_000, encodings: [0] })] },
      { session: 'x', encoding: 'zlib', peer: 'xenvfb', runs: [sessionRun({ encodings: [6] })] },
      { session: 'x', encoding: 'zlib', peer: 'tigervnc', runs: [sessionRun({ bytes: 9_000_000, encodings: [0] })] },
    ];
    const text = formatSessionTable(cells, ['zrle', 'raw', 'zlib'], ['xenvfb', 'libvncserver', 'tigervnc']);
    assert.match(text, /zlib\s+tigervnc .*sent raw: n\/a\s*$/m);
    assert.equal(sessionFallback([sessionRun({ encodings: [] })], 'zlib'), undefined);
    const peerRow = text.split('\n').find((l) => l.startsWith('zrle') && l.includes('libvncserver'))!;
    assert.match(peerRow, /0\.85x\s+0\.63x$/);
    assert.match(text, /zrle\s+tigervnc .*failed \[1\]/);
    assert.match(text, /\[1\] Xvnc did not start/);
    assert.match(text, /raw\s+xenvfb .*4 px wrong/);
    assert.match(text, /met for zrle; not met for raw$/);
  });
});

describe('bench/idle table', () => {
  it('prints per-domain rows, totals and whether the targets are met', () => {
    const text = formatIdleTable(
      [
        { domid: 1, pid: 10, rssKb: 60 * 1024, cpuShare: 0.0001, wakeupsPerSec: 0.5, guestRssKb: 50 * 1024, guestCpuShare: 0 },
        { domid: 2, pid: 11, rssKb: 70 * 1024, cpuShare: 0.0003, wakeupsPerSec: 1.5 },
        { domid: 3, pid: 12 },
      ],
      { windowS: 30, simShare: 0.001, simRssKb: 80 * 1024, mode: 'dist' },
    );
    assert.match(text, /RSS MB\s+min 60\.0\s+median 65\.0\s+max 70\.0\s+total 130\.0\s+target <= 64 per domain: NOT met/);
    assert.match(text, /CPU % core\s+min 0\.010\s+median 0\.020\s+max 0\.030 .* NOT met/);
    assert.match(text, /1 backend\(s\) exited before the end/);
  });
});

describe('bench/latency stamp and scenarios', () => {
  const surface = (w: number, h: number) => ({ width: w, height: h, stride: w * 4 + 8, data: new Uint8Array((w * 4 + 8) * h) });

  it('reads back every stamped frame number and rejects a torn stamp', () => {
    const s = surface(200, 40);
    for (const seq of [0, 1, 0x5a5a5a, 0xffffff, 12345]) {
      assert.deepEqual(drawStamp(s, seq), STAMP_RECT);
      assert.equal(readStamp(s), seq);
    }
    drawStamp(s, 7);
    s.data.fill(0xff, 0, s.stride * 16); // both rows white: not a stamp
    assert.equal(readStamp(s), -1);
  });

  it('keeps each scenario inside the framebuffer and off the stamp', () => {
    const s = surface(1920, 1080);
    let n = 0;
    const rand = () => (n = (n * 1103515245 + 12345) >>> 0);
    for (const scenario of SCENARIOS) {
      for (let seq = 1; seq < 400; seq += 37) {
        const r = drawScenario(s, scenario, seq, rand);
        assert.ok(
          r.x >= 0 && r.y >= STAMP_RECT.height && r.x + r.width <= 1920 && r.y + r.height <= 1080,
          `${scenario} ${JSON.stringify(r)}`,
        );
      }
    }
  });

  it('takes nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(v, 50), 50);
    assert.equal(percentile(v, 99), 99);
    assert.equal(percentile([5], 99), 5);
    assert.ok(Number.isNaN(percentile([], 50)));
  });
});
