// `xenvfb watch` on the simulator, as the toolstack drives it: the daemon is the only thing
// started by hand; creating a domain with vfb/vkbd devices (libxl's way, toolstack.ts) brings
// its console up on base + domid; two domains at once; kill -9 of a backend: the daemon
// restarts it, a VNC client reconnects and sees the same picture, and the guest keeps running
// (same process, no new "ready"); removing the devices and destroying the domain ends its
// backend within libxl's 10 s.

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { PNG } from 'pngjs';
import { SimHypervisor } from '../../../shared/platform/sim/hypervisor';
import { addDevice, removeDevice } from '../../../shared/platform/sim/toolstack';
import { XsClient } from '../../../shared/xenstore/client';
import { silentLogger } from '../../../shared/log';
import { XENVFB } from '../../helpers/demo-process';
import { TinyRfbClient } from '../../helpers/rfb-client';
import { blockImage } from '../../helpers/images';
import { controlRequest } from '../../../backend/control/client';
import { stopChild } from '../../helpers/stop-child';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base whose ports for domains 2 and 3 are free (VNC in 5900-5999: display numbers for VNC clients). */
async function freeBase(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 5905 + ((process.pid + i * 11) % 85);
    // VNC on base + domid, the web console on base + 200 + domid, for domains 2 and 3.
    const ports = [base + 2, base + 3, base + 202, base + 203];
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free port pair');
}

class Lines {
  readonly all: string[] = [];
  constructor(stream: NodeJS.ReadableStream) {
    readline.createInterface({ input: stream }).on('line', (l) => this.all.push(l));
  }
  async wait(re: RegExp, from = 0, timeoutMs = 30000): Promise<{ m: RegExpMatchArray; index: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.all.length; i++) {
        const m = this.all[i]!.match(re);
        if (m) return { m, index: i };
      }
      if (Date.now() > deadline) throw new Error(`no line matching ${re}:\n${this.all.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function get(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts) }));
      })
      .on('error', reject);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The first 12 bytes a VNC port sends to a client that opens with an HTTP request. */
function firstAnswerToHttp(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    let got = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < 12) return;
      resolve(got.subarray(0, 12).toString('latin1'));
      sock.destroy();
    });
    sock.once('error', reject);
  });
}

async function frame(port: number): Promise<Uint32Array> {
  const c = await TinyRfbClient.connect('127.0.0.1', port);
  c.startUpdates();
  const deadline = Date.now() + 15000;
  while (c.updates === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  c.close();
  assert.ok(c.updates > 0, `no frame from port ${port}`);
  return c.fb.slice();
}

describe('xenvfb watch (one supervised backend per domain, on the simulator)', function () {
  this.timeout(90000);
  let dir: string;
  let hv: SimHypervisor;
  let xs: XsClient;
  let watch: ChildProcess;
  let out: Lines;
  let err: Lines;
  let base: number;
  let page: string;
  const guests = new Map<number, { child: ChildProcess; lines: Lines }>();
  let expected: Uint32Array;
  let imagePath: string;

  before(async function () {
    dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'xenvfb-watch-'));
    imagePath = path.join(dir, 'still.png');
    const png = blockImage(640, 480, 16, 0xbeef).png;
    fs.writeFileSync(imagePath, PNG.sync.write(png));
    expected = new Uint32Array(640 * 480);
    for (let i = 0; i < expected.length; i++) expected[i] = (png.data[i * 4]! << 16) | (png.data[i * 4 + 1]! << 8) | png.data[i * 4 + 2]!;
    hv = await SimHypervisor.start({ dir, log: silentLogger });
    xs = await XsClient.connect({ path: path.join(dir, 'xenstored', 'socket') });
    base = await freeBase();
    // systemd's side of Type=notify: a recording systemd-notify on PATH and a NOTIFY_SOCKET.
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'systemd-notify'), `#!/bin/sh\necho "$NOTIFY_SOCKET $*" >> ${path.join(dir, 'notified')}\n`, {
      mode: 0o755,
    });
    watch = spawn(
      process.execPath,
      // --no-vnc-websocket: the VNC ports greet at once (checked below); noVNC stays on the web ports.
      [
        XENVFB,
        'watch',
        '--sim-dir',
        dir,
        '--port-base',
        String(base),
        '--web-base',
        String(base + 200),
        '--http',
        '127.0.0.1:0',
        '--no-vnc-websocket',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, XENVFB_RESTART_BASE_MS: '300', PATH: `${bin}:${process.env.PATH}`, NOTIFY_SOCKET: '/run/test-notify' },
      },
    );
    out = new Lines(watch.stdout!);
    err = new Lines(watch.stderr!);
    page = (
      await out.wait(
        /^xenvfb watch: ready: VNC port \d+\+domid on 127\.0\.0\.1; control .*watch\.sock; 0 domain\(s\); host page (http:\S+)\/$/,
      )
    ).m[1]!;
  });

  it('tells systemd it is ready (Type=notify through systemd-notify)', async function () {
    const notified = path.join(dir, 'notified');
    const deadline = Date.now() + 5000;
    while (!fs.existsSync(notified) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(fs.readFileSync(notified, 'utf8'), new RegExp(`^/run/test-notify --ready --pid=${watch.pid} --status=serving 0 domain`));
  });

  after(async function () {
    for (const g of guests.values()) g.child.kill('SIGTERM');
    const watchEnd = watch ? await stopChild(watch, { graceMs: 10000 }) : 'gone';
    xs?.close();
    await hv?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    assert.notEqual(watchEnd, 'killed', 'xenvfb watch did not exit within 10 s of SIGTERM');
  });

  async function createDomain(domid: number): Promise<void> {
    await hv.createDomain(domid, { name: `watch-${domid}`, memoryMiB: 64 });
    await addDevice(xs, { kind: 'vfb', domid, devid: 0 });
    await addDevice(xs, { kind: 'vkbd', domid, devid: 0 });
    const child = spawn(
      process.execPath,
      [XENVFB, 'guest', '--domid', String(domid), '--sim-dir', dir, '--workload', 'still', '--image', imagePath],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stderr!.resume();
    guests.set(domid, { child, lines: new Lines(child.stdout!) });
  }

  it('a new domain gets its console on base + domid with no other step; two domains at once', async function () {
    await createDomain(2);
    await createDomain(3);
    for (const domid of [2, 3]) {
      await out.wait(
        new RegExp(
          `^domain ${domid}: backend pid \\d+ serving VNC 127\\.0\\.0\\.1:${base + domid}, web http:\\/\\/127\\.0\\.0\\.1:${base + 200 + domid}\\/$`,
        ),
      );
      await guests.get(domid)!.lines.wait(/"event":"ready"/);
      assert.deepEqual(await frame(base + domid), expected, `domain ${domid} shows the guest's picture`);
      // --no-vnc-websocket reached the backend: an HTTP request first still gets the RFB greeting.
      assert.equal(await firstAnswerToHttp(base + domid), 'RFB 003.008\n');
    }
    const report = (await controlRequest(path.join(dir, 'control', 'watch.sock'), { op: 'status' })) as Array<{
      domid: number;
      state: string;
    }>;
    assert.deepEqual(
      report.map((r) => `${r.domid} ${r.state}`),
      ['2 running', '3 running'],
    );
  });

  it('the host page lists both domains with names, web console links and live thumbnails', async function () {
    const html = (await get(`${page}/`)).body.toString('utf8');
    for (const domid of [2, 3]) {
      assert.match(
        html,
        new RegExp(
          `<tr data-domid="${domid}"><td>${domid}</td><td>watch-${domid}</td><td>running</td><td>127\\.0\\.0\\.1:${base + domid}</td>`,
        ),
      );
      assert.match(html, new RegExp(`href="http://127\\.0\\.0\\.1:${base + 200 + domid}/"`));
      const thumb = await get(`${page}/thumb/${domid}.png`);
      assert.equal(thumb.status, 200);
      const png = PNG.sync.read(thumb.body);
      assert.deepEqual([png.width, png.height], [320, 240], 'the 640x480 guest at half size');
      // Nearest neighbour at half size: thumbnail pixel (x, y) is guest pixel (2x, 2y).
      for (const [x, y] of [
        [0, 0],
        [100, 50],
        [319, 239],
      ] as const) {
        const i = (y * 320 + x) * 4;
        const rgb = (png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!;
        assert.equal(rgb, expected[2 * y * 640 + 2 * x], `thumbnail pixel ${x},${y}`);
      }
    }
    assert.equal((await get(`${page}/thumb/9.png`)).status, 404);
  });

  it('kill -9 of a backend: restarted, the client reconnects to the same picture, the guest keeps running', async function () {
    const { m, index } = await out.wait(/^domain 2: backend pid (\d+) serving/);
    const pid = Number(m[1]);
    const guest = guests.get(2)!;
    const readies = guest.lines.all.filter((l) => l.includes('"event":"ready"')).length;
    process.kill(pid, 'SIGKILL');
    const again = await out.wait(/^domain 2: backend pid (\d+) serving/, index + 1);
    assert.notEqual(Number(again.m[1]), pid);
    await err.wait(/^warn: domain 2: backend exited \(SIGKILL\); restarting in 300 ms \(failure 1\)$/);
    assert.deepEqual(await frame(base + 2), expected, 'the same picture after the restart');
    assert.equal(guest.child.exitCode, null, 'the guest process is still running');
    assert.equal(guest.lines.all.filter((l) => l.includes('"event":"ready"')).length, readies, 'the guest did not start over');
  });

  it('the toolstack removes the devices and destroys the domain: its backend ends within 10 s', async function () {
    const { m } = await out.wait(/^domain 3: backend pid (\d+) serving/);
    const pid = Number(m[1]);
    const started = Date.now();
    // libxl: online=0, Closing, wait for the backend's Closed, remove; then the domain goes.
    assert.equal(await removeDevice(xs, { kind: 'vfb', domid: 3, devid: 0 }), true, 'the backend answered the teardown');
    assert.equal(await removeDevice(xs, { kind: 'vkbd', domid: 3, devid: 0 }), true);
    guests.get(3)!.child.kill('SIGTERM');
    await hv.destroyDomain(3);
    while (alive(pid) && Date.now() - started < 10000) await new Promise((r) => setTimeout(r, 100));
    assert.ok(!alive(pid), 'backend of domain 3 still running 10 s after the teardown started');
    await out.wait(/^domain 3: its devices are gone; stopping its backend/);
    assert.equal(await portFree(base + 3), true, 'its VNC port is free again');
    assert.deepEqual(await frame(base + 2), expected, 'domain 2 is still served');
  });

  it('survives a xenstored restart: reconnects, forgets the vanished domain, serves a new one', async function () {
    const from = out.all.length;
    guests.get(2)!.child.kill('SIGTERM');
    guests.delete(2);
    xs.close();
    await hv.stop(); // xenstored (and the whole simulated host) goes away
    await err.wait(/^warn: xenstore connection lost; reconnecting/);
    hv = await SimHypervisor.start({ dir, log: silentLogger });
    xs = await XsClient.connect({ path: path.join(dir, 'xenstored', 'socket') });
    await out.wait(/^xenstore connected; watching/, from);
    await out.wait(/^domain 2: its devices are gone; stopping its backend/, from);
    await createDomain(3);
    await out.wait(new RegExp(`^domain 3: backend pid \\d+ serving VNC 127\\.0\\.0\\.1:${base + 3}, web `), from);
    assert.deepEqual(await frame(base + 3), expected);
  });
});
