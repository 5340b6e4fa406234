// Several writer threads, each with its own mapping of one shm page, mark at once while
// the main thread switches and scans (as frontend switcher and backend). At the end every
// tile was reported by a scan that began no earlier than the epoch its last mark read:
// no mark is ever lost, and no tile is reported that nobody marked.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { TileScanner } from '../../../backend/damage/tile-scanner';
import { TileMarker } from '../../../frontend/dirty-tiles/marker';
import { mapFd, shmOpen, shmUnlink } from '../../../native';
import { chooseTileGeometry, initTilePage } from '../../../shared/dirty-tiles/page';
import { XEN_PAGE_SIZE } from '../../../shared/page';

const WORKERS = 4;
const MARKS = 25_000;
const W = 1920;
const H = 1080;

function startWorker(data: Record<string, unknown>): { worker: Worker; done: Promise<{ lastEpoch: Int32Array; wakes: number }> } {
  const file = path.join(__dirname, 'fixtures', 'mark-worker.ts');
  const worker = new Worker(`require('ts-node/register/transpile-only'); require(${JSON.stringify(file)});`, {
    eval: true,
    workerData: data,
  });
  const done = new Promise<{ lastEpoch: Int32Array; wakes: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited ${code} before reporting`)));
  });
  return { worker, done };
}

describe('dirty-tiles: worker threads on one shm page', function () {
  this.timeout(120_000);
  const name = `/xenvfb-test-dt-${process.pid}`;
  let fd: number;

  beforeEach(() => {
    fd = shmOpen(name, { create: true, exclusive: true, size: XEN_PAGE_SIZE });
    shmUnlink(name);
  });
  afterEach(() => fs.closeSync(fd));

  it(`${WORKERS} threads x ${MARKS} marks while switching, scanning, idling and waking`, async () => {
    const mapping = mapFd(fd, 0, XEN_PAGE_SIZE, true);
    try {
      const page = new Uint8Array(mapping.buffer);
      const geom = chooseTileGeometry(W, H);
      initTilePage(page, geom);
      const marker = new TileMarker(page, { fbWidth: W, fbHeight: H });
      const scanner = new TileScanner(page, { fbWidth: W, fbHeight: H, idleAfterEmptyScans: 3, stuckAfterMs: 1e9 });
      scanner.start();
      const epochBuf = new SharedArrayBuffer(4);
      const epoch = new Int32Array(epochBuf);
      const reported = new Int32Array(geom.cols * geom.rows).fill(-1);
      let scans = 0;
      const step = (): void => {
        // frontend switcher: on the period, or on a request; backend: wake on the flag, scan
        if (scanner.wake()) marker.answerSwitchRequest();
        marker.answerSwitchRequest();
        if (marker.periodMs !== 0 && scans % 2 === 0) marker.switchBitmaps();
        const e = ++scans;
        Atomics.store(epoch, 0, e);
        if (scanner.idle) return;
        const r = scanner.scan();
        assert.equal(r.garbage, null);
        r.words.forEach((w, row) => {
          for (let c = 0; c < geom.cols; c++) if ((w >> BigInt(c)) & 1n) reported[row * geom.cols + c] = e;
        });
      };

      const workers = Array.from({ length: WORKERS }, (_, i) =>
        startWorker({ fd, fbWidth: W, fbHeight: H, marks: MARKS, seed: 0x9e3779b9 * (i + 1), epoch: epochBuf }),
      );
      let finished = false;
      const all = Promise.all(workers.map((w) => w.done)).finally(() => (finished = true));
      while (!finished) {
        step();
        await new Promise((r) => setImmediate(r));
      }
      const results = await all;
      await Promise.all(workers.map((w) => w.worker.terminate()));
      // quiesce by the protocol's own rules: wake, switch, scan until nothing is left
      for (let i = 0; i < 8; i++) step();

      const lastMark = new Int32Array(geom.cols * geom.rows).fill(-1);
      for (const { lastEpoch } of results) lastEpoch.forEach((e, i) => (lastMark[i] = Math.max(lastMark[i], e)));
      let marked = 0;
      for (let i = 0; i < lastMark.length; i++) {
        if (lastMark[i] < 0) {
          assert.equal(reported[i], -1, `tile ${i} reported but never marked`);
          continue;
        }
        marked++;
        assert.ok(reported[i] >= lastMark[i], `tile ${i}: last mark at epoch ${lastMark[i]}, last report ${reported[i]}`);
      }
      assert.ok(marked > 0.9 * lastMark.length, `only ${marked} tiles marked`);
      assert.ok(scanner.stats.switches > 10, `switches ${scanner.stats.switches}`);
      const wakes = results.reduce((n, r) => n + r.wakes, 0);
      console.log(
        `      scans ${scans}, switches ${scanner.stats.switches}, tiles ${scanner.stats.tiles}, ` +
          `late ${scanner.stats.lateSwitches}, idles ${scanner.stats.idles}, wake marks ${wakes}, wakeups ${scanner.stats.wakeups}`,
      );
    } finally {
      mapping.unmap();
    }
  });
});
