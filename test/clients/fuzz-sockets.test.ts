// Socket-level fuzz: 50 connections complete a valid handshake, then send mutated client
// messages. Each must end with a typed error (code logged on 'vnc session closed'), the
// server must never fail internally, and a well-behaved client keeps receiving updates.

import { strict as assert } from 'node:assert';
import { RfbEncoding } from '../../backend/vnc/messages';
import { VncServer } from '../../backend/vnc/server';
import { captureLogger } from '../helpers/capture-logger';
import { RfbStreamClient } from '../helpers/rfb-stream-client';
import { patternSurface, RecordingInput, TestDisplay } from '../unit/vnc/helpers';

const CONNECTIONS = 50;
/** A message type no RFB extension uses: after whatever the fuzz left half-parsed, a sure error. */
const BAD_TYPE = 0xee;

function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % n;
}

/** Valid messages (SetPixelFormat, SetEncodings, FUR, Key, Pointer, CutText) with bytes flipped, plus noise. */
function fuzzBytes(seed: number): Buffer {
  const r = rng(seed);
  const valid = [
    Buffer.from([0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]),
    Buffer.from([2, 0, 0, 2, 0, 0, 0, 16, 0, 0, 0, 0]),
    Buffer.from([3, 1, 0, 0, 0, 0, 0, 64, 0, 32]),
    Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]),
    Buffer.from([5, 0, 0, 10, 0, 10]),
    Buffer.from([6, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x62, 0x63]),
  ];
  const parts: Buffer[] = [];
  for (let i = 0; i < 1 + r(6); i++) {
    const m = Buffer.from(valid[r(valid.length)]!);
    for (let k = 0; k < r(3); k++) m[r(m.length)] = r(256);
    parts.push(m);
  }
  parts.push(Buffer.from(Array.from({ length: r(64) }, () => r(256))));
  return Buffer.concat(parts);
}

async function fuzzConnection(port: number, seed: number): Promise<void> {
  const c = await RfbStreamClient.connect(port, { encodings: [RfbEncoding.Raw], loop: false });
  c.socket.removeAllListeners('data');
  c.socket.on('data', () => undefined);
  const closed = new Promise<void>((resolve) => c.socket.once('close', () => resolve()));
  c.socket.on('error', () => undefined);
  c.socket.write(fuzzBytes(seed));
  // Whatever message the fuzz left waiting for its body, a run of bad types ends it; a
  // ClientCutText may be discarding up to RFB_MAX_CUT_TEXT, so the run is longer than that.
  const pad = Buffer.alloc(16 * 1024, BAD_TYPE);
  let sent = 0;
  const timer = setInterval(() => {
    if (sent > 1100 * 1024 || c.socket.destroyed) return;
    c.socket.write(pad);
    sent += pad.length;
  }, 1);
  await closed;
  clearInterval(timer);
}

describe('vnc socket fuzz', function () {
  this.timeout(60000);

  it(`${CONNECTIONS} fuzzing connections each end with a typed error; a good client keeps getting updates`, async () => {
    const log = captureLogger();
    const display = new TestDisplay(patternSurface(64, 48));
    const server = new VncServer({ display, input: new RecordingInput(), websocket: false, log: log.logger });
    const { port } = await server.listen('127.0.0.1', 0);
    const ticker = setInterval(() => display.emit('damage', [{ x: 0, y: 0, width: 8, height: 8 }]), 5);
    try {
      const good = await RfbStreamClient.connect(port, { encodings: [RfbEncoding.Raw] });
      // Its first frame waits for the encode worker, started at its connection (an idle server
      // holds none): served before the fuzz starts, as a client already watching would be.
      const first = Date.now() + 10000;
      while (good.updates === 0 && Date.now() < first) await new Promise((r) => setTimeout(r, 20));
      const during: number[] = [];
      for (let batch = 0; batch < CONNECTIONS; batch += 10) {
        const before = good.updates;
        await Promise.all(Array.from({ length: 10 }, (_, i) => fuzzConnection(port, 1000 + batch + i)));
        during.push(good.updates - before);
      }
      const closes = log.lines.filter((l) => l.msg === 'vnc session closed' && l.obj.session !== 1);
      const failures = log.lines.filter((l) => l.level === 'error');
      const codes = new Map<string, number>();
      for (const l of closes) codes.set(String(l.obj.code), (codes.get(String(l.obj.code)) ?? 0) + 1);
      console.log(
        `      close codes: ${[...codes].map(([k, v]) => `${k} x${v}`).join(', ')}; good client updates per batch: ${during.join(', ')}`,
      );
      assert.deepEqual(failures, [], 'no internal errors');
      assert.equal(closes.length, CONNECTIONS);
      for (const l of closes) assert.match(String(l.obj.code), /^RFB_E_[A-Z_]+$/, JSON.stringify(l.obj));
      // A batch can end within one frame interval, so per-batch counts may be 0 on a busy
      // machine; what matters is that the good client was served during and after the fuzz.
      assert.ok(during.reduce((a, b) => a + b, 0) > 0, 'the good client got updates during the fuzz');
      const after = good.updates;
      const deadline = Date.now() + 5000;
      while (good.updates === after && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(good.updates > after, 'the good client still gets updates after the fuzz');
      assert.equal(good.closed, false);
      good.close();
    } finally {
      clearInterval(ticker);
      await server.close();
    }
  });
});
