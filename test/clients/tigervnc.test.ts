// xtigervncviewer (TigerVNC, GnuTLS) against VncServer under Xvfb: VeNCrypt TLSNone, X509Vnc
// with a self-signed certificate, plain VNC auth, and a refused wrong password. Each success
// is checked on a screenshot of the X root: the test pattern must be found pixel-exact at the
// viewer window. Missing binaries make the tests pending with the reason.

import { strict as assert } from 'node:assert';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Logger } from '../../shared/log';
import { VncServer } from '../../backend/vnc/server';
import { patternRgb, patternSurface, RecordingInput, TestDisplay } from '../unit/vnc/helpers';
import { stopChild } from '../helpers/stop-child';

const WIDTH = 200;
const HEIGHT = 120;
const SCREEN = { width: 640, height: 480 };
const PASSWORD = 'secret12';
/** TigerVNC's obfuscated form of "secret12" (vncpasswd: DES with the fixed key of TigerVNC common/rfb/obfuscate.cxx), written independently of our code. */
const SECRET12_PASSWD_FILE = Buffer.from('24b5ae4ce15503c6', 'hex');
const SHOT_DEADLINE_MS = 8000;

function which(bin: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function missingBinaries(): string[] {
  const missing = ['Xvfb', 'xtigervncviewer', 'openssl', 'import'].filter((b) => !which(b));
  if (missing.length === 0 && !/ImageMagick/.test(spawnSync('import', ['-version'], { encoding: 'utf8' }).stdout ?? ''))
    missing.push('import (ImageMagick)');
  return missing;
}

interface LogRecord {
  level: string;
  obj: Record<string, unknown>;
  msg?: string;
}

function recordingLogger(records: LogRecord[]): Logger {
  const at = (level: string) => (obj: object | string, msg?: string) => {
    records.push(typeof obj === 'string' ? { level, obj: {}, msg: obj } : { level, obj: obj as Record<string, unknown>, msg });
  };
  const log: Logger = { info: at('info'), warn: at('warn'), debug: at('debug'), error: at('error'), child: () => log };
  return log;
}

/** Start Xvfb on a free display number (-displayfd). */
async function startXvfb(): Promise<{ proc: ChildProcess; display: string }> {
  const proc = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', `${SCREEN.width}x${SCREEN.height}x24`, '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  const display = await new Promise<string>((resolve, reject) => {
    let text = '';
    proc.stdio[3]!.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) resolve(`:${text.trim()}`);
    });
    proc.once('exit', (code) => reject(new Error(`Xvfb exited (${code})`)));
    setTimeout(() => reject(new Error('Xvfb did not report its display')), 5000);
  });
  return { proc, display };
}

/** The X root as RGB bytes. */
function screenshot(display: string): Buffer {
  return execFileSync('import', ['-display', display, '-window', 'root', '-depth', '8', 'rgb:-'], { maxBuffer: 64 << 20 });
}

/** Where the whole WIDTHxHEIGHT pattern is on the screen, pixel-exact; null if nowhere. */
function findPattern(rgb: Buffer): { x: number; y: number } | null {
  const [ax, ay] = [3, 2]; // anchor: a non-black pixel of the pattern
  const anchor = patternRgb(ax, ay);
  const at = (x: number, y: number, c: number) => rgb[(y * SCREEN.width + x) * 3 + c]!;
  for (let y = ay; y <= SCREEN.height - HEIGHT + ay; y++) {
    for (let x = ax; x <= SCREEN.width - WIDTH + ax; x++) {
      if (at(x, y, 0) !== anchor[0] || at(x, y, 1) !== anchor[1] || at(x, y, 2) !== anchor[2]) continue;
      const [ox, oy] = [x - ax, y - ay];
      if (regionMatches(rgb, ox, oy)) return { x: ox, y: oy };
    }
  }
  return null;
}

function regionMatches(rgb: Buffer, ox: number, oy: number): boolean {
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const i = ((oy + y) * SCREEN.width + ox + x) * 3;
      const [r, g, b] = patternRgb(x, y);
      if (rgb[i] !== r || rgb[i + 1] !== g || rgb[i + 2] !== b) return false;
    }
  }
  return true;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('xtigervncviewer: VNC security (VeNCrypt, VNC auth) with screenshots', function () {
  this.timeout(30000);
  const missing = missingBinaries();
  let xvfb: { proc: ChildProcess; display: string } | undefined;
  let server: VncServer;
  let display: TestDisplay;
  let port = 0;
  let dir = '';
  const records: LogRecord[] = [];
  const viewers: ChildProcess[] = [];

  before(async function () {
    if (missing.length > 0) {
      console.log(`      pending: missing ${missing.join(', ')} (scripts/setup-test-deps.sh installs them)`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-tigervnc-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    fs.writeFileSync(path.join(dir, 'good.passwd'), SECRET12_PASSWD_FILE);
    const wrong = spawnSync('vncpasswd', ['-f'], { input: 'wrongpw1\n' });
    fs.writeFileSync(
      path.join(dir, 'wrong.passwd'),
      wrong.status === 0 && wrong.stdout.length === 8 ? wrong.stdout : Buffer.alloc(8, 0x55),
    );
    xvfb = await startXvfb();
    server = new VncServer({
      display: (display = new TestDisplay(patternSurface(WIDTH, HEIGHT), 'tigervnc test')),
      input: new RecordingInput(),
      log: recordingLogger(records),
      security: {
        password: PASSWORD,
        tls: { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') },
        types: ['x509vnc', 'tlsvnc', 'tlsnone', 'vnc'],
      },
    });
    port = (await server.listen('127.0.0.1', 0)).port;
  });

  afterEach(async () => {
    for (const v of viewers.splice(0)) {
      if ((await stopChild(v)) === 'killed') console.log('      (xtigervncviewer ignored SIGTERM for 3 s; killed)');
    }
    records.length = 0;
  });

  after(async () => {
    await server?.close();
    if (xvfb) await stopChild(xvfb.proc);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function viewer(args: string[]): { proc: ChildProcess; stderr: () => string } {
    let err = '';
    const proc = spawn(
      'xtigervncviewer',
      ['-Shared', '-AutoSelect=0', '-PreferredEncoding=Raw', '-FullColor', '-Log', '*:stderr:30', ...args, `127.0.0.1::${port}`],
      { env: { ...process.env, DISPLAY: xvfb!.display, HOME: dir }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    viewers.push(proc);
    return { proc, stderr: () => err };
  }

  async function expectPatternOnScreen(v: { proc: ChildProcess; stderr: () => string }): Promise<void> {
    const deadline = Date.now() + SHOT_DEADLINE_MS;
    while (Date.now() < deadline) {
      if (v.proc.exitCode !== null) assert.fail(`viewer exited ${v.proc.exitCode}: ${v.stderr()}`);
      const found = findPattern(screenshot(xvfb!.display));
      if (found) return;
      await sleep(150);
    }
    assert.fail(`pattern not on screen after ${SHOT_DEADLINE_MS} ms; server: ${JSON.stringify(records)}; viewer: ${v.stderr()}`);
  }

  function securityUsed(): unknown {
    return records.find((r) => r.msg === 'vnc client authenticated')?.obj.security;
  }

  it('VeNCrypt TLSNone (anonymous TLS 1.2)', async () => {
    const v = viewer(['-SecurityTypes', 'TLSNone']);
    await expectPatternOnScreen(v);
    assert.equal(securityUsed(), 'tlsnone');
    assert.ok(records.some((r) => r.msg === 'TLS established' && r.obj.tls === 'TLSv1.2'));
  });

  it('VeNCrypt X509Vnc with a self-signed certificate (-X509CA) and -PasswordFile', async () => {
    const v = viewer(['-SecurityTypes', 'X509Vnc', '-X509CA', path.join(dir, 'cert.pem'), '-PasswordFile', path.join(dir, 'good.passwd')]);
    await expectPatternOnScreen(v);
    assert.equal(securityUsed(), 'x509vnc');
  });

  it('plain VNC auth (type 2) with -PasswordFile', async () => {
    const v = viewer(['-SecurityTypes', 'VncAuth', '-PasswordFile', path.join(dir, 'good.passwd')]);
    await expectPatternOnScreen(v);
    assert.equal(securityUsed(), 'vnc');
  });

  it('continuous updates and fences on: the picture, then a guest resize (ExtendedDesktopSize) and the larger picture', async () => {
    const v = viewer(['-SecurityTypes', 'VncAuth', '-PasswordFile', path.join(dir, 'good.passwd')]);
    await expectPatternOnScreen(v);
    const cu = () => records.find((r) => r.msg === 'EnableContinuousUpdates' && r.obj.enable === true);
    const deadline = Date.now() + SHOT_DEADLINE_MS;
    while (!cu() && Date.now() < deadline) await sleep(50);
    assert.ok(cu(), `the viewer never enabled continuous updates; viewer: ${v.stderr()}`);
    const [bigW, bigH] = [WIDTH + 60, HEIGHT + 30];
    try {
      display.setSurface(patternSurface(bigW, bigH));
      const probe = [bigW - 5, bigH - 3] as const; // only on screen once the viewer took the new size
      const want = patternRgb(probe[0], probe[1]);
      for (;;) {
        const rgb = screenshot(xvfb!.display);
        const at = findPattern(rgb);
        const i = at ? ((at.y + probe[1]) * SCREEN.width + at.x + probe[0]) * 3 : -1;
        if (at && rgb[i] === want[0] && rgb[i + 1] === want[1] && rgb[i + 2] === want[2]) break;
        if (Date.now() > deadline + SHOT_DEADLINE_MS) assert.fail(`the resized picture never showed; viewer: ${v.stderr()}`);
        await sleep(150);
      }
      assert.equal(v.proc.exitCode, null, 'the viewer is still connected');
    } finally {
      display.setSurface(patternSurface(WIDTH, HEIGHT));
    }
  });

  it('a wrong password is refused (RFB_E_AUTH_FAILED) and nothing is shown', async () => {
    const v = viewer(['-SecurityTypes', 'VncAuth', '-PasswordFile', path.join(dir, 'wrong.passwd')]);
    const deadline = Date.now() + SHOT_DEADLINE_MS;
    const failed = () => records.some((r) => r.obj.code === 'RFB_E_AUTH_FAILED');
    while (!failed() && Date.now() < deadline) await sleep(50);
    assert.ok(failed(), `no auth failure logged; viewer: ${v.stderr()}`);
    assert.equal(securityUsed(), undefined);
    assert.equal(findPattern(screenshot(xvfb!.display)), null);
  });
});
