// The bench:peers tools against the real peers: peer-client (libvncclient) must read back the
// exact picture from LibVNCServer (peer-server) and from TigerVNC Xvnc (drawn by peer-xroot)
// with every lossless encoding, see a peer's fallback encoding, and the run must report
// sane numbers. The timings themselves are never asserted (npm run bench:peers prints them).

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { measureRun, RFB_ENCODING, type EncodingName } from '../../scripts/bench/peers/measure';
import { makePicture, type Picture } from '../../scripts/bench/peers/pictures';
import { startServer, type PeerName, type RunningServer } from '../../scripts/bench/peers/servers';
import { buildProgram, type ProgramName } from '../../scripts/bench/peers/setup';
import { cleanupAll } from '../../scripts/bench/lib/processes';
import { scenarioRun } from '../../scripts/bench/latency/main';
import { measureSessionRun, startSessionServer } from '../../scripts/bench/peers/session-run';
import { bgrxToRgb, loadSession, prepareSession } from '../../scripts/bench/peers/sessions';
import { FIXTURE_DIR } from '../../scripts/bench/peers/session-bench';

const LOSSLESS: EncodingName[] = ['raw', 'hextile', 'zlib', 'zrle', 'tight'];

function tryBuild(names: ProgramName[], dir: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const n of names) {
    try {
      out[n] = buildProgram(n, dir);
    } catch (e) {
      return (e as Error).message;
    }
  }
  return out;
}

describe('bench:peers tools against LibVNCServer and TigerVNC', function () {
  this.timeout(60_000);
  let dir: string;
  let picture: Picture;
  const say = () => undefined;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-peers-test-'));
    // Noise with a flat band: every encoder's raw, solid and palette paths, no ImageMagick needed.
    // Only the PPM gets the band: xenvfb (which reads the PNG) is not started here.
    picture = makePicture('noise', 320, 200, dir);
    picture.rgb.fill(0x40, 0, 320 * 60 * 3);
    fs.writeFileSync(picture.ppm, Buffer.concat([Buffer.from('P6\n320 200\n255\n'), picture.rgb]));
  });
  after(async () => {
    await cleanupAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function withServer(peer: PeerName, bins: Record<string, string>, fn: (s: RunningServer) => Promise<void>): Promise<void> {
    const server = await startServer(peer, picture, { bins, say, verbose: false });
    try {
      await fn(server);
    } finally {
      await server.stop();
    }
  }

  async function expectExact(server: RunningServer, client: string, encoding: EncodingName): Promise<void> {
    const r = await measureRun(server, {
      clientBin: client,
      encoding,
      quality: 7,
      seconds: 0.2,
      minUpdates: 3,
      checkAgainst: { picture, ppmPath: path.join(dir, `${server.name}-${encoding}.ppm`) },
    });
    assert.equal(r.sentEncoding, RFB_ENCODING[encoding], `${server.name} ${encoding}: sent encoding ${r.sentEncoding}`);
    assert.equal(r.check?.wrongPixels, 0, `${server.name} ${encoding}: ${r.check?.wrongPixels} pixels differ`);
    assert.ok(r.updates >= 3 && r.partial === 0, `${server.name} ${encoding}: ${r.updates} full and ${r.partial} partial updates`);
    assert.ok(r.bytesPerUpdate > 0 && r.updatesPerSec > 0 && r.firstMs > 0 && r.cpuMsPerUpdate >= 0);
    assert.deepEqual(r.warnings, []);
  }

  it('reads the exact picture from LibVNCServer with every lossless encoding, and JPEG within a PSNR', async function () {
    const bins = tryBuild(['client', 'server'], path.join(dir, 'bin'));
    if (typeof bins === 'string') {
      console.log(`      pending: ${bins} (npm run setup:test-deps installs libvncserver-dev)`);
      this.skip();
    }
    await withServer('libvncserver', bins, async (server) => {
      for (const enc of LOSSLESS) await expectExact(server, bins.client!, enc);
      const jpeg = await measureRun(server, {
        clientBin: bins.client!,
        encoding: 'jpeg',
        quality: 7,
        seconds: 0.2,
        minUpdates: 2,
        checkAgainst: { picture, ppmPath: path.join(dir, 'jpeg.ppm') },
      });
      assert.equal(jpeg.sentEncoding, 7);
      // The flat band is exact; JPEG on noise loses much, but a broken stream is far worse.
      assert.ok(jpeg.check!.psnr > 15, `PSNR ${jpeg.check!.psnr}`);
    });
  });

  it('reads the exact picture from Xvnc, and sees it send Raw when asked for Zlib', async function () {
    const missing = spawnSync('Xvnc', ['-version']).error;
    const bins = tryBuild(['client', 'xroot'], path.join(dir, 'bin'));
    if (missing || typeof bins === 'string') {
      const why = missing ? 'Xvnc not found' : bins;
      console.log(`      pending: ${why} (npm run setup:test-deps installs tigervnc-standalone-server and libx11-dev)`);
      this.skip();
    }
    await withServer('tigervnc', bins, async (server) => {
      for (const enc of ['raw', 'hextile', 'zrle', 'tight'] as const) await expectExact(server, bins.client!, enc);
      const zlib = await measureRun(server, { clientBin: bins.client!, encoding: 'zlib', quality: 7, seconds: 0.2, minUpdates: 2 });
      assert.equal(zlib.sentEncoding, RFB_ENCODING.raw);
    });
  });

  it('sessions: LibVNCServer, Xvnc and xenvfb replay play the xclock recording to its exact last picture, copies as CopyRect', async function () {
    this.timeout(240_000);
    const fbs = path.join(FIXTURE_DIR, 'xclock2.fbs');
    const bins = tryBuild(['session', 'server', 'xroot'], path.join(dir, 'bin'));
    const missing = !fs.existsSync(fbs) ? `${fbs} not found` : spawnSync('Xvnc', ['-version']).error ? 'Xvnc not found' : undefined;
    if (missing || typeof bins === 'string') {
      console.log(`      pending: ${missing ?? bins} (../shared beside the checkout; npm run setup:test-deps installs the peers)`);
      this.skip();
    }
    const session = prepareSession(fbs, dir);
    const lastRgb = bgrxToRgb(loadSession(fbs).last);
    for (const peer of ['libvncserver', 'tigervnc', 'xenvfb'] as const) {
      const server = await startSessionServer(peer, session, 20, { bins, say, verbose: false });
      try {
        // Twice: the second run checks the rewind between runs.
        for (const encoding of ['raw', 'zrle'] as const) {
          const r = await measureSessionRun(server, {
            clientBin: bins.session!,
            encoding,
            quality: -1,
            lastRgb,
            ppmPath: path.join(dir, `${peer}.ppm`),
            timeoutMs: 60_000,
          });
          assert.equal(r.check.wrongPixels, 0, `${peer} ${encoding}: ${r.check.wrongPixels} pixels differ from the session's last picture`);
          assert.ok(r.updates >= 10, `${peer} ${encoding}: ${r.updates} updates for 71 steps`);
          assert.ok(r.copyRects > 0, `${peer} ${encoding}: no CopyRect for the recording's 59 copies`);
          assert.deepEqual(r.encodings, [RFB_ENCODING[encoding]], `${peer} ${encoding}: sent ${r.encodings.join(', ')}`);
          // 20.2 s recorded at 20x: about a second of playback.
          assert.ok(r.bytes > 0 && r.cpuMs > 0 && r.doneMs >= 900, JSON.stringify(r));
        }
      } finally {
        await server.stop();
      }
    }
  });

  it('bench:latency: latency-client reads the frame numbers the latency guest stamps, through xenvfb', async function () {
    this.timeout(120_000);
    const bins = tryBuild(['latency'], path.join(dir, 'bin'));
    if (typeof bins === 'string') {
      console.log(`      pending: ${bins} (npm run setup:test-deps installs libvncserver-dev)`);
      this.skip();
    }
    const opts = {
      scenarios: ['typing' as const],
      encodings: ['raw' as const],
      seconds: 2,
      fps: 30,
      size: '640x480',
      dirtyTiles: true,
      switchOnMark: true,
      install: false,
    };
    const [row] = await scenarioRun('typing', opts, bins.latency!, () => undefined);
    // scenario, encoding, frames written, frames shown, p50, p99, max, verdict
    const [written, shown, p50, p99] = [Number(row![2]), Number(row![3]), Number(row![4]), Number(row![5])];
    assert.ok(written >= 30, `${written} frames written in 2 s at 30 fps`);
    assert.ok(shown >= 10 && shown <= written, `${shown} of ${written} frames shown`);
    assert.ok(p50 > 0 && p99 >= p50, `p50 ${p50} ms, p99 ${p99} ms`);
  });
});
