// `xenvfb backend --no-vnc-websocket` and `xenvfb replay --no-vnc-websocket`: the flag reaches
// the VNC server. A client that opens with an HTTP upgrade request gets the RFB greeting (no
// sniffing), where a backend started without the flag answers it in HTTP (websocket/sniff.ts).
// (`xenvfb watch --no-vnc-websocket` is checked in watch.test.ts.)

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { SimHypervisor } from '../../../shared/platform/sim/hypervisor';
import { addDevice } from '../../../shared/platform/sim/toolstack';
import { XsClient } from '../../../shared/xenstore/client';
import { silentLogger } from '../../../shared/log';
import { XENVFB_NODE_FLAGS } from '../../../shared/node-flags';
import { freeVncPort } from '../../helpers/demo-process';
import { ReplayProcess } from '../../helpers/replay-process';
import { writeSyntheticCapture } from '../../helpers/synthetic-capture';

const BIN = path.join(__dirname, '..', '..', '..', 'scripts', 'bin', 'xenvfb.js');
const UPGRADE =
  'GET /websockify HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

function listeningPort(child: ChildProcess, timeoutMs = 60000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the backend did not print its "listening" event')), timeoutMs);
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      if (!/"event":"listening"/.test(l)) return;
      clearTimeout(timer);
      resolve(Number((JSON.parse(l) as { vnc: string }).vnc.split(':').pop()));
    });
  });
}

/** The first bytes the server sends to a client that writes an HTTP upgrade request at once. */
function firstAnswer(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(UPGRADE));
    sock.once('data', (d: Buffer) => {
      resolve(d.subarray(0, 12).toString('latin1'));
      sock.destroy();
    });
    sock.once('error', reject);
  });
}

describe('xenvfb backend --no-vnc-websocket', function () {
  this.timeout(120000);
  let dir: string;
  let hv: SimHypervisor;
  let xs: XsClient;
  const children: ChildProcess[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'xenvfb-nows-'));
    hv = await SimHypervisor.start({ dir, log: silentLogger });
    xs = await XsClient.connect({ path: path.join(dir, 'xenstored', 'socket') });
    for (const domid of [1, 2]) {
      await hv.createDomain(domid, { name: `nows-${domid}`, memoryMiB: 64 });
      await addDevice(xs, { kind: 'vfb', domid, devid: 0 });
      await addDevice(xs, { kind: 'vkbd', domid, devid: 0 });
    }
  });

  after(async () => {
    const exited = children.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r))));
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(exited);
    xs?.close();
    await hv?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = (domid: number, extra: string[]): Promise<number> => {
    const args = [...XENVFB_NODE_FLAGS, BIN, 'backend', '--domid', String(domid), '--sim-dir', dir, '--vnc', '127.0.0.1:0', ...extra];
    // Supervised (fd 3, as the demo and the watch daemon start it): it prints its "listening" event.
    const env = { ...process.env, XENVFB_PARENT_FD: '3', XENVFB_LOG_LEVEL: 'warn' };
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
    children.push(child);
    return listeningPort(child);
  };

  it('greets an HTTP client in RFB with the flag, answers it in HTTP without', async () => {
    const [plain, sniffing] = await Promise.all([start(1, ['--no-vnc-websocket']), start(2, [])]);
    assert.equal(await firstAnswer(plain), 'RFB 003.008\n');
    assert.equal(await firstAnswer(sniffing), 'HTTP/1.1 101');
  });

  it('replay: greets an HTTP client in RFB with the flag', async () => {
    const file = path.join(dir, 'synth.xvc');
    writeSyntheticCapture(file, { frames: 2 });
    const port = await freeVncPort();
    const replay = ReplayProcess.start([file, '--vnc', `127.0.0.1:${port}`, '--paused', '--no-vnc-websocket']);
    try {
      await replay.waitFor(/^\s+VNC\s/);
      assert.equal(await firstAnswer(port), 'RFB 003.008\n');
    } finally {
      await replay.stop();
    }
  });
});
