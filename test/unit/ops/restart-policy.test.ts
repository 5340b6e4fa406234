// Restart backoff (scripts/cli/restart-policy.ts) and the logger's behaviour when its reader
// is gone (shared/log.ts LineWriter): both decide whether supervised processes end.

import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { RestartPolicy } from '../../../scripts/cli/restart-policy';

describe('RestartPolicy', function () {
  it('doubles the delay up to the maximum, and gives up past the limit', function () {
    const p = new RestartPolicy({ baseMs: 100, maxMs: 500, limit: 5, stableMs: 10_000 });
    const got = [0, 1, 2, 3, 4, 5].map((i) => p.onExit(i * 10, i * 10 + 5));
    assert.deepEqual(
      got.map((d) => (d.action === 'restart' ? d.delayMs : 'give-up')),
      [100, 200, 400, 500, 500, 'give-up'],
    );
  });
  it('a run longer than stableMs resets the count; limit 0 never restarts', function () {
    const p = new RestartPolicy({ baseMs: 100, limit: 2, stableMs: 1000 });
    assert.deepEqual(p.onExit(0, 10), { action: 'restart', delayMs: 100, failures: 1 });
    assert.deepEqual(p.onExit(0, 10), { action: 'restart', delayMs: 200, failures: 2 });
    assert.deepEqual(p.onExit(0, 5000), { action: 'restart', delayMs: 100, failures: 1 });
    assert.equal(new RestartPolicy({ limit: 0 }).onExit(0, 1).action, 'give-up');
    assert.throws(() => new RestartPolicy({ limit: -1 }), RangeError);
  });
});

describe('LineWriter (logger destination)', function () {
  this.timeout(20000);
  it('a process whose stderr reader is gone still exits promptly after logging (no EPIPE spin)', async function () {
    const log = path.join(__dirname, '..', '..', '..', 'shared', 'log.ts');
    const script = `const { createLogger } = require(${JSON.stringify(log)});
      const l = createLogger({ name: 't' });
      setTimeout(() => { for (let i = 0; i < 100; i++) l.warn({ i }, 'x'.repeat(1000)); process.exit(0); }, 300);`;
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.destroy(); // the reader goes away before the child logs
    const hung = setTimeout(() => child.kill('SIGKILL'), 10000);
    const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once('exit', (c, s) => resolve({ code: c, signal: s })),
    );
    clearTimeout(hung);
    assert.equal(signal, null, 'the child hung after logging and had to be killed');
    assert.equal(code, 0);
  });
});
