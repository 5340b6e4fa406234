// Issue 15 item 2: a client that never reads and floods messages the server must answer
// (SetEncodings with QEMU ExtendedKeyEvent: an ack per message; ClientFence requests;
// SetDesktopSize) must cost bounded memory: replies go through the session's one output path,
// which coalesces or drops the client past its bound, and the encode worker gets at most the
// latest encodings list per frame. Same over WebSocket. A reading bystander keeps its rate.

import { strict as assert } from 'node:assert';
import type * as net from 'node:net';
import WebSocket from 'ws';
import { VncServer } from '../../../backend/vnc/server';
import { RecordingInput } from '../../unit/vnc/helpers';
import {
  animatedDisplay,
  bystander,
  fenceMsg,
  mb,
  MiB,
  rssWatch,
  setDesktopSizeMsg,
  setEncodingsMsg,
  sleep,
  waitFor,
  spawnAttacker,
  interleavedRates,
  W,
  H,
} from './attack-helpers';

/** Bytes each flood sends (the 30 MB took +1.6 GB; this is enough to show the slope). */
const FLOOD_BYTES = 12 * MiB;
/** What the whole test process may grow by under one flood. */
const RSS_BOUND = 160 * MiB;
/** Over WebSocket: enough that replies pass the kernel buffers, the 4 MiB backlog and the 1 MiB bound. */
const WS_FLOOD_BYTES = 32 * MiB;

const QEMU_KEY = -258;
const FENCE = -312;
const EXT_DESKTOP_SIZE = -308;

interface Attack {
  name: string;
  encodings: number[];
  unit: Buffer;
}

const ATTACKS: Attack[] = [
  { name: 'SetEncodings[-258]', encodings: [], unit: setEncodingsMsg([QEMU_KEY]) },
  { name: 'ClientFence', encodings: [FENCE], unit: fenceMsg(64) },
  { name: 'SetDesktopSize', encodings: [EXT_DESKTOP_SIZE], unit: setDesktopSizeMsg(W, H) },
];

/** RFB over WebSocket up to ServerInit, then never read (the ws client's socket is paused). */
async function muteWs(port: number): Promise<{ ws: WebSocket; sock: net.Socket }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  ws.on('error', () => undefined);
  let buf = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (d: Buffer) => {
      const before = buf.length;
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 12 && before < 12) ws.send(Buffer.from('RFB 003.008\n\x01\x01', 'latin1'));
      if (buf.length < 13) return;
      const init = 13 + buf[12]! + 4;
      if (buf.length >= init + 24 && buf.length >= init + 24 + buf.readUInt32BE(init + 20)) resolve();
    });
    ws.once('close', () => reject(new Error('closed during the handshake')));
  });
  ws.removeAllListeners('message');
  const sock = (ws as unknown as { _socket: net.Socket })._socket;
  ws.pause(); // ws.pause(), not the socket's: ws resumes its socket by itself otherwise
  return { ws, sock };
}

describe('net: reply floods from a client that never reads (issue 15 item 2)', function () {
  this.timeout(60000);
  let server: VncServer;
  let port: number;
  let anim: ReturnType<typeof animatedDisplay>;

  beforeEach(async () => {
    anim = animatedDisplay();
    server = new VncServer({ display: anim.display, input: new RecordingInput(), encode: 'worker' });
    port = (await server.listen('127.0.0.1', 0)).port;
  });
  afterEach(async () => {
    anim.stop();
    await server.close();
  });

  for (const attack of ATTACKS) {
    it(`${attack.name}: bounded RSS, the bystander keeps >= 80% of its updates`, async () => {
      const viewer = await bystander(port);
      await sleep(300);
      const rss = rssWatch();
      const attacker = spawnAttacker(
        port,
        attack.unit,
        FLOOD_BYTES,
        attack.encodings.length ? setEncodingsMsg(attack.encodings) : undefined,
      );
      await waitFor(() => server.sessions >= 2, 5000, 'the attacker to connect');
      await sleep(200); // the attacker's process starts, connects and floods
      const { base, attacked } = await interleavedRates(viewer, attacker);
      const connected = server.sessions;
      attacker.kill();
      const sent = await attacker.done;
      const { maxGrowth } = rss.stop();
      const during = attacked;
      console.log(
        `      ${attack.name}: sent ${mb(sent)}, rss +${mb(maxGrowth)} (bound ${mb(RSS_BOUND)}), ` +
          `bystander ${base.toFixed(1)} -> ${during.toFixed(1)} updates/s (${((100 * during) / base).toFixed(0)}%, interleaved), ` +
          `attacker ${connected === 1 ? 'gone (finished or dropped)' : 'still connected'}`,
      );
      viewer.close();
      assert.ok(maxGrowth < RSS_BOUND, `rss grew ${mb(maxGrowth)}`);
      assert.ok(during >= 0.8 * base, `bystander ${during.toFixed(1)} of ${base.toFixed(1)} updates/s`);
    });
  }

  for (const attack of [ATTACKS[0]!, ATTACKS[1]!]) {
    it(`${attack.name} over WebSocket: bounded RSS`, async () => {
      const { ws, sock } = await muteWs(port);
      if (attack.encodings.length) ws.send(setEncodingsMsg(attack.encodings));
      const rss = rssWatch();
      const batch = Buffer.concat(Array.from({ length: Math.floor(65536 / attack.unit.length) }, () => attack.unit));
      let sent = 0;
      while (sent < WS_FLOOD_BYTES && ws.readyState === WebSocket.OPEN) {
        ws.send(batch);
        sent += batch.length;
        // The attacker's own ws queue stays small: wait for its socket to take the bytes.
        const t0 = Date.now();
        while (ws.bufferedAmount > 1 * MiB && ws.readyState === WebSocket.OPEN && Date.now() - t0 < 3000) await sleep(5);
        if (ws.bufferedAmount > 1 * MiB) break; // the server stopped reading (or dropped us)
      }
      // A dropped client is closed with a close frame it never reads: the socket goes after VNC_CLOSE_GRACE_MS.
      await waitFor(() => server.sessions === 0, 3000).catch(() => undefined);
      const { maxGrowth } = rss.stop();
      const state = server.sessions > 0 ? 'still connected' : 'dropped';
      console.log(`      ws ${attack.name}: sent ${mb(sent)}, rss +${mb(maxGrowth)} (bound ${mb(RSS_BOUND)}), attacker ${state}`);
      sock.destroy();
      assert.ok(maxGrowth < RSS_BOUND, `rss grew ${mb(maxGrowth)}`);
    });
  }
});
