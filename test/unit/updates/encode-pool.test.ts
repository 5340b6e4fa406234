// The encode pool's worker lifetime: a worker whose idle time ran out is going away, and a
// session that comes while its thread exits must get another worker, not lose its jobs.

import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import type { FromEncodeWorker } from '../../../backend/updates/encode-jobs';
import {
  ENCODE_WORKER_IDLE_ENV,
  ENCODE_WORKER_IDLE_MS,
  EncodePool,
  encodeWorkerIdleMs,
  type PoolClient,
} from '../../../backend/updates/encode-pool';
import { waitFor } from '../../helpers/wait-for';

const IDLE_MS = 50;

function recordingClient(): PoolClient & { messages: FromEncodeWorker[]; failures: string[] } {
  const messages: FromEncodeWorker[] = [];
  const failures: string[] = [];
  return { messages, failures, message: (m) => messages.push(m), workerFailed: (why) => failures.push(why) };
}

describe('encode pool: worker lifetime', function () {
  this.timeout(30000);
  let pool: EncodePool;
  beforeEach(() => {
    pool = new EncodePool({ workerModule: path.join(__dirname, '..', '..', 'helpers', 'echo-encode-worker'), idleMs: IDLE_MS });
  });
  afterEach(() => pool.shutdown());

  it('a session attached just as an idle worker is terminated goes to a fresh worker and is served', async () => {
    const first = pool.attach(recordingClient());
    await first.worker.ready;
    pool.detach(first.worker, first.session);
    // A timer of the same length set after detach's idle timer runs right after it: the old
    // thread has been told to terminate and has not exited yet.
    const late = recordingClient();
    const second = await new Promise<ReturnType<EncodePool['attach']>>((r) => setTimeout(() => r(pool.attach(late)), IDLE_MS));
    assert.notEqual(second.worker, first.worker, 'the terminating worker took a new session');
    second.post({ type: 'job', session: second.session, id: 1, job: 'hello', pixels: new SharedArrayBuffer(8) });
    await waitFor(() => late.messages.length > 0 || late.failures.length > 0, 'the job result');
    assert.deepEqual(late.failures, []);
    assert.deepEqual(late.messages, [{ type: 'result', session: second.session, id: 1, result: 'hello', stats: null }]);
    await waitFor(() => pool.liveWorkers === 1, 'the old thread to exit');
  });

  it('a worker with no session ends after its idle time; one with a session does not', async () => {
    const a = pool.attach(recordingClient());
    const b = pool.attach(recordingClient());
    await Promise.all([a.worker.ready, b.worker.ready]);
    assert.notEqual(a.worker, b.worker, 'two sessions on an idle pool get a worker each');
    pool.detach(a.worker, a.session);
    await waitFor(() => pool.liveWorkers === 1, 'the empty worker to exit');
    await new Promise((r) => setTimeout(r, IDLE_MS * 4));
    assert.equal(pool.liveWorkers, 1);
    assert.equal(b.worker.dead, false);
  });

  it(`${ENCODE_WORKER_IDLE_ENV} sets how long a worker with no session lives; a bad value warns and keeps the default`, async () => {
    const env = (v: string): NodeJS.ProcessEnv => ({ [ENCODE_WORKER_IDLE_ENV]: v });
    assert.equal(encodeWorkerIdleMs({}), ENCODE_WORKER_IDLE_MS);
    assert.equal(encodeWorkerIdleMs(env('')), ENCODE_WORKER_IDLE_MS);
    assert.equal(encodeWorkerIdleMs(env('0')), 0);
    assert.equal(encodeWorkerIdleMs(env('60000')), 60000);
    const warnings: string[] = [];
    for (const bad of ['-1', '1.5', '1e3', 'soon', '3600001'])
      assert.equal(
        encodeWorkerIdleMs(env(bad), (m) => warnings.push(m)),
        ENCODE_WORKER_IDLE_MS,
        bad,
      );
    assert.equal(warnings.length, 5);
    assert.match(warnings[0]!, /XENVFB_ENCODE_WORKER_IDLE_MS="-1" is not a whole number of ms from 0 to 3600000: using 2000/);
    // A pool made without idleMs reads the environment: its worker ends after 80 ms, not 2 s.
    const saved = process.env[ENCODE_WORKER_IDLE_ENV];
    process.env[ENCODE_WORKER_IDLE_ENV] = '80';
    const envPool = new EncodePool({ workerModule: path.join(__dirname, '..', '..', 'helpers', 'echo-encode-worker') });
    if (saved === undefined) delete process.env[ENCODE_WORKER_IDLE_ENV];
    else process.env[ENCODE_WORKER_IDLE_ENV] = saved;
    try {
      const s = envPool.attach(recordingClient());
      await s.worker.ready;
      envPool.detach(s.worker, s.session);
      const t0 = Date.now();
      await waitFor(() => envPool.liveWorkers === 0, 'the idle worker to end');
      assert.ok(Date.now() - t0 < ENCODE_WORKER_IDLE_MS, `it lived ${Date.now() - t0} ms`);
    } finally {
      envPool.shutdown();
    }
  });
});
