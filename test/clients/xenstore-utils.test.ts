// Debian's xenstore-utils (libxenstore, the real C client library) against our daemon.
// The tools must run asynchronously: the server lives in this process.

import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connectInMemory } from '../../shared/xenstore/server/memory-transport';
import { XenstoredServer } from '../../shared/xenstore/server/socket-server';

const HAVE_UTILS = fs.existsSync('/usr/bin/xenstore-ls');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe('xenstore-utils against our xenstored', function () {
  let dir: string;
  let sock: string;
  let server: XenstoredServer;

  const run = (tool: string, ...args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      execFile(`/usr/bin/${tool}`, args, { env: { ...process.env, XENSTORED_PATH: sock }, timeout: 10000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  const ok = async (tool: string, ...args: string[]): Promise<string> => {
    const r = await run(tool, ...args);
    assert.equal(r.code, 0, `${tool} ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(function () {
    if (!HAVE_UTILS) {
      console.log('pending: /usr/bin/xenstore-ls not found (apt-get install xenstore-utils)');
      this.skip();
    }
  });
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xs-utils-'));
    sock = path.join(dir, 'xenstored', 'socket');
    server = new XenstoredServer();
    await server.listen(sock, { domid: 0, privileged: true });
  });
  afterEach(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('xenstore-write then xenstore-read (several paths at once)', async () => {
    await ok('xenstore-write', '/vm/a', 'hello world', '/vm/b', '2');
    assert.equal(await ok('xenstore-read', '/vm/a', '/vm/b'), 'hello world\n2\n');
    const r = await run('xenstore-read', '/vm/missing');
    assert.notEqual(r.code, 0);
  });

  it('xenstore-ls -fp prints full paths, values and perms', async () => {
    await ok('xenstore-write', '/vm/a', 'x', '/vm/sub/b', 'y');
    await ok('xenstore-chmod', '/vm/a', 'n1', 'r2');
    const lines = (await ok('xenstore-ls', '-fp', '/vm')).trimEnd().split('\n');
    assert.match(lines[0]!, /^\/vm\/a = "x"\s+\(n1,r2\)$/);
    assert.match(lines[1]!, /^\/vm\/sub = ""\s+\(n0\)$/);
    assert.match(lines[2]!, /^\/vm\/sub\/b = "y"\s+\(n0\)$/);
    assert.equal(lines.length, 3);
  });

  it('xenstore-list, xenstore-exists and xenstore-rm', async () => {
    await ok('xenstore-write', '/l/one', '1', '/l/two', '2');
    assert.equal(await ok('xenstore-list', '/l'), 'one\ntwo\n');
    assert.equal((await run('xenstore-exists', '/l/one')).code, 0);
    assert.notEqual((await run('xenstore-exists', '/l/three')).code, 0);
    await ok('xenstore-rm', '/l/one');
    assert.equal(await ok('xenstore-list', '/l'), 'two\n');
    await ok('xenstore-rm', '/l');
    assert.notEqual((await run('xenstore-exists', '/l')).code, 0);
  });

  it('xenstore-list of a directory too big for one reply (DIRECTORY_PART)', async () => {
    const xs = connectInMemory(server.engine, { domid: 0, privileged: true });
    const names = Array.from({ length: 250 }, (_, i) => `a-rather-long-entry-name-${String(i).padStart(4, '0')}`);
    await Promise.all(names.map((n) => xs.write(`/big/${n}`, '')));
    xs.close();
    assert.deepEqual((await ok('xenstore-list', '/big')).trimEnd().split('\n'), names);
  });

  it('xenstore-chmod changes what a domain may do', async () => {
    await ok('xenstore-write', '/perm/node', 'v');
    await ok('xenstore-chmod', '/perm/node', 'n3'); // owner 3, nobody else
    const d3 = connectInMemory(server.engine, { domid: 3, privileged: false });
    const d4 = connectInMemory(server.engine, { domid: 4, privileged: false });
    assert.equal(await d3.read('/perm/node'), 'v');
    await assert.rejects(d4.read('/perm/node'));
    await ok('xenstore-chmod', '/perm/node', 'n3', 'r4');
    assert.equal(await d4.read('/perm/node'), 'v');
    d3.close();
    d4.close();
  });

  it('xenstore-watch -n 2 sees the registration event and one change', async () => {
    await ok('xenstore-write', '/w/x', '0');
    const child = spawn('/usr/bin/xenstore-watch', ['-n', '2', '/w'], { env: { ...process.env, XENSTORED_PATH: sock } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    for (let i = 0; i < 200 && !out.includes('/w\n'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(out.includes('/w\n'), `initial event, got ${JSON.stringify(out)}`);
    await ok('xenstore-write', '/w/x', '1');
    const timer = setTimeout(() => child.kill(), 5000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0);
    assert.deepEqual(out.trimEnd().split('\n'), ['/w', '/w/x']);
  });
});
