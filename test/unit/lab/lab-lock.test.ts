// The lab's cache lock: one run per cache directory, stale locks of killed runs taken over.

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { takeLabLock } from '../../../scripts/lab/lock';

describe('lab: cache lock', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-lock-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is taken and released; a second live owner is refused with what to do', () => {
    const release = takeLabLock(dir);
    assert.equal(fs.readFileSync(path.join(dir, 'lab.lock'), 'utf8').trim(), String(process.pid));
    // Our parent stands in for another live run.
    assert.throws(() => takeLabLock(dir, process.ppid), /another lab run \(pid \d+\) is using .*XENVFB_LAB_CACHE/);
    release();
    assert.equal(fs.existsSync(path.join(dir, 'lab.lock')), false);
    takeLabLock(dir, process.ppid)();
  });

  it('takes over the lock of a run that is gone', () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.writeFileSync(path.join(dir, 'lab.lock'), `${gone.stdout}\n`);
    const release = takeLabLock(dir);
    assert.equal(fs.readFileSync(path.join(dir, 'lab.lock'), 'utf8').trim(), String(process.pid));
    release();
  });
});
