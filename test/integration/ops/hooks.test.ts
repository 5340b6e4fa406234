// Toolstack glue: `xenvfb install-hooks` (dry run and a real install under --root), the
// libvirt libxl hook script driven the way libvirtd runs it (with a recording systemctl),
// `xenvfb attach-devices` (the xl create -p path) and `xenvfb device-model` (the
// device_model_override path) against the simulator.

import { strict as assert } from 'node:assert';
import { execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { SimHypervisor } from '../../../shared/platform/sim/hypervisor';
import { XsClient } from '../../../shared/xenstore/client';
import { silentLogger } from '../../../shared/log';
import { hasCommand, XENVFB } from '../../helpers/demo-process';

const ROOT = path.join(__dirname, '..', '..', '..');
const HOOK = path.join(ROOT, 'scripts', 'hooks', 'libvirt-libxl-hook.sh');

function xenvfb(args: string[], env: NodeJS.ProcessEnv = {}): { status: number; stdout: string } {
  try {
    return { status: 0, stdout: execFileSync(process.execPath, [XENVFB, ...args], { encoding: 'utf8', env: { ...process.env, ...env } }) };
  } catch (e) {
    const err = e as { status: number; stdout: string };
    return { status: err.status, stdout: err.stdout };
  }
}

/** Asynchronous: the simulator runs in this process and must keep answering meanwhile. */
function xenvfbAsync(args: string[]): Promise<{ status: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [XENVFB, ...args], { encoding: 'utf8' }, (err, stdout) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout });
    });
  });
}

describe('toolstack hooks', function () {
  this.timeout(30000);
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-hooks-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('install-hooks --dry-run prints every file and writes nothing', function () {
    const r = xenvfb(['install-hooks', '--dry-run', '--root', tmp]);
    assert.equal(r.status, 0);
    for (const f of [
      'etc/systemd/system/xenvfb-watch.service',
      'etc/systemd/system/xenvfb@.service',
      'etc/libvirt/hooks/libxl',
      'usr/local/sbin/xenvfb-dm',
    ]) {
      assert.match(r.stdout, new RegExp(`would write ${path.join(tmp, f).replace(/[.@]/g, '\\$&')} `));
    }
    // The units run node with the flags of shared/node-flags.ts (no memory reducer's timer).
    assert.match(r.stdout, new RegExp(`ExecStart=${process.execPath} --no-memory-reducer \\S+/scripts/bin/xenvfb\\.js watch`));
    assert.match(r.stdout, new RegExp(`ExecStart=${process.execPath} --no-memory-reducer \\S+/scripts/bin/xenvfb\\.js backend --domid %i`));
    assert.deepEqual(fs.readdirSync(tmp), []);
  });

  it('install-hooks --root: files with their modes and paths filled in; an admin file is kept, a foreign hook refused', function () {
    fs.mkdirSync(path.join(tmp, 'etc/libvirt/hooks'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'etc/libvirt/hooks/libxl'), '#!/bin/sh\n# the site hook\n');
    fs.mkdirSync(path.join(tmp, 'etc/xenvfb'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'etc/xenvfb/watch.json'), '{"listen":"10.0.0.1"}\n');
    const r = xenvfb(['install-hooks', '--root', tmp]);
    assert.equal(r.status, 1, 'a refused file makes the command fail');
    assert.match(r.stdout, /REFUSE .*etc\/libvirt\/hooks\/libxl: exists and is not ours/);
    assert.equal(fs.readFileSync(path.join(tmp, 'etc/libvirt/hooks/libxl'), 'utf8'), '#!/bin/sh\n# the site hook\n');
    assert.equal(fs.readFileSync(path.join(tmp, 'etc/xenvfb/watch.json'), 'utf8'), '{"listen":"10.0.0.1"}\n');
    const unit = fs.readFileSync(path.join(tmp, 'etc/systemd/system/xenvfb-watch.service'), 'utf8');
    assert.doesNotMatch(unit, /@[A-Z_]+@/, 'every placeholder filled');
    assert.match(unit, /^Type=notify$/m);
    const dm = path.join(tmp, 'usr/local/sbin/xenvfb-dm');
    assert.equal(fs.statSync(dm).mode & 0o777, 0o755);
    assert.match(
      fs.readFileSync(dm, 'utf8'),
      new RegExp(`exec ${process.execPath} --no-memory-reducer \\S+xenvfb\\.js device-model "\\$@"`),
    );
    // Ours is replaced on the next run.
    fs.rmSync(path.join(tmp, 'etc/libvirt/hooks/libxl'));
    assert.equal(xenvfb(['install-hooks', '--root', tmp]).status, 0);
    assert.equal(xenvfb(['install-hooks', '--root', tmp]).status, 0);
    assert.equal(fs.statSync(path.join(tmp, 'etc/libvirt/hooks/libxl')).mode & 0o777, 0o755);
  });

  it('the installed units pass systemd-analyze verify', function () {
    if (!hasCommand('systemd-analyze')) {
      console.log('    pending: systemd-analyze not installed (Debian package systemd)');
      this.skip();
    }
    assert.equal(xenvfb(['install-hooks', '--root', tmp, '--no-libvirt', '--no-xl']).status, 0);
    const units = path.join(tmp, 'etc/systemd/system');
    fs.copyFileSync(path.join(units, 'xenvfb@.service'), path.join(units, 'xenvfb@7.service'));
    const out = execFileSync('systemd-analyze', ['verify', 'xenvfb-watch.service', 'xenvfb@7.service'], {
      cwd: units,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    assert.equal(out.trim(), '');
    // A broken unit is reported (so the check above can fail).
    fs.writeFileSync(path.join(units, 'broken.service'), '[Service]\nExecStart=relative/path\n');
    assert.throws(() => execFileSync('systemd-analyze', ['verify', 'broken.service'], { cwd: units, stdio: 'pipe' }));
  });

  it('the libvirt libxl hook starts xenvfb@<domid> on "started", stops it on "stopped", and defers to xenvfb-watch', function () {
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    const calls = path.join(tmp, 'calls');
    fs.writeFileSync(
      path.join(bin, 'systemctl'),
      `#!/bin/sh\necho "$*" >> ${calls}\n[ "$1" = is-active ] && exit \${WATCH_ACTIVE:-3}\nexit 0\n`,
      { mode: 0o755 },
    );
    // The hook writes its domid note under /run/xenvfb: run it with a private /run via a copy that uses tmp.
    const hook = path.join(tmp, 'libxl');
    fs.writeFileSync(hook, fs.readFileSync(HOOK, 'utf8').replaceAll('/run/xenvfb', path.join(tmp, 'run')), { mode: 0o755 });
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    const xml = "<domain type='xen' id='7'>\n  <name>web01</name>\n</domain>\n";
    execFileSync(hook, ['web01', 'started', 'begin', '-'], { input: xml, env });
    execFileSync(hook, ['web01', 'stopped', 'end', '-'], { input: xml, env });
    execFileSync(hook, ['web01', 'started', 'begin', '-'], { input: xml, env: { ...env, WATCH_ACTIVE: '0' } });
    assert.deepEqual(fs.readFileSync(calls, 'utf8').trim().split('\n'), [
      'is-active --quiet xenvfb-watch.service',
      'start xenvfb@7.service',
      'is-active --quiet xenvfb-watch.service',
      'stop xenvfb@7.service',
      'is-active --quiet xenvfb-watch.service',
    ]);
  });

  describe('on the simulator', function () {
    let hv: SimHypervisor;
    let xs: XsClient;
    let dir: string;
    beforeEach(async function () {
      dir = fs.mkdtempSync(path.join('/tmp', 'xvh-'));
      hv = await SimHypervisor.start({ dir, log: silentLogger });
      xs = await XsClient.connect({ path: path.join(dir, 'xenstored', 'socket') });
      await hv.createDomain(4, { name: 'hooked', memoryMiB: 64 });
    });
    afterEach(async function () {
      xs.close();
      await hv.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('attach-devices writes both devices as libxl does (the xl create -p path)', async function () {
      const r = await xenvfbAsync(['attach-devices', '--domid', '4', '--sim-dir', dir]);
      assert.equal(r.status, 0, r.stdout);
      for (const kind of ['vfb', 'vkbd']) {
        assert.equal(await xs.read(`/local/domain/0/backend/${kind}/4/0/frontend`), `/local/domain/4/device/${kind}/0`);
        assert.equal(await xs.read(`/local/domain/4/device/${kind}/0/state`), '1');
      }
      assert.notEqual((await xenvfbAsync(['attach-devices', '--domid', '9', '--sim-dir', dir])).status, 0, 'no such domain');
    });

    it('device-model answers QMP, reports running, and leaves the domain to a running xenvfb watch', async function () {
      const ctl = path.join(dir, 'ctl');
      fs.mkdirSync(ctl);
      const watchSock = net.createServer((c) => c.destroy()).listen(path.join(ctl, 'watch.sock'));
      const qmp = path.join(dir, 'qmp-libxl-4');
      const dm = spawn(
        process.execPath,
        [XENVFB, 'device-model', '-xen-domid', '4', '-chardev', `socket,id=libxl-cmd,path=${qmp},server=on,wait=off`, '-name', 'hooked'],
        {
          env: { ...process.env, XENSTORED_PATH: path.join(dir, 'xenstored', 'socket'), XENVFB_CONTROL_DIR: ctl },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let log = '';
      dm.stdout!.on('data', (d: Buffer) => (log += d.toString()));
      try {
        const deadline = Date.now() + 15000;
        while ((await xs.tryRead('/local/domain/0/device-model/4/state')) !== 'running') {
          assert.ok(Date.now() < deadline, `no device-model state: ${log}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        const reply = await new Promise<string>((resolve, reject) => {
          const s = net.connect(qmp);
          let got = '';
          s.on('data', (d) => {
            got += d.toString();
            if (got.includes('"return"')) {
              s.destroy();
              resolve(got);
            } else if (got.includes('"QMP"')) s.write('{"execute":"qmp_capabilities"}');
          });
          s.on('error', reject);
        });
        assert.match(reply, /"QMP".*\r\n\{"return":\{\}\}/s);
        assert.match(log, /xenvfb watch answers on .*watch\.sock: it serves domain 4/);
        assert.doesNotMatch(log, /started xenvfb backend/);
      } finally {
        dm.kill('SIGTERM');
        watchSock.close();
      }
    });

    it('device-model without a watch daemon starts `xenvfb backend` for the domain itself', async function () {
      const ctl = path.join(dir, 'ctl');
      await xenvfbAsync(['attach-devices', '--domid', '4', '--sim-dir', dir]);
      const dm = spawn(process.execPath, [XENVFB, 'device-model', '-xen-domid', '4', '-name', 'hooked'], {
        env: { ...process.env, XENSTORED_PATH: path.join(dir, 'xenstored', 'socket'), XENVFB_CONTROL_DIR: ctl },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      dm.stdout!.on('data', (d: Buffer) => (log += d.toString()));
      let backendPid = 0;
      try {
        const deadline = Date.now() + 20000;
        while (!fs.existsSync(path.join(ctl, 'domain-4.sock'))) {
          assert.ok(Date.now() < deadline, `no backend control socket: ${log}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        backendPid = Number(/started xenvfb backend --domid 4: pid (\d+)/.exec(log)?.[1]);
        assert.ok(backendPid > 0, log);
      } finally {
        dm.kill('SIGTERM');
        if (backendPid > 0) process.kill(backendPid, 'SIGTERM');
        fs.rmSync('/run/xen/xenvfb-backend-4.pid', { force: true });
      }
    });
  });
});
