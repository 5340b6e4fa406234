// Fuzz (fast-check) of the HTTP/WebSocket side, over real sockets: mutated upgrade requests
// (request line, target, headers, key, version, garbage) to the VNC port's own gateway and
// to the web server, and mutated WebSocket frames after a good upgrade. Each connection must
// end in an HTTP answer, a WebSocket, or a close; the servers must keep serving RFB and pages
// afterwards. Plain fast-check (see rfb-client-messages.test.ts).

import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import fc from 'fast-check';
import { VncServer } from '../../backend/vnc/server';
import { WebServer } from '../../backend/web/server';
import { patternSurface, RecordingInput, TestDisplay } from '../unit/vnc/helpers';

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);

const GOOD =
  'GET /websockify HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: binary\r\n\r\n';

/** Send bytes, collect the answer until close or a short quiet time. */
function exchange(port: number, bytes: Buffer, quietMs = 150): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    let timer = setTimeout(() => s.destroy(), quietMs * 4);
    s.on('error', () => undefined);
    s.on('data', (d) => {
      got += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => s.destroy(), quietMs);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on('connect', () => s.write(bytes));
  });
}

const head = fc
  .tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.uint8Array({ maxLength: 64 }), fc.boolean())
  .map(([edits, tail, frame]) => {
    const b = Buffer.from(GOOD, 'latin1');
    for (const [at, v] of edits) b[at % b.length] = v;
    // After the head: random bytes, or a masked binary frame of them (client frames must be masked).
    const t = Buffer.from(tail);
    const body = frame ? Buffer.concat([Buffer.of(0x82, 0x80 | Math.min(t.length, 125), 1, 2, 3, 4), t.subarray(0, 125)]) : t;
    return Buffer.concat([b, body]);
  });

describe('fuzz: WebSocket gateway and web server heads', function () {
  this.timeout(120000);
  let vnc: VncServer;
  let web: WebServer;
  let vncPort: number;
  let webPort: number;

  before(async () => {
    vnc = new VncServer({
      display: new TestDisplay(patternSurface(64, 32)),
      input: new RecordingInput(),
      encode: 'sync',
      limits: { httpHeadMs: 1000 },
    });
    web = new WebServer({ webSockets: [{ path: '/websockify', handler: vnc }], limits: { httpHeadMs: 1000 } });
    vncPort = (await vnc.listen('127.0.0.1', 0)).port;
    webPort = (await web.listen('127.0.0.1', 0)).port;
  });
  after(async () => {
    await web.close();
    await vnc.close();
  });

  it(`mutated upgrade heads and frames to both ports (${RUNS} runs each): answered or closed, servers still serve`, async () => {
    const statuses = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(head, async (bytes) => {
        for (const port of [vncPort, webPort]) {
          const answer = await exchange(port, bytes);
          const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? (answer.startsWith('RFB') ? 'RFB' : answer.length ? 'other' : 'closed');
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
      { numRuns: RUNS },
    );
    console.log(`      answers: ${[...statuses].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    assert.ok((await exchange(vncPort, Buffer.alloc(0))).startsWith('RFB 003.008\n'), 'the VNC port still speaks RFB');
    assert.match(await exchange(webPort, Buffer.from('GET /vnc.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')), /^HTTP\/1\.1 200/);
  });
});
