// The capture commands as a user runs them: errors on foreign, cut and missing files name
// the problem and exit 1; `capture info --json` on a cut file reports where it stops; import
// of an FBS file cut mid-update keeps what came before and says so.

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureWriter } from '../../backend/capture/capture-writer';
import { PIXEL_FORMAT_XRGB8888 } from '../../backend/display/pixel-format';
import { XENVFB } from '../helpers/demo-process';

const CWD = path.resolve(__dirname, '../..');
const FBS = path.resolve(__dirname, '../../../shared/fixtures/fbs/xclock2.fbs');

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [XENVFB, ...args], { cwd: CWD, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('xenvfb capture / replay command line', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-capcli-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('foreign and missing files: exit 1 with the error code and what to do', () => {
    const r = cli('capture', 'info', path.join(CWD, 'README.md'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /CAP_E_BAD_MAGIC.*capture import/);
    const m = cli('capture', 'import', path.join(CWD, 'package.json'), '-o', path.join(dir, 'x.xvc'));
    assert.equal(m.code, 1);
    assert.match(m.stderr, /FBS_E_BAD_MAGIC/);
    assert.equal(fs.existsSync(path.join(dir, 'x.xvc')), false, 'no output file is left behind');
    const n = cli('replay', path.join(dir, 'none.xvc'));
    assert.equal(n.code, 1);
    assert.match(n.stderr, /ENOENT/);
  });

  it('info --json on a cut capture: index missing, where it stops and why', () => {
    const file = path.join(dir, 'cut.xvc');
    const w = new CaptureWriter(file, { startUnixMs: 0 });
    const geometry = { width: 64, height: 32, format: PIXEL_FORMAT_XRGB8888 };
    for (let t = 0; t < 10; t++) w.append({ type: 'keyframe', timeMs: t * 100, geometry, pixels: new Uint8Array(64 * 32 * 4).fill(t) });
    w.close();
    const full = fs.readFileSync(file);
    fs.writeFileSync(file, full.subarray(0, full.length - 200));
    const r = cli('capture', 'info', '--json', file);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { index: string; tail: { code: string } | null; keyframes: number; geometry: { width: number } };
    assert.equal(info.index, 'missing');
    assert.equal(info.tail?.code, 'CAP_E_TRUNCATED');
    assert.ok(info.keyframes >= 8 && info.geometry.width === 64, r.stdout);
  });

  it('import of an FBS file cut inside an update keeps what came before and warns', function () {
    if (!fs.existsSync(FBS)) {
      console.log(`      pending: ${FBS} is missing (see ../shared/fixtures/fbs/README.md)`);
      this.skip();
    }
    const cut = path.join(dir, 'cut.fbs');
    fs.writeFileSync(cut, fs.readFileSync(FBS).subarray(0, 600_000));
    const out = path.join(dir, 'cut-fbs.xvc');
    const r = cli('capture', 'import', cut, '-o', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /warning: FBS_E_TRUNCATED/);
    const info = JSON.parse(cli('capture', 'info', '--json', out).stdout) as { index: string; frames: number };
    assert.equal(info.index, 'ok');
    assert.ok(info.frames > 5);
  });
});
