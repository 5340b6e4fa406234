// Encode workers behind the VNC server (XENVFB_VNC_ENCODE=worker): a slow 1080p Tight JPEG
// encode no longer blocks the event loop, frames still decode right, a crashed worker closes
// only its own session, and closed sessions leave no worker behind.

import { strict as assert } from 'node:assert';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PIXEL_FORMAT_XRGB8888 } from '../../backend/display/pixel-format';
import type { Surface } from '../../backend/display/display';
import { type EncodedFrame, encodeWholeFrame, type FrameEncoder, type FrameJob, SyncFrameEncoder } from '../../backend/vnc/encode-frame';
import { EncodeManager } from '../../backend/vnc/encode-manager';
import { RfbEncoding } from '../../backend/vnc/messages';
import { VncServer } from '../../backend/vnc/server';
import { ENCODE_WORKER_IDLE_MS } from '../../backend/updates/encode-pool';
import { liveEncodeWorkers, rfbEncodePool, WorkerFrameEncoder } from '../../backend/vnc/worker-frame-encoder';
import { RfbStreamClient } from '../helpers/rfb-stream-client';
import { decodeTight, Inflater } from '../unit/vnc/encoders/reference-decoders';
import { RecordingInput, TestDisplay } from '../unit/vnc/helpers';
import { waitFor } from '../helpers/wait-for';

const W = 1920;
const H = 1080;
const JPEG_ENCODINGS = [RfbEncoding.Tight, -32 + 7, -256 + 2];

function noiseSurface(seed: number): Surface {
  const data = new Uint8Array(W * H * 4);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i += 4) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    // Smooth-ish photo content with noise on top: many colours, high entropy -> JPEG.
    const x = (i >> 2) % W;
    const y = Math.floor((i >> 2) / W);
    data[i] = (x + (s & 31)) & 255;
    data[i + 1] = (y + ((s >> 8) & 31)) & 255;
    data[i + 2] = ((x ^ y) + ((s >> 16) & 31)) & 255;
  }
  return { width: W, height: H, stride: W * 4, format: PIXEL_FORMAT_XRGB8888, data };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Encode `frames` full-screen frames one after another while a 1 ms timer probes the loop. */
async function blockingRun(
  enc: FrameEncoder,
  manager: EncodeManager,
  frames: Surface[],
): Promise<{ p99: number; max: number; out: EncodedFrame[] }> {
  manager.setClientEncodings(JPEG_ENCODINGS);
  enc.encodingsChanged(JPEG_ENCODINGS);
  const rects = manager.split([{ x: 0, y: 0, width: W, height: H }]).map((rect) => ({ rect }));
  // Give the worker its start-up before measuring.
  await new Promise<void>((r) =>
    enc.encode(
      frames[0]!,
      { clientFormat: PIXEL_FORMAT_XRGB8888, copies: [], rects: [{ rect: { x: 0, y: 0, width: 8, height: 8 } }] },
      () => r(),
    ),
  );
  const h = monitorEventLoopDelay({ resolution: 1 });
  const probe = setInterval(() => undefined, 1);
  h.enable();
  const out: EncodedFrame[] = [];
  for (const s of frames) {
    const job: FrameJob = { clientFormat: PIXEL_FORMAT_XRGB8888, copies: [], rects };
    // A macrotask boundary per frame, as a session's damage / request handler would be.
    await sleep(0);
    out.push(await new Promise<EncodedFrame>((r) => encodeWholeFrame(enc, s, job, r)));
  }
  await sleep(5);
  h.disable();
  clearInterval(probe);
  enc.close();
  return { p99: h.percentile(99) / 1e6, max: h.max / 1e6, out };
}

describe('vnc encode worker (server, 1080p)', function () {
  this.timeout(120000);

  it('a 1080p Tight JPEG encode in the worker does not block the event loop; frames decode right', async () => {
    const frames = [noiseSurface(1), noiseSurface(2)];
    const syncManager = new EncodeManager();
    const sync = await blockingRun(new SyncFrameEncoder(syncManager), syncManager, frames);
    const worker = await blockingRun(new WorkerFrameEncoder({ onError: (e) => assert.fail(e) }), new EncodeManager(), frames);
    // The figures are printed, not asserted (scripts/bench/vnc-blocking.ts measures them).
    console.log(
      `      event-loop delay, 1080p Tight JPEG q7: sync p99 ${sync.p99.toFixed(1)} ms max ${sync.max.toFixed(1)} ms; ` +
        `worker p99 ${worker.p99.toFixed(1)} ms max ${worker.max.toFixed(1)} ms`,
    );
    // What makes the worker path non-blocking, checked without a clock: the event loop runs
    // while a 1080p frame is in the worker; the sync twin hands it back before encode() returns.
    const m = new EncodeManager();
    m.setClientEncodings(JPEG_ENCODINGS);
    const job: FrameJob = {
      clientFormat: PIXEL_FORMAT_XRGB8888,
      copies: [],
      rects: m.split([{ x: 0, y: 0, width: W, height: H }]).map((rect) => ({ rect })),
    };
    for (const [name, enc, loopRuns] of [
      ['worker', new WorkerFrameEncoder({ onError: (e) => assert.fail(e) }), true],
      ['sync', new SyncFrameEncoder(m), false],
    ] as const) {
      enc.encodingsChanged(JPEG_ENCODINGS);
      let ticked = false;
      const immediate = setImmediate(() => (ticked = true));
      const tickedAtDone = await new Promise<boolean>((r) => enc.encode(frames[0]!, job, () => r(ticked)));
      clearImmediate(immediate);
      enc.close();
      assert.equal(tickedAtDone, loopRuns, `${name}: the event loop ${loopRuns ? 'ran' : 'did not run'} during the encode`);
    }
    // Same bytes both ways, and they decode (reference decoders) to the frame within JPEG error.
    const inflaters = [0, 1, 2, 3].map(() => new Inflater());
    worker.out.forEach((f, n) => {
      assert.ok(Buffer.from(f.bytes).equals(Buffer.from(sync.out[n]!.bytes)), `frame ${n} differs`);
      const b = Buffer.from(f.bytes);
      let o = 4;
      let lossy = 0;
      let err = 0;
      let samples = 0;
      for (let i = 0; i < b.readUInt16BE(2); i++) {
        const [x, y, w, h] = [0, 2, 4, 6].map((k) => b.readUInt16BE(o + k)) as [number, number, number, number];
        assert.equal(b.readInt32BE(o + 8), RfbEncoding.Tight);
        const d = decodeTight(b.subarray(o + 12), w, h, PIXEL_FORMAT_XRGB8888, inflaters);
        o += 12 + d.used;
        assert.ok(d.rgba, 'photo content goes out as JPEG');
        lossy += 1;
        const src = frames[n]!;
        for (let k = 0; k < w * h; k += 97) {
          const sx = x + (k % w);
          const sy = y + Math.floor(k / w);
          const si = sy * src.stride + sx * 4;
          err +=
            Math.abs(d.rgba[k * 4]! - src.data[si + 2]!) +
            Math.abs(d.rgba[k * 4 + 1]! - src.data[si + 1]!) +
            Math.abs(d.rgba[k * 4 + 2]! - src.data[si]!);
          samples += 3;
        }
      }
      assert.equal(o, b.length, 'every byte of the update consumed');
      assert.ok(lossy > 0 && f.lossy.every(Boolean));
      assert.ok(err / samples < 16, `mean JPEG error ${err / samples}`);
    });
  });

  it('a crashed worker closes only the session on it; the other client keeps getting updates', async () => {
    const data = new Uint8Array(320 * 200 * 4);
    const display = new TestDisplay({ width: 320, height: 200, stride: 320 * 4, format: PIXEL_FORMAT_XRGB8888, data });
    const server = new VncServer({ display, input: new RecordingInput(), websocket: false, encode: 'worker' });
    const { port } = await server.listen('127.0.0.1', 0);
    const a = await RfbStreamClient.connect(port, { encodings: [RfbEncoding.Tight] });
    const b = await RfbStreamClient.connect(port, { encodings: [RfbEncoding.ZRLE] });
    try {
      await waitFor(() => a.updates > 0 && b.updates > 0, 'first updates');
      const conns = (server as unknown as { connections: Set<{ session: { frames: WorkerFrameEncoder } }> }).connections;
      const [first] = [...conns];
      first!.session.frames.injectFault('exit');
      await waitFor(() => a.closed || b.closed, 'the crashed session to close');
      const survivor = a.closed ? b : a;
      assert.equal(a.closed && b.closed, false);
      const before = survivor.updates;
      for (let i = 0; i < 5; i++) {
        data.fill(i * 40, 0, 320 * 50 * 4);
        display.emit('damage', [{ x: 0, y: 0, width: 320, height: 50 }]);
        await sleep(30);
      }
      await waitFor(() => survivor.updates > before, 'updates after the crash');
      assert.equal(server.sessions, 1);
    } finally {
      a.close();
      b.close();
      await server.close();
    }
  });

  it('no worker while idle; open and close 12 sessions (under the per-address connection limit): the worker count returns to 0', async () => {
    const data = new Uint8Array(64 * 48 * 4);
    const display = new TestDisplay({ width: 64, height: 48, stride: 64 * 4, format: PIXEL_FORMAT_XRGB8888, data });
    const server = new VncServer({ display, input: new RecordingInput(), websocket: false, encode: 'worker' });
    const { port } = await server.listen('127.0.0.1', 0);
    try {
      // An idle server (listening, no connection) starts no worker: each costs ~10 MB of RSS.
      await waitFor(() => liveEncodeWorkers() === 0, 'workers of earlier tests to exit', ENCODE_WORKER_IDLE_MS + 5000);
      await sleep(300);
      assert.equal(liveEncodeWorkers(), 0, 'no worker before the first connection');
      const clients = await Promise.all(Array.from({ length: 12 }, () => RfbStreamClient.connect(port, { encodings: [RfbEncoding.Zlib] })));
      await waitFor(() => clients.every((c) => c.updates > 0), 'first update on every client', 20000);
      // Session affinity on a small pool: 12 sessions share at most rfbEncodePool.maxWorkers threads.
      assert.ok(liveEncodeWorkers() >= 1 && liveEncodeWorkers() <= rfbEncodePool.maxWorkers, `live ${liveEncodeWorkers()}`);
      for (const c of clients) c.close();
      await waitFor(() => server.sessions === 0, 'sessions to close');
      // With no connection left, every worker ends after its idle time (the server still listens).
      await waitFor(() => liveEncodeWorkers() === 0, 'idle workers to exit', ENCODE_WORKER_IDLE_MS + 5000);
      const again = await RfbStreamClient.connect(port, { encodings: [RfbEncoding.Zlib] });
      await waitFor(() => again.updates > 0, 'a client after the workers ended is served');
      assert.equal(liveEncodeWorkers(), 1);
      again.close();
    } finally {
      await server.close();
    }
    await waitFor(() => liveEncodeWorkers() === 0, 'the last worker to exit', ENCODE_WORKER_IDLE_MS + 5000);
  });
});
