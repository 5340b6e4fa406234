import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { isXenvfbError } from '../../../shared/errors';
import { createWorkload, isWorkloadName, WORKLOAD_NAMES, type WorkloadName } from '../../../frontend/workloads';

const ROOT = join(__dirname, '..', '..', '..');

describe('workloads/index', () => {
  it('creates each named workload with its name and size', async () => {
    assert.deepEqual(WORKLOAD_NAMES, ['still', 'pattern', 'terminal', 'replay']);
    // replay takes its size from a capture file (test/unit/workloads/replay.test.ts).
    for (const name of WORKLOAD_NAMES.filter((n) => n !== 'replay')) {
      const w = await createWorkload(name, { width: 320, height: 200 });
      assert.equal(w.name, name);
      assert.deepEqual([w.width, w.height, w.frames], [320, 200, 0]);
    }
  });

  it('rejects an unknown name with CLI_E_USAGE', async () => {
    assert.equal(isWorkloadName('terminal'), true);
    assert.equal(isWorkloadName('doom'), false);
    await assert.rejects(createWorkload('doom' as WorkloadName, {}), (e: unknown) => isXenvfbError(e, 'CLI_E_USAGE'));
  });

  it('lets the process exit once every workload is stopped', async function () {
    this.timeout(30000);
    const script = `
      const { createWorkload, WORKLOAD_NAMES } = require('./frontend/workloads');
      (async () => {
        const fb = { width: 160, height: 120, stride: 640, data: new Uint8Array(640 * 120), damage() {} };
        const running = [];
        for (const name of WORKLOAD_NAMES.filter((n) => n !== 'replay')) {
          const w = await createWorkload(name, { width: 160, height: 120, fps: 50 });
          w.start(fb);
          running.push(w);
        }
        setTimeout(() => { for (const w of running) w.stop(); console.log(running.map((w) => w.frames).join(',')); }, 300);
      })();`;
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const killer = setTimeout(() => child.kill('SIGKILL'), 25000);
      child.on('exit', (c) => {
        clearTimeout(killer);
        resolve(c);
      });
    });
    assert.equal(code, 0, `child did not exit cleanly: ${out}`);
    const [still, pattern, terminal] = out.trim().split(',').map(Number);
    assert.equal(still, 1);
    assert.ok(pattern > 1 && terminal > 1, out);
  });
});
