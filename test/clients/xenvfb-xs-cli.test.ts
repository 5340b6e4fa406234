// `xenvfb xenstored --socket` and `xenvfb xs ...` as child processes, cross-checked with
// Debian's xenstore-utils when installed.

import { strict as assert } from 'node:assert';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stopChild } from '../helpers/stop-child';

const BIN = path.resolve(__dirname, '..', '..', 'scripts', 'bin', 'xenvfb.js');

function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: 20000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('xenvfb xenstored + xenvfb xs (child processes)', function () {
  this.timeout(180000); // each xenvfb run starts ts-node (~3-4 s)
  let dir: string;
  let sock: string;
  let daemon: ChildProcess;
  const xs = (...args: string[]) => run(process.execPath, [BIN, 'xs', '--socket', sock, ...args]);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-xs-cli-'));
    sock = path.join(dir, 'socket');
    daemon = spawn(process.execPath, [BIN, 'xenstored', '--socket', sock], { stdio: ['ignore', 'pipe', 'pipe'] });
    const printed = await new Promise<string>((resolve, reject) => {
      let out = '';
      daemon.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      daemon.once('exit', (c) => reject(new Error(`xenstored exited ${c}`)));
    });
    assert.equal(printed, sock);
  });
  after(async () => {
    const outcome = await stopChild(daemon, { graceMs: 10000 });
    fs.rmSync(dir, { recursive: true, force: true });
    assert.notEqual(outcome, 'killed', 'xenvfb xenstored did not exit within 10 s of SIGTERM');
  });

  it('write, read, exists, ls -f -p, chmod, rm; errors exit 1 with the errno and a hint', async () => {
    assert.equal((await xs('write', '/vm/a', 'hello world', '/vm/b', '2')).code, 0);
    assert.deepEqual(await xs('read', '/vm/a', '/vm/b'), { code: 0, stdout: 'hello world\n2\n', stderr: '' });
    assert.equal((await xs('exists', '/vm/a')).code, 0);
    assert.equal((await xs('exists', '/vm/zz')).code, 1);
    assert.equal((await xs('chmod', '/vm/a', 'n5', 'r0')).code, 0);
    const ls = await xs('ls', '-f', '-p', '/vm');
    assert.equal(ls.stdout, '/vm/a = "hello world"  (n5, r0)\n/vm/b = "2"  (n0)\n');
    assert.equal((await xs('ls', '/vm')).stdout, 'a = "hello world"\nb = "2"\n');
    const missing = await xs('read', '/vm/missing');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ENOENT.*does not exist/);
    assert.equal((await xs('chmod', '/vm/a', 'x1')).code, 1);
    assert.equal((await xs('mkdir', '/vm/d')).code, 0);
    assert.equal((await xs('rm', '/vm/d')).code, 0);
    assert.equal((await xs('exists', '/vm/d')).code, 1);
  });
  it('watch prints events until -n N', async () => {
    const w = run(process.execPath, [BIN, 'xs', '--socket', sock, 'watch', '-n', '2', '/wt']);
    await new Promise((r) => setTimeout(r, 1500));
    await xs('write', '/wt/x', '1');
    const r = await w;
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '/wt\n/wt/x\n');
  });
  it('xenstore-read (Debian xenstore-utils) reads what xenvfb xs wrote', async function () {
    if (!fs.existsSync('/usr/bin/xenstore-read')) {
      console.log('      (pending: /usr/bin/xenstore-read not found; apt-get install xenstore-utils)');
      this.skip();
    }
    await xs('write', '/cross/v', 'from xenvfb');
    const r = await run('/usr/bin/xenstore-read', ['/cross/v'], { XENSTORED_PATH: sock });
    assert.deepEqual([r.code, r.stdout], [0, 'from xenvfb\n']);
  });
  it('xenstored exits cleanly on SIGTERM', async () => {
    daemon.kill('SIGTERM');
    const code = await new Promise((r) => daemon.once('exit', (c) => r(c)));
    assert.equal(code, 0);
  });
});
