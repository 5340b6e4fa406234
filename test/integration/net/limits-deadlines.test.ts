// Issue 15 item 5: connection limits (total and per address) and deadlines for every stage
// before a client is served: 1,000 idle TCP connections used to stay forever; VeNCrypt
// handshakes stalled halfway and WebSocket request heads trickled a byte at a time too; a
// client past ClientInit hung forever while the guest had no surface. Deadlines are shortened
// here (the options object, backend/net/limits.ts) so the test takes seconds.

import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { VncServer } from '../../../backend/vnc/server';
import { WebServer } from '../../../backend/web/server';
import { captureLogger } from '../../helpers/capture-logger';
import { patternSurface, RecordingInput, TestDisplay } from '../../unit/vnc/helpers';
import { mb, rssWatch, sleep, waitFor } from './attack-helpers';

const STAGE_MS = 600;

function connect(port: number, localAddress = '127.0.0.1'): Promise<{ sock: net.Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const sock = net.connect({ port, host: '127.0.0.1', localAddress });
    sock.on('error', () => undefined);
    sock.on('data', () => undefined);
    const closed = new Promise<number>((r) => sock.once('close', () => r(performance.now() - t0)));
    sock.once('connect', () => resolve({ sock, closed }));
    sock.once('error', reject);
  });
}

function server(
  extra: ConstructorParameters<typeof VncServer>[0]['limits'] = {},
  opts: Partial<ConstructorParameters<typeof VncServer>[0]> = {},
): VncServer {
  return new VncServer({
    display: new TestDisplay(patternSurface(64, 32)),
    input: new RecordingInput(),
    encode: 'sync',
    limits: { handshakeStageMs: STAGE_MS, authResponseMs: STAGE_MS, surfaceWaitMs: STAGE_MS, httpHeadMs: STAGE_MS, ...extra },
    ...opts,
  });
}

describe('net: connection limits and pre-auth deadlines (issue 15 item 5)', function () {
  this.timeout(30000);

  it('1,000 idle connections: only the per-address limit is held, and those go at the stage deadline', async () => {
    const s = server();
    const { port } = await s.listen('127.0.0.1', 0);
    const rss = rssWatch();
    try {
      const conns = await Promise.all(Array.from({ length: 1000 }, () => connect(port).catch(() => null)));
      await sleep(200);
      const held = s.sessions;
      const { maxGrowth } = rss.stop();
      console.log(
        `      1000 idle connections: ${held} held (per-address limit ${s.limits.maxConnectionsPerAddress}), ` +
          `refused ${s.refused.address} by address / ${s.refused.total} by total; rss +${mb(maxGrowth)} (client sockets included)`,
      );
      assert.ok(held <= s.limits.maxConnectionsPerAddress, `${held} held`);
      const times = await Promise.all(conns.filter((c) => c !== null).map((c) => c!.closed));
      await waitFor(() => s.sessions === 0, 3000, 'every idle connection to go');
      console.log(`      all closed; the last after ${Math.round(Math.max(...times))} ms (stage deadline ${STAGE_MS} ms)`);
    } finally {
      await s.close();
    }
  });

  it('the total limit counts every address; the per-address limit each one', async () => {
    const s = server({ maxConnections: 6, maxConnectionsPerAddress: 4 });
    const { port } = await s.listen('127.0.0.1', 0);
    try {
      const a = await Promise.all(Array.from({ length: 5 }, () => connect(port, '127.0.0.1')));
      await sleep(150);
      assert.equal(s.sessions, 4);
      const b = await Promise.all(Array.from({ length: 3 }, () => connect(port, '127.0.0.2')));
      await sleep(150);
      assert.equal(s.sessions, 6);
      assert.deepEqual(s.refused, { address: 1, total: 1 });
      for (const c of [...a, ...b]) c.sock.destroy();
      await waitFor(() => s.sessions === 0, 2000, 'the connections to go');
      const again = await connect(port, '127.0.0.2');
      await sleep(150);
      assert.equal(s.sessions, 1, 'slots are given back on close');
      again.sock.destroy();
    } finally {
      await s.close();
    }
  });

  it('a VeNCrypt handshake stalled halfway (after the version ack; after the TLS subtype ack) is closed at the deadline', async () => {
    const log = captureLogger();
    const s = server({}, { security: { password: 'pw', types: ['tlsvnc'] }, log: log.logger, websocket: false });
    const { port } = await s.listen('127.0.0.1', 0);
    try {
      const half = await connect(port);
      half.sock.write(Buffer.from('RFB 003.008\n', 'latin1'));
      half.sock.write(Buffer.of(19)); // VeNCrypt
      half.sock.write(Buffer.of(0, 2)); // version 0.2, then nothing
      const tls = await connect(port);
      tls.sock.write(Buffer.concat([Buffer.from('RFB 003.008\n', 'latin1'), Buffer.of(19, 0, 2), Buffer.of(0, 0, 1, 2)])); // TLSVnc; no ClientHello
      const [t1, t2] = await Promise.all([half.closed, tls.closed]);
      console.log(
        `      stalled VeNCrypt closed after ${Math.round(t1)} ms, stalled TLS after ${Math.round(t2)} ms (deadline ${STAGE_MS} ms)`,
      );
      assert.ok(t1 >= STAGE_MS * 0.9 && t1 < STAGE_MS * 4, `${t1}`);
      assert.ok(t2 >= STAGE_MS * 0.9 && t2 < STAGE_MS * 4, `${t2}`);
      assert.ok(log.lines.some((l) => l.obj.code === 'RFB_E_TIMEOUT'));
    } finally {
      await s.close();
    }
  });

  it('a WebSocket request head trickled a byte at a time is closed at the head deadline (VNC port and web server)', async () => {
    const s = server();
    const { port } = await s.listen('127.0.0.1', 0);
    const web = new WebServer({ webSockets: [{ path: '/websockify', handler: s }], limits: { httpHeadMs: 1000 } });
    const webPort = (await web.listen('127.0.0.1', 0)).port;
    const head = 'GET /websockify HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Pad: ' + 'a'.repeat(200);
    try {
      const trickle = async (p: number): Promise<number> => {
        const c = await connect(p);
        let i = 0;
        const t = setInterval(() => !c.sock.destroyed && i < head.length && c.sock.write(head[i++]!), 100);
        const ms = await Promise.race([c.closed, sleep(8000).then(() => Infinity)]);
        clearInterval(t);
        c.sock.destroy();
        return ms;
      };
      const [vncMs, webMs] = await Promise.all([trickle(port), trickle(webPort)]);
      console.log(
        `      trickled head closed after ${Math.round(vncMs)} ms on the VNC port (deadline ${STAGE_MS}), ${Math.round(webMs)} ms on the web server (1000 + check interval)`,
      );
      assert.ok(vncMs < STAGE_MS * 4, `${vncMs}`);
      assert.ok(webMs < 1000 * 4, `${webMs}`);
    } finally {
      await web.close();
      await s.close();
    }
  });

  it('no guest surface: a client past ClientInit is closed with RFB_E_NO_SURFACE at the wait limit', async () => {
    const log = captureLogger();
    const s = new VncServer({
      display: new TestDisplay(null),
      input: new RecordingInput(),
      encode: 'sync',
      log: log.logger,
      limits: { surfaceWaitMs: STAGE_MS },
    });
    const { port } = await s.listen('127.0.0.1', 0);
    try {
      const c = await connect(port);
      c.sock.write(Buffer.from('RFB 003.008\n\x01\x01', 'latin1'));
      const ms = await c.closed;
      const line = log.lines.find((l) => l.obj.code === 'RFB_E_NO_SURFACE');
      console.log(`      closed after ${Math.round(ms)} ms: ${line?.obj.reason}`);
      assert.ok(line, 'the reason is logged with its code');
      assert.ok(ms >= STAGE_MS * 0.9 && ms < STAGE_MS * 4, `${ms}`);
    } finally {
      await s.close();
    }
  });
});
