// Production start: `npm run build` (the last step of `npm install`) writes dist/, and the
// `xenvfb` command runs it without loading a TypeScript compiler. The demo runs from a fresh
// build with a guard preloaded into every process (NODE_OPTIONS) that exits the moment
// typescript, ts-node or @swc/core is loaded; its backend then serves a frame to a client.

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DemoProcess, freeVncPort } from '../../helpers/demo-process';
import { TinyRfbClient } from '../../helpers/rfb-client';

const ROOT = path.join(__dirname, '..', '..', '..');
const BUILD = path.join(ROOT, 'scripts', 'build', 'build-dist.js');
const GUARD = path.join(__dirname, '..', 'fixtures', 'no-compiler-guard.js');

const builder = require(BUILD) as {
  build(outDir: string, root?: string): number;
  isFresh(outDir: string, root?: string): boolean;
};

describe('production start (compiled dist/, no compiler loaded)', function () {
  this.timeout(60000);
  let tmp: string;
  let dist: string;

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-dist-'));
    // Inside the repository, as dist/ is: node_modules and the native addon resolve from there.
    dist = fs.mkdtempSync(path.join(ROOT, '.dist-test-'));
    const out = execFileSync(process.execPath, [BUILD, dist], { encoding: 'utf8' });
    assert.match(out, /built \d+ files/);
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(dist, { recursive: true, force: true });
  });

  it('dist holds the command, the child entry point resolution and the web page', function () {
    for (const f of [
      'scripts/cli/main.js',
      'backend/daemon.js',
      'backend/vnc/encode-worker.js',
      'backend/web/page/vnc.html',
      'BUILD_STAMP',
    ]) {
      assert.ok(fs.existsSync(path.join(dist, f)), `${f} missing from the build`);
    }
    assert.ok(!fs.existsSync(path.join(dist, 'test')), 'tests are not part of the build');
  });

  it('the guard itself trips when a compiler is loaded (so the next test can fail)', function () {
    let status: number | null = null;
    try {
      execFileSync(process.execPath, ['--require', GUARD, '-e', "require('typescript')"], { stdio: 'pipe' });
    } catch (e) {
      status = (e as { status: number }).status;
    }
    assert.equal(status, 86);
  });

  it('the demo (sim, guest, backend) runs from dist and serves frames without loading typescript/ts-node/swc', async function () {
    const port = await freeVncPort();
    const demo = DemoProcess.start(['--vnc', `127.0.0.1:${port}`, '--no-web', '--no-spice', '--workload', 'pattern'], {
      XENVFB_DIST: dist,
      NODE_OPTIONS: `--require ${GUARD}`,
      XENVFB_DEBUG_START: '1',
    });
    const stderr: string[] = [];
    demo.child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
    try {
      await demo.waitFor(/is connected/, 40000);
      const client = await TinyRfbClient.connect('127.0.0.1', port);
      client.startUpdates();
      const deadline = Date.now() + 10000;
      while (client.updates === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      client.close();
      assert.ok(client.updates > 0, 'no framebuffer update from the compiled backend');
      const all = stderr.join('');
      assert.doesNotMatch(all, /NO-COMPILER-GUARD/);
      assert.match(all, new RegExp(`running compiled code in ${dist.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.doesNotMatch(all, /through ts-node/);
    } finally {
      assert.equal(await demo.stop(), 0);
    }
  });

  it('dist is used only while it is newer than every source (an edit makes the sources run)', function () {
    const root = path.join(tmp, 'tree');
    fs.mkdirSync(path.join(root, 'backend'), { recursive: true });
    const src = path.join(root, 'backend', 'a.ts');
    fs.writeFileSync(src, 'export const a: number = 1;\n');
    const past = new Date(Date.now() - 60000);
    fs.utimesSync(src, past, past);
    const out = path.join(root, 'dist');
    assert.equal(builder.isFresh(out, root), false, 'no build yet');
    assert.equal(builder.build(out, root), 1);
    assert.equal(builder.isFresh(out, root), true);
    assert.match(fs.readFileSync(path.join(out, 'backend', 'a.js'), 'utf8'), /exports\.a = 1/);
    const future = new Date(Date.now() + 60000);
    fs.utimesSync(src, future, future);
    assert.equal(builder.isFresh(out, root), false, 'an edited source is newer than the build');
    fs.utimesSync(src, past, past);
    fs.rmSync(path.join(out, 'BUILD_STAMP'));
    assert.equal(builder.isFresh(out, root), false, 'a build cut short (no stamp) is not used');
  });
});
