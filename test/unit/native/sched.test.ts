// SCHED_BATCH for the threads that encode (native/src/sched.cc): the addon's schedBatch() changes
// the calling thread only; a session's encode worker and the JPEG pool threads run under it,
// and the main thread that wakes them stays SCHED_OTHER.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';
import { NO_SCHED_BATCH_ENV } from '../../../backend/updates/encode-worker-host';
import { encodeWholeFrame, type EncodedFrame } from '../../../backend/vnc/encode-frame';
import { RfbEncoding } from '../../../backend/vnc/messages';
import { WorkerFrameEncoder } from '../../../backend/vnc/worker-frame-encoder';
import { schedBatch, turbojpeg } from '../../../native';
import { fullHdPicture } from '../vnc/encoders/fullhd-pictures';

const BINARY = path.resolve(__dirname, '..', '..', '..', 'native', 'build', 'Release', 'xenvfb_native.node');
const SCHED_OTHER = 0;
const SCHED_BATCH = 3;

/** Policy of each thread of this process, by thread id (field 41 of /proc/<pid>/task/<tid>/stat). */
function policies(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

describe('native: SCHED_BATCH for encode threads', function () {
  this.timeout(30000);
  if (process.platform !== 'linux' || !schedBatch) {
    it('pending: SCHED_BATCH is Linux only, and the loaded addon must have schedBatch() (npm run install)');
    return;
  }

  it('schedBatch() changes the calling thread only', async () => {
    const before = policies();
    const code = `
      const { parentPort } = require('node:worker_threads');
      const fs = require('node:fs');
      const rc = require(${JSON.stringify(BINARY)}).schedBatch();
      const stat = fs.readFileSync('/proc/thread-self/stat', 'utf8');
      parentPort.postMessage({ rc, policy: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]) });`;
    const res = await new Promise<{ rc: number; policy: number }>((resolve, reject) => {
      const w = new Worker(code, { eval: true });
      w.once('message', (m) => {
        resolve(m);
        void w.terminate();
      });
      w.once('error', reject);
    });
    assert.deepEqual(res, { rc: 0, policy: SCHED_BATCH });
    // Every thread that was there before kept its policy (the main thread's is SCHED_OTHER).
    const after = policies();
    for (const [tid, p] of before) if (after.has(tid)) assert.equal(after.get(tid), p, `thread ${tid}`);
    assert.equal(after.get(process.pid), SCHED_OTHER);
  });

  if (process.env[NO_SCHED_BATCH_ENV] === '1') {
    it(`pending: ${NO_SCHED_BATCH_ENV}=1 is set, so encode threads stay SCHED_OTHER`);
    return;
  }

  it('a session encode worker and the JPEG pool threads run SCHED_BATCH', async () => {
    const enc = new WorkerFrameEncoder({
      onError: (err) => {
        throw err;
      },
    });
    const encodings = [RfbEncoding.Tight, -32 + 7];
    enc.encodingsChanged(encodings);
    try {
      const s = fullHdPicture('photo');
      const frame = await new Promise<EncodedFrame>((resolve) =>
        encodeWholeFrame(
          enc,
          s,
          {
            copies: [],
            clientFormat: PIXEL_FORMAT_XRGB8888,
            // Strips from the middle of the photo, where Tight sends JPEG.
            rects: [0, 1, 2, 3].map((k) => ({ rect: { x: 0, y: 480 + 32 * k, width: 1920, height: 32 } })),
          },
          resolve,
        ),
      );
      assert.ok(frame.bytes.length > 0);
      if (turbojpeg?.submit) assert.ok((enc.stats().encoders['Tight JPEG']?.rects ?? 0) > 0, 'no JPEG was made');
      // The worker uses the JPEG pool only on hosts of JPEG_POOL_MIN_CPUS or more (jpeg.ts), so
      // the pool is started from this thread: its threads are made the same way in any thread.
      turbojpeg?.submit?.(s.data, 480 * s.stride, 1920, 32, s.stride, 'BGRX', 86, 0).take();
      // The worker (maybe one an earlier test started), and with libjpeg-turbo this thread's
      // pool threads (2 or more). A pool thread sets its policy when it starts running, which
      // on a loaded host can be after another one has done the job: wait up to 5 s for it.
      const want = turbojpeg?.submit ? 3 : 1;
      const countBatch = (): number => [...policies().values()].filter((p) => p === SCHED_BATCH).length;
      let batch = countBatch();
      for (let waited = 0; batch < want && waited < 5000; waited += 20) {
        await new Promise((r) => setTimeout(r, 20));
        batch = countBatch();
      }
      assert.ok(batch >= want, `${batch} SCHED_BATCH threads`);
      assert.equal(policies().get(process.pid), SCHED_OTHER);
    } finally {
      enc.close();
    }
  });
});
