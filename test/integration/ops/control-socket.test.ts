// The control socket of a backend, against a running demo (`xenvfb demo --workload still`):
// `xenvfb status --json`, `clients`, `screenshot` (pixel-exact against the guest's PNG),
// `disconnect`, `reload` of the password file (new connections need the new password, the
// connected client stays), the socket's 0600 mode, and typed errors for bad requests.

import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { DemoProcess, freeVncPort, XENVFB } from '../../helpers/demo-process';
import { TinyRfbClient } from '../../helpers/rfb-client';
import { blockImage } from '../../helpers/images';
import { vncAuthResponse } from '../../../backend/vnc/security/vnc-auth';
import { controlRequest } from '../../../backend/control/client';
import { isXenvfbError } from '../../../shared/errors';
import type { BackendStatus, ClientStatus } from '../../../backend/control/status';
import { CTL_MAX_LINE } from '../../../backend/control/protocol';

const run = promisify(execFile);

async function xenvfb(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [XENVFB, ...args], { maxBuffer: 64 << 20 });
  return stdout;
}

/** RFB 3.8 VNC authentication with `password`; resolves with the SecurityResult (0 = ok). */
async function vncAuth(port: number, password: string): Promise<number> {
  const sock = net.connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  const waiters: (() => void)[] = [];
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    waiters.splice(0).forEach((w) => w());
  });
  const read = async (n: number) => {
    while (buf.length < n) await new Promise<void>((r) => waiters.push(r));
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  };
  try {
    await read(12);
    sock.write('RFB 003.008\n');
    const types = [...(await read((await read(1))[0]!))];
    assert.ok(types.includes(2), `VNC auth offered (types ${types})`);
    sock.write(Buffer.from([2]));
    const challenge = await read(16);
    sock.write(vncAuthResponse(Buffer.from(password), challenge));
    return (await read(4)).readUInt32BE(0);
  } finally {
    sock.destroy();
  }
}

describe('control socket (xenvfb status / clients / screenshot / disconnect / reload)', function () {
  this.timeout(60000);
  let tmp: string;
  let demo: DemoProcess;
  let port: number;
  let image: PNG;
  let passwordFile: string;
  let sock: string;
  const where = () => ['--sim-dir', demo.simDir];

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-ctl-'));
    const imagePath = path.join(tmp, 'still.png');
    image = blockImage(1920, 1080, 32, 0xc0ffee).png;
    fs.writeFileSync(imagePath, PNG.sync.write(image));
    passwordFile = path.join(tmp, 'pw');
    fs.writeFileSync(passwordFile, 'first\n');
    port = await freeVncPort();
    // `none` stays offered so the test's plain client can connect; `vnc` checks the password.
    demo = DemoProcess.start([
      ...['--workload', 'still', '--image', imagePath, '--vnc', `127.0.0.1:${port}`, '--no-web', '--no-spice'],
      ...['--password-file', passwordFile, '--security', 'none,vnc'],
    ]);
    await demo.waitFor(/is connected/, 40000);
    sock = path.join(demo.simDir, 'control', 'domain-1.sock');
  });
  after(async function () {
    await demo?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the socket is root-only (0600) in a 0700 directory', function () {
    assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(sock)).mode & 0o777, 0o700);
  });

  it('status --json: devices Connected both ways, 1920x1080 geometry, the VNC listener, tile scans', async function () {
    const [s] = JSON.parse(await xenvfb(['status', '--json', ...where()])) as BackendStatus[];
    assert.ok(s);
    assert.equal(s.domid, 1);
    assert.deepEqual(s.geometry && [s.geometry.width, s.geometry.height], [1920, 1080]);
    assert.deepEqual(
      s.devices.map((d) => `${d.kind}/${d.devid} ${d.backendState} ${d.frontendState}`),
      ['vfb/0 Connected Connected', 'vkbd/0 Connected Connected'],
    );
    assert.deepEqual(s.servers, [{ protocol: 'vnc', listen: `127.0.0.1:${port}`, clients: 0 }]);
    const vfb = s.devices.find((d) => d.kind === 'vfb')!;
    assert.equal(vfb.dirtyTiles, true);
    assert.ok(vfb.tiles && vfb.tiles.scans > 0, 'tile scans counted');
    const text = await xenvfb(['status', ...where()]);
    assert.match(text, /^domain 1: 1920x1080 32bpp; vfb\/0 Connected\/Connected/);
  });

  it('screenshot -o FILE.png: the guest picture, pixel for pixel', async function () {
    const out = path.join(tmp, 'shot.png');
    assert.match(await xenvfb(['screenshot', '--domid', '1', '-o', out, ...where()]), /1920x1080/);
    const shot = PNG.sync.read(fs.readFileSync(out));
    assert.deepEqual([shot.width, shot.height], [1920, 1080]);
    let diff = 0;
    for (let i = 0; i < shot.data.length; i += 4) {
      if (shot.data[i] !== image.data[i] || shot.data[i + 1] !== image.data[i + 1] || shot.data[i + 2] !== image.data[i + 2]) diff++;
    }
    assert.equal(diff, 0);
  });

  it('clients shows a connected client with its address, encodings, bytes; disconnect closes it', async function () {
    const client = await TinyRfbClient.connect('127.0.0.1', port);
    client.startUpdates();
    const deadline = Date.now() + 10000;
    while (client.updates === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const local = `127.0.0.1:${(client as unknown as { sock: net.Socket }).sock.localPort}`;
    const list = JSON.parse(await xenvfb(['clients', '--domid', '1', '--json', ...where()])) as ClientStatus[];
    const me = list.find((c) => c.peer.endsWith(local.split(':')[1]!));
    assert.ok(me, `our client ${local} in ${JSON.stringify(list)}`);
    assert.equal(me.protocol, 'vnc');
    assert.ok(me.bytesOut > 1920 * 1080 * 4, 'at least one full frame sent');
    assert.ok(me.encodings && 'Raw' in me.encodings, `encodings ${JSON.stringify(me.encodings)}`);
    assert.match(await xenvfb(['clients', '--domid', '1', ...where()]), new RegExp(`client ${me.id} vnc .*encodings .*Raw`));
    const closed = new Promise<void>((r) => (client as unknown as { sock: net.Socket }).sock.once('close', () => r()));
    assert.match(await xenvfb(['disconnect', '--domid', '1', '--client', String(me.id), ...where()]), /disconnected/);
    await closed;
    client.close();
    await assert.rejects(controlRequest(sock, { op: 'disconnect', client: me.id }), (e: unknown) => isXenvfbError(e, 'CTL_E_FAILED'));
  });

  it('reload: new connections need the new password, a connected client stays', async function () {
    assert.equal(await vncAuth(port, 'first'), 0);
    const stay = await TinyRfbClient.connect('127.0.0.1', port);
    fs.writeFileSync(passwordFile, 'second\n');
    assert.equal(await vncAuth(port, 'second'), 1, 'not yet reloaded');
    assert.match(await xenvfb(['reload', '--domid', '1', ...where()]), /reloaded vnc/);
    assert.equal(await vncAuth(port, 'second'), 0);
    assert.equal(await vncAuth(port, 'first'), 1);
    const list = (await controlRequest(sock, { op: 'clients' })) as ClientStatus[];
    assert.equal(list.length, 1, 'the client connected before the reload is still there');
    stay.close();
  });

  it('bad requests get typed errors; an overlong line closes the connection', async function () {
    await assert.rejects(controlRequest(sock, { op: 'format-disk' }), (e: unknown) => {
      return isXenvfbError(e, 'CTL_E_FAILED') && e.details.remoteCode === 'CTL_E_REQUEST';
    });
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(sock);
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', () => undefined);
      s.write('x'.repeat(CTL_MAX_LINE + 10));
    });
    assert.match(reply, /"code":"CTL_E_REQUEST"/);
    await assert.rejects(
      controlRequest(path.join(demo.simDir, 'control', 'domain-9.sock'), { op: 'status' }),
      (e: unknown) => isXenvfbError(e, 'CTL_E_CONNECT') && /no backend is running/.test((e as Error).message),
    );
  });
});
