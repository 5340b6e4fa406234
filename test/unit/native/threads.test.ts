// The addon under worker_threads: per-thread state, buffers that cannot be transferred
// away from their mapping, and terminate() arriving in the middle of a native call.

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';

import { PAGE_SIZE, mapFd, shmOpen, shmUnlink } from '../../../native';

const BINARY = path.resolve(__dirname, '..', '..', '..', 'native', 'build', 'Release', 'xenvfb_native.node');

describe('native: worker threads', () => {
  const name = `/xenvfb-test-threads-${process.pid}`;
  let fd: number;

  // The fd outlives the name: the object stays until the last fd/mapping goes.
  beforeEach(() => {
    fd = shmOpen(name, { create: true, exclusive: true, size: PAGE_SIZE });
    shmUnlink(name);
  });

  afterEach(() => {
    fs.closeSync(fd);
  });

  it('copies rather than transfers a mapped buffer posted to another thread', () => {
    const m = mapFd(fd, 0, PAGE_SIZE, true);
    const { port1, port2 } = new MessageChannel();
    try {
      port1.postMessage(m.buffer, [m.buffer]);
      assert.equal(m.buffer.byteLength, PAGE_SIZE);
      assert.equal(structuredClone(m.buffer, { transfer: [m.buffer] }).byteLength, PAGE_SIZE);
      assert.equal(m.buffer.byteLength, PAGE_SIZE);
      assert.equal(m.mapped, true);
    } finally {
      port1.close();
      port2.close();
      m.unmap();
    }
  });

  it('loads in a worker thread and shares memory with it', async () => {
    const m = mapFd(fd, 0, PAGE_SIZE, true);
    new Uint8Array(m.buffer)[3] = 99;
    const worker = new Worker(
      `const n = require(${JSON.stringify(BINARY)});
       const { parentPort, workerData } = require('node:worker_threads');
       const m = n.mapFd(workerData, 0, n.PAGE_SIZE, false);
       parentPort.postMessage(new Uint8Array(m.buffer)[3]);
       m.unmap();`,
      { eval: true, workerData: fd },
    );
    try {
      const seen = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      assert.equal(seen, 99);
    } finally {
      await worker.terminate();
      m.unmap();
    }
  });

  // Without NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS (binding.gyp) an error raised while the
  // worker is being torn down cannot be thrown into JS and aborts the whole process; run
  // it in a child so a regression fails this test instead of killing mocha.
  it('survives workers terminated in the middle of native calls', () => {
    const script = `
      const { Worker } = require('node:worker_threads');
      const fd = Number(process.env.SHM_FD);
      (async () => {
        for (let i = 0; i < 20; i++) {
          const w = new Worker(\`
            const n = require(${JSON.stringify(BINARY)});
            const { parentPort, workerData } = require('node:worker_threads');
            parentPort.postMessage('running');
            for (;;) {
              const m = n.mapFd(workerData, 0, n.PAGE_SIZE, true);
              new Uint8Array(m.buffer)[0]++;
              m.unmap();
              try { n.mapFd(-1, 0, 1, true); } catch {}
            }\`, { eval: true, workerData: fd });
          await new Promise((r) => w.once('message', r));
          await new Promise((r) => setTimeout(r, i % 5));
          await w.terminate();
        }
        process.stdout.write('done');
      })();`;
    const out = execFileSync(process.execPath, ['-e', script], {
      env: { ...process.env, SHM_FD: '3' }, // the object's fd becomes the child's fd 3
      stdio: ['ignore', 'pipe', 'pipe', fd],
      encoding: 'utf8',
    });
    assert.equal(out, 'done');
  });
});
