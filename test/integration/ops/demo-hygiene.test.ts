// The demo as a user runs it, and how it ends: a port in use stops it at once with one line
// naming the flag; SIGHUP (terminal closed), EPIPE (`xenvfb demo | head`) and SIGKILL of the
// demo leave no process and no /dev/shm entry behind; a guest that keeps failing is restarted
// with growing delays and then given up; serving without authentication on a non-loopback
// address prints a warning.

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { freeVncPort, XENVFB } from '../../helpers/demo-process';

const EX_CONFIG = 78;

interface Run {
  child: ChildProcess;
  out: string[];
  err: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitOut(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}, stdout: 'pipe' | 'ignore' = 'pipe'): Run {
  const child = spawn(process.execPath, [XENVFB, ...args], { stdio: ['ignore', stdout, 'pipe'], env: { ...process.env, ...env } });
  const out: string[] = [];
  const err: string[] = [];
  if (child.stdout) readline.createInterface({ input: child.stdout }).on('line', (l) => out.push(l));
  readline.createInterface({ input: child.stderr! }).on('line', (l) => err.push(l));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const waitOut = async (re: RegExp, timeoutMs = 30000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const l of out) {
        const m = l.match(re);
        if (m) return m;
      }
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`no line matching ${re}; stdout:\n${out.join('\n')}\nstderr:\n${err.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, out, err, exited, waitOut };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pids: number[], paths: string[], timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive) || paths.some((p) => fs.existsSync(p))) {
    if (Date.now() > deadline) {
      throw new Error(
        `still there after ${timeoutMs} ms: pids ${pids.filter(alive).join(',')} paths ${paths.filter((p) => fs.existsSync(p)).join(',')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function holdPort(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

/** Starts the demo with its own sim dir in /dev/shm (as `npm start` does) and waits for its banner. */
async function startDemo(extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ r: Run; pids: number[]; simDir: string }> {
  const port = await freeVncPort();
  const r = run(['demo', '--vnc', `127.0.0.1:${port}`, '--no-web', '--no-spice', ...extra], env);
  await r.waitOut(/Press Ctrl-C/, 40000);
  const pids = [r.child.pid!, Number((await r.waitOut(/^backend pid (\d+)/))[1]), Number((await r.waitOut(/^guest pid (\d+)/))[1])];
  const simDir = (await r.waitOut(/^ {2}sim dir {3}(\S+)/))[1]!;
  assert.ok(pids.every(alive) && fs.existsSync(simDir));
  return { r, pids, simDir };
}

describe('demo process hygiene', function () {
  this.timeout(60000);
  const runs: Run[] = [];
  afterEach(() => {
    for (const r of runs.splice(0)) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  });

  for (const flag of ['--vnc', '--web'] as const) {
    it(`a port in use (${flag}): exits ${EX_CONFIG} with one line naming ${flag}, starting nothing`, async function () {
      const taken = await freeVncPort();
      const holder = await holdPort(taken);
      try {
        const free = await freeVncPort();
        const args =
          flag === '--vnc'
            ? ['--vnc', `127.0.0.1:${taken}`, '--no-web', '--no-spice']
            : ['--vnc', `127.0.0.1:${free}`, '--web', `127.0.0.1:${taken}`, '--no-spice'];
        const r = run(['demo', ...args]);
        runs.push(r);
        const { code } = await r.exited;
        assert.equal(code, EX_CONFIG);
        assert.deepEqual(r.out, [], 'nothing started, nothing printed on stdout');
        assert.equal(r.err.length, 1, `one line, got:\n${r.err.join('\n')}`);
        assert.match(r.err[0]!, new RegExp(`127\\.0\\.0\\.1:${taken}.*in use.*${flag} HOST:PORT`));
      } finally {
        holder.close();
      }
    });
  }

  it('a backend run by hand on a port in use: exits 78 with a line naming --vnc (no crash loop, no stack)', async function () {
    const taken = await freeVncPort();
    const holder = await holdPort(taken);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-hyg-'));
    const sim = run(['sim', '--dir', dir, '--domain', '3']);
    runs.push(sim);
    try {
      await sim.waitOut(/xenstored on/);
      const r = run(['backend', '--domid', '3', '--sim-dir', dir, '--vnc', `127.0.0.1:${taken}`]);
      runs.push(r);
      const { code } = await r.exited;
      assert.equal(code, EX_CONFIG);
      const ours = r.err.filter((l) => l.startsWith('xenvfb backend:'));
      assert.equal(ours.length, 1, r.err.join('\n'));
      assert.match(ours[0]!, /in use.*--vnc HOST:PORT/);
      assert.ok(!r.err.some((l) => /^\s+at /.test(l)), 'no stack trace');
    } finally {
      holder.close();
      sim.child.kill('SIGTERM');
      await sim.exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kill -9 of `xenvfb sim`: a backend and a guest started by hand end by themselves', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-simkill-'));
    try {
      const sim = run(['sim', '--dir', dir, '--domain', '4']);
      runs.push(sim);
      await sim.waitOut(/xenstored on/);
      const backend = run(['backend', '--domid', '4', '--sim-dir', dir, '--vnc', '127.0.0.1:0']);
      const guest = run(['guest', '--domid', '4', '--sim-dir', dir]);
      runs.push(backend, guest);
      await guest.waitOut(/"event":"ready"/);
      // The backend is connected to xenstored once it has announced its listener.
      const deadline = Date.now() + 20000;
      while (!backend.err.some((l) => l.includes('backend started')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(
        backend.err.some((l) => l.includes('backend started')),
        backend.err.join('\n'),
      );
      sim.child.kill('SIGKILL');
      const [b, g] = await Promise.all([backend.exited, guest.exited]);
      assert.deepEqual([b.code, g.code], [1, 1]);
      // One line saying why (our own, or the device's write that found the connection closed).
      for (const p of [backend, guest]) {
        assert.ok(
          p.err.some((l) => /xenstore connection closed; stopping \(domain 4\)|^xenvfb: XS_\w+ on a closed connection/.test(l)),
          p.err.join('\n'),
        );
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the banner shows the address the backend really got (--vnc 127.0.0.1:0)', async function () {
    const r = run(['demo', '--vnc', '127.0.0.1:0', '--web', '127.0.0.1:0', '--no-spice']);
    runs.push(r);
    const vnc = await r.waitOut(/^ {2}VNC {7}127\.0\.0\.1:(\d+)/, 40000);
    const web = await r.waitOut(/^ {2}Web {7}http:\/\/127\.0\.0\.1:(\d+)\//);
    for (const port of [Number(vnc[1]), Number(web[1])]) {
      assert.ok(port > 0);
      const banner = await new Promise<Buffer>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('error', reject);
        s.once('data', (d) => {
          s.destroy();
          resolve(d);
        });
        if (port === Number(web[1])) s.write('GET / HTTP/1.0\r\n\r\n');
      });
      assert.match(banner.toString('latin1'), port === Number(vnc[1]) ? /^RFB 003\.008\n/ : /^HTTP\/1\.[01] /);
    }
    r.child.kill('SIGINT');
    assert.equal((await r.exited).code, 0);
  });

  for (const how of ['SIGHUP', 'SIGKILL'] as const) {
    it(`${how} of the demo: backend, guest and the /dev/shm sim dir are gone`, async function () {
      const { r, pids, simDir } = await startDemo();
      runs.push(r);
      assert.ok(simDir.startsWith('/dev/shm/') || simDir.startsWith(os.tmpdir()));
      r.child.kill(how);
      await r.exited;
      await waitGone(pids, [simDir]);
    });
  }

  it('EPIPE (`xenvfb demo | head -1`): everything ends, nothing left behind', async function () {
    const port = await freeVncPort();
    // A real shell pipeline: head exits after one line, the demo's next write fails with EPIPE.
    const sh = spawn('sh', ['-c', `"${process.execPath}" "${XENVFB}" demo --no-web --no-spice --vnc 127.0.0.1:${port} | head -1`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let first = '';
    sh.stdout!.on('data', (d: Buffer) => (first += d.toString()));
    await new Promise((r) => sh.once('exit', r));
    assert.match(first, /^backend pid \d+/);
    // The demo printed the sim dir nowhere we can read: look for any new demo dir and the processes by port.
    const deadline = Date.now() + 15000;
    for (;;) {
      const listening = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      });
      const demos = fs.readdirSync('/dev/shm').filter((n) => n.startsWith('xenvfb-demo-'));
      const stray = demos.filter((n) => fs.statSync(path.join('/dev/shm', n)).mtimeMs > Date.now() - 60000);
      if (!listening && stray.length === 0) break;
      if (Date.now() > deadline) throw new Error(`after EPIPE: port ${port} listening=${listening}, dirs ${stray.join(',')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  it('a guest that keeps failing (not a PNG): restarted with doubling delays, then given up with exit 1', async function () {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-bad-'));
    const bad = path.join(tmp, 'bad.png');
    fs.writeFileSync(bad, 'this is not a PNG');
    const port = await freeVncPort();
    const r = run(
      ['demo', '--vnc', `127.0.0.1:${port}`, '--no-web', '--no-spice', '--workload', 'still', '--image', bad, '--restart-limit', '3'],
      {
        XENVFB_RESTART_BASE_MS: '200',
      },
    );
    runs.push(r);
    const { code } = await r.exited;
    fs.rmSync(tmp, { recursive: true, force: true });
    assert.equal(code, 1);
    const delays = r.out
      .map((l) => /^guest exited .* restarting it in (\d+) ms/.exec(l)?.[1])
      .filter(Boolean)
      .map(Number);
    assert.deepEqual(delays, [200, 400, 800]);
    assert.ok(
      r.err.some((l) => /the guest exited 4 times in a row .*giving up/.test(l)),
      r.err.join('\n'),
    );
  });

  it('serving without authentication on a non-loopback address prints a warning (and not on 127.0.0.1)', async function () {
    const port = await freeVncPort();
    const exposed = run(['demo', '--vnc', `0.0.0.0:${port}`, '--no-web', '--no-spice']);
    runs.push(exposed);
    await exposed.waitOut(/Press Ctrl-C/, 40000);
    exposed.child.kill('SIGTERM');
    await exposed.exited;
    assert.ok(
      exposed.err.some((l) => /warning: serving 0\.0\.0\.0:\d+ \(--vnc\) without authentication.*--password-file/.test(l)),
      exposed.err.join('\n'),
    );
    const local = run(['demo', '--vnc', `127.0.0.1:${port}`, '--no-web', '--no-spice']);
    runs.push(local);
    await local.waitOut(/Press Ctrl-C/, 40000);
    local.child.kill('SIGTERM');
    await local.exited;
    assert.ok(!local.err.some((l) => /without authentication/.test(l)), local.err.join('\n'));
  });
});
