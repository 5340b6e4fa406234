// Event-loop blocking of the VNC server, sync vs worker encoding (XENVFB_VNC_ENCODE): a real
// VncServer on loopback, CLIENTS clients each asking for updates in a loop, a 1080p display
// whose whole screen changes every frame (text-like or noise). Printed per mode and content:
// the event-loop delay (perf_hooks.monitorEventLoopDelay with a 1 ms probe timer) p50 / p99 /
// max, and updates per second per client. Also the round trip of one small (20x20) frame
// through the worker vs inline, the cost an inline fast path for small frames would save.
// Run: npm run bench:vnc-blocking   (BENCH_SECONDS=4 by default)

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PIXEL_FORMAT_XRGB8888 } from '../../backend/display/pixel-format';
import type { Surface } from '../../backend/display/display';
import { type EncodeMode, type FrameEncoder, type FrameJob, SyncFrameEncoder } from '../../backend/vnc/encode-frame';
import { EncodeManager } from '../../backend/vnc/encode-manager';
import { rfbEncodePool } from '../../backend/vnc/worker-frame-encoder';
import { RfbEncoding } from '../../backend/vnc/messages';
import { VncServer } from '../../backend/vnc/server';
import { WorkerFrameEncoder } from '../../backend/vnc/worker-frame-encoder';
import { RfbStreamClient } from '../../test/helpers/rfb-stream-client';
import { RecordingInput, TestDisplay } from '../../test/unit/vnc/helpers';

const W = 1920;
const H = 1080;
const CLIENTS = 2;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
type Content = 'text' | 'noise';

function paint(data: Uint8Array, kind: Content, f: number): void {
  let seed = 99 + f;
  const rnd = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 4;
      if (kind === 'noise') {
        data[i] = rnd() * 256;
        data[i + 1] = rnd() * 256;
        data[i + 2] = rnd() * 256;
      } else {
        const ink = (y + f) % 18 < 12 && x % 9 < 6 && rnd() < 0.45;
        data.fill(ink ? 20 : 250, i, i + 3);
      }
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function serverRun(mode: EncodeMode, content: Content, encodings: number[]): Promise<string> {
  const data = new Uint8Array(W * H * 4);
  // Two pre-painted frames alternate, so painting does not count as server work.
  const frames = [0, 1].map((f) => {
    const d = new Uint8Array(W * H * 4);
    paint(d, content, f);
    return d;
  });
  const display = new TestDisplay({ width: W, height: H, stride: W * 4, format: PIXEL_FORMAT_XRGB8888, data });
  const server = new VncServer({ display, input: new RecordingInput(), websocket: false, encode: mode });
  const { port } = await server.listen('127.0.0.1', 0);
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => RfbStreamClient.connect(port, { encodings })));
  let f = 0;
  const ticker = setInterval(() => {
    data.set(frames[f++ & 1]!);
    display.emit('damage', [{ x: 0, y: 0, width: W, height: H }]);
  }, 16);
  await sleep(500);
  const start = clients.map((c) => c.updates);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await sleep(SECONDS * 1000);
  h.disable();
  const fps = clients.map((c, i) => ((c.updates - start[i]!) / SECONDS).toFixed(1));
  clearInterval(ticker);
  for (const c of clients) c.close();
  await server.close();
  const ms = (ns: number): string => (ns / 1e6).toFixed(1);
  return `${mode.padEnd(6)} ${content.padEnd(5)} loop delay p50 ${ms(h.percentile(50)).padStart(6)} p99 ${ms(h.percentile(99)).padStart(7)} max ${ms(h.max).padStart(7)} ms | fps per client ${fps.join(' / ')}`;
}

async function smallFrameRoundTrip(): Promise<string> {
  const s: Surface = { width: W, height: H, stride: W * 4, format: PIXEL_FORMAT_XRGB8888, data: new Uint8Array(W * H * 4) };
  paint(s.data, 'text', 0);
  const job: FrameJob = { clientFormat: PIXEL_FORMAT_XRGB8888, copies: [], rects: [{ rect: { x: 100, y: 100, width: 20, height: 20 } }] };
  const time = async (enc: FrameEncoder, manager: EncodeManager | null): Promise<number> => {
    manager?.setClientEncodings([RfbEncoding.Tight]);
    enc.encodingsChanged([RfbEncoding.Tight]);
    const once = (): Promise<void> => new Promise((r) => enc.encode(s, job, () => r()));
    for (let i = 0; i < 50; i++) await once();
    const n = 500;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await once();
    enc.close();
    return ((performance.now() - t0) / n) * 1000;
  };
  const m = new EncodeManager();
  const sync = await time(new SyncFrameEncoder(m), m);
  const worker = await time(
    new WorkerFrameEncoder({
      onError: (e) => {
        throw e;
      },
    }),
    null,
  );
  return `20x20 Tight frame, one at a time: inline ${sync.toFixed(0)} µs, worker round trip ${worker.toFixed(0)} µs`;
}

async function main(): Promise<void> {
  console.log(`${CLIENTS} clients, ${W}x${H}, whole screen damaged every 16 ms, ${SECONDS} s per run`);
  const cases: Array<[string, number[]]> = [
    ['Tight, compress 6', [RfbEncoding.Tight, -256 + 6]],
    ['ZRLE', [RfbEncoding.ZRLE]],
  ];
  for (const [name, encodings] of cases) {
    console.log(`-- ${name}`);
    for (const content of ['text', 'noise'] as const) {
      for (const mode of ['sync', 'worker'] as const) console.log(await serverRun(mode, content, encodings));
    }
  }
  console.log(await smallFrameRoundTrip());
  await rfbEncodePool.shutdown();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
