// The encode worker and its sync twin (STYLE.md item 12): the same frames, encoded inline from
// the live surface and in a worker from snapshots, give the same bytes frame after frame (the
// persistent zlib streams evolve the same way); a session in worker mode writes the same
// stream as one in sync mode; worker errors and exits surface as typed errors.

import { strict as assert } from 'node:assert';
import { PIXEL_FORMAT_RGB565, PIXEL_FORMAT_XRGB8888, type PixelFormat } from '../../../backend/display/pixel-format';
import type { Surface } from '../../../backend/display/display';
import { isXenvfbError, type XenvfbError } from '../../../shared/errors';
import type { Rect } from '../../../shared/region';
import {
  encodeModeFromEnv,
  type EncodedFrame,
  type FrameEncoder,
  type FrameJob,
  SyncFrameEncoder,
} from '../../../backend/vnc/encode-frame';
import { snapshotRects, snapshotSurface } from '../../../backend/updates/surface-snapshot';
import { EncodeManager } from '../../../backend/vnc/encode-manager';
import { ShadowFramebuffer } from '../../../backend/display/shadow';
import { RfbEncoding } from '../../../backend/vnc/messages';
import { liveEncodeWorkers, WorkerFrameEncoder } from '../../../backend/vnc/worker-frame-encoder';
import { connected, fur, setEncodings, setPixelFormat, TestDisplay } from './helpers';

const RGB565_BE: PixelFormat = { ...PIXEL_FORMAT_RGB565, bigEndian: true };
const QUALITY = (q: number): number => -32 + q;
const COMPRESS = (c: number): number => -256 + c;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Paint `r` with one of: noise (photo), text-like strokes (palette), a solid fill. */
function paint(s: Surface, r: Rect, kind: 'noise' | 'text' | 'solid', seed: number): void {
  const rand = rng(seed);
  const ink = [Math.floor(rand() * 256), Math.floor(rand() * 256), Math.floor(rand() * 256)];
  for (let y = r.y; y < r.y + r.height; y++) {
    for (let x = r.x; x < r.x + r.width; x++) {
      const i = y * s.stride + x * 4;
      const on = kind === 'noise' || (kind === 'text' && ((x * 7 + y * 3 + seed) % 11 < 3 || (x + y) % 5 === 0));
      for (let c = 0; c < 3; c++) s.data[i + c] = kind === 'noise' ? Math.floor(rand() * 256) : on ? ink[c]! : 240;
      s.data[i + 3] = 0;
    }
  }
}

function surface(width: number, height: number): Surface {
  return { width, height, stride: width * 4, format: PIXEL_FORMAT_XRGB8888, data: new Uint8Array(width * height * 4) };
}

/** The whole frame: the parts an encoder sent ahead (copied as they come), then the rest (`rest`: as the encoder gave it). */
function encodeWith(enc: FrameEncoder, s: Surface, job: FrameJob, partsSeen?: { n: number }): Promise<EncodedFrame & { rest: Uint8Array }> {
  const parts: Buffer[] = [];
  return new Promise((resolve) =>
    enc.encode(
      s,
      job,
      (frame) => resolve({ ...frame, bytes: Buffer.concat([...parts, frame.bytes]), rest: frame.bytes }),
      (part) => {
        parts.push(Buffer.from(part));
        if (partsSeen) partsSeen.n += 1;
      },
    ),
  );
}

interface Step {
  encodings?: number[];
  clientFormat?: PixelFormat;
  paint: Array<[Rect, 'noise' | 'text' | 'solid']>;
  refresh?: Rect[];
}

const W = 400;
const H = 300;
const STEPS: Step[] = [
  { encodings: [RfbEncoding.Tight, QUALITY(6), COMPRESS(2)], paint: [[{ x: 0, y: 0, width: W, height: H }, 'text']] },
  {
    paint: [
      [{ x: 10, y: 20, width: 200, height: 150 }, 'noise'],
      [{ x: 250, y: 10, width: 100, height: 40 }, 'solid'],
    ],
  },
  { paint: [[{ x: 12, y: 22, width: 190, height: 140 }, 'noise']], refresh: [{ x: 300, y: 200, width: 90, height: 90 }] },
  { paint: [[{ x: 0, y: 250, width: 300, height: 20 }, 'text']] },
  { encodings: [RfbEncoding.ZRLE], paint: [[{ x: 5, y: 5, width: 333, height: 77 }, 'text']] },
  { clientFormat: RGB565_BE, paint: [[{ x: 100, y: 100, width: 120, height: 120 }, 'noise']] },
  { encodings: [RfbEncoding.Zlib, COMPRESS(6)], paint: [[{ x: 0, y: 0, width: W, height: H }, 'text']] },
  {
    encodings: [RfbEncoding.TightPNG, RfbEncoding.Tight, QUALITY(3)],
    clientFormat: PIXEL_FORMAT_XRGB8888,
    paint: [[{ x: 50, y: 60, width: 256, height: 200 }, 'noise']],
  },
  { encodings: [RfbEncoding.Hextile], paint: [[{ x: 1, y: 1, width: 20, height: 20 }, 'text']] },
  { encodings: [RfbEncoding.Tight, COMPRESS(9)], paint: [[{ x: 0, y: 0, width: W, height: H }, 'text']] },
];

/** Run STEPS through an encoder; the surface is repainted the same way for each run. */
async function runSteps(make: (m: EncodeManager) => FrameEncoder, partsSeen?: { n: number }, given?: ArrayBufferLike[]): Promise<Buffer[]> {
  const s = surface(W, H);
  const manager = new EncodeManager();
  const enc = make(manager);
  let clientFormat = PIXEL_FORMAT_XRGB8888;
  const out: Buffer[] = [];
  try {
    for (const [n, step] of STEPS.entries()) {
      if (step.encodings) {
        manager.setClientEncodings(step.encodings);
        enc.encodingsChanged(step.encodings);
      }
      clientFormat = step.clientFormat ?? clientFormat;
      step.paint.forEach(([r, kind], i) => paint(s, r, kind, n * 10 + i));
      const rects = manager.split(step.paint.map(([r]) => r));
      const job: FrameJob = {
        clientFormat,
        copies: [],
        rects: [
          ...rects.map((rect, i) => ({ rect, busy: i % 2 === 1 })),
          ...manager.split(step.refresh ?? []).map((rect) => ({ rect, lossless: true })),
        ],
      };
      const frame = await encodeWith(enc, s, job, partsSeen);
      out.push(Buffer.from(frame.bytes));
      // Written: the encoder may reuse the frame's buffer for a later frame.
      if (frame.release) {
        given?.push(frame.rest.buffer);
        frame.release();
      }
    }
  } finally {
    enc.close();
  }
  return out;
}

function failOnError(err: Error): never {
  throw err;
}

describe('vnc encode worker', function () {
  this.timeout(30000);

  it('a snapshot holds exactly the rows of each rect', () => {
    const s = surface(64, 32);
    paint(s, { x: 0, y: 0, width: 64, height: 32 }, 'noise', 1);
    const rects = [
      { x: 3, y: 5, width: 10, height: 7 },
      { x: 60, y: 31, width: 4, height: 1 },
      { x: 0, y: 2, width: 64, height: 3 }, // whole rows: copied in one piece
    ];
    const { pixels, offsets } = snapshotRects(s, rects);
    assert.equal(pixels.byteLength, (10 * 7 + 4 + 64 * 3) * 4);
    rects.forEach((r, i) => {
      const snap = snapshotSurface(s.format, new Uint8Array(pixels), offsets[i]!, r);
      for (let y = 0; y < r.height; y++)
        for (let x = 0; x < r.width * 4; x++)
          assert.equal(snap.surface.data[y * snap.surface.stride + x], s.data[(r.y + y) * s.stride + r.x * 4 + x]);
    });
    // The snapshot is not zero-filled, so a rect past the surface's memory is refused.
    const short = { ...s, data: s.data.subarray(0, s.stride * 31 + 8) };
    assert.throws(() => snapshotRects(short, [{ x: 0, y: 30, width: 4, height: 2 }]), RangeError);
  });

  it('a snapshot into a handed-back buffer uses that buffer, and refuses one too small', () => {
    const s = surface(64, 32);
    paint(s, { x: 0, y: 0, width: 64, height: 32 }, 'noise', 2);
    const rects = [{ x: 1, y: 2, width: 20, height: 10 }];
    const old = new ArrayBuffer(4096);
    new Uint8Array(old).fill(0xee);
    const { pixels, offsets } = snapshotRects(s, rects, old);
    assert.equal(pixels, old);
    const snap = snapshotSurface(s.format, new Uint8Array(pixels), offsets[0]!, rects[0]!);
    for (let y = 0; y < 10; y++)
      assert.deepEqual(snap.surface.data.subarray(y * 80, y * 80 + 80), s.data.subarray((2 + y) * s.stride + 4, (2 + y) * s.stride + 84));
    assert.throws(() => snapshotRects(s, rects, new ArrayBuffer(799)), /needs 800 bytes/);
  });

  it('sync twin and worker give identical bytes over a sequence of frames (zlib streams evolve the same)', async () => {
    const syncParts = { n: 0 };
    const workerParts = { n: 0 };
    let syncEnc: SyncFrameEncoder | undefined;
    const sync = await runSteps((m) => (syncEnc = new SyncFrameEncoder(m)), syncParts);
    let enc: WorkerFrameEncoder | undefined;
    const given: ArrayBufferLike[] = [];
    const worker = await runSteps(() => (enc = new WorkerFrameEncoder({ onError: failOnError })), workerParts, given);
    // The worker sent the leading parts of large frames ahead of the rest; the inline twin never does.
    assert.equal(syncParts.n, 0);
    assert.ok(workerParts.n > 0, 'the worker sent no frame parts ahead');
    assert.equal(worker.length, sync.length);
    // Frames after the first copy their pixels into the buffer the previous job handed back
    // (stale bytes of a larger earlier frame past the new rects must not matter).
    assert.ok(enc!.snapshotsReused >= STEPS.length - 2, `${enc!.snapshotsReused} of ${STEPS.length} snapshots reused a buffer`);
    // Each frame was released once written: the inline twin encoded every later frame into a
    // writer an earlier one gave back, and the worker wrote results into shared buffers that
    // went back to it with the next job (a buffer is taken for a need of half its size or more,
    // so not every frame of these mixed sizes finds one).
    assert.equal(syncEnc!.reusedWriters, STEPS.length - 1);
    assert.equal(given.length, STEPS.length);
    assert.ok(
      given.every((b) => b instanceof SharedArrayBuffer),
      'worker results are in shared memory',
    );
    assert.ok(enc!.outputsReused >= 3, `${enc!.outputsReused} of ${STEPS.length} results reused a buffer`);
    sync.forEach((b, i) => assert.ok(b.equals(worker[i]!), `frame ${i}: ${b.length} vs ${worker[i]!.length} bytes`));
    // The sequence really used lossy and zlib-carrying encodings.
    const encodings = new Set<number>();
    for (const b of sync) encodings.add(b.readInt32BE(4 + 8));
    assert.ok(encodings.has(RfbEncoding.Tight) && encodings.has(RfbEncoding.ZRLE) && encodings.has(RfbEncoding.Zlib));
  });

  it("keeps the snapshot (and its rects' classes) of a surface that counted no change, and copies again after one", async () => {
    const guest = surface(W, H);
    paint(guest, { x: 0, y: 0, width: W, height: H }, 'noise', 7);
    const shadow = new ShadowFramebuffer(guest);
    const s = shadow.surface;
    // Raw with Hextile for solid rects: the rects are classified (EncodeManager.classifies).
    const raw = [RfbEncoding.Raw, RfbEncoding.Hextile];
    const job: FrameJob = { clientFormat: PIXEL_FORMAT_XRGB8888, copies: [], rects: [{ rect: { x: 0, y: 0, width: W, height: H } }] };
    const expected = async (): Promise<Buffer> => {
      const manager = new EncodeManager();
      manager.setClientEncodings(raw);
      return Buffer.from((await encodeWith(new SyncFrameEncoder(manager), s, job)).bytes);
    };
    const enc = new WorkerFrameEncoder({ onError: failOnError });
    enc.encodingsChanged(raw);
    try {
      const first = Buffer.from((await encodeWith(enc, s, job)).bytes);
      assert.ok(first.equals(await expected()));
      assert.equal(enc.snapshotsKept, 0);
      // Asked again, nothing changed: the pixels are already in the snapshot memory.
      assert.ok(Buffer.from((await encodeWith(enc, s, job)).bytes).equals(first));
      assert.equal(enc.snapshotsKept, 1);
      // ... and the worker took the rect's class from the frame before instead of sampling again.
      assert.equal(enc.classesReused, 1);
      // Other rects of the same surface are copied.
      const half: FrameJob = { ...job, rects: [{ rect: { x: 0, y: 0, width: W, height: H / 2 } }] };
      await encodeWith(enc, s, half);
      assert.equal(enc.snapshotsKept, 1);
      await encodeWith(enc, s, half);
      assert.equal(enc.snapshotsKept, 2);
      assert.equal(enc.classesReused, 2);
      // The guest draws and the shadow takes it in: the next frame has the new pixels.
      paint(guest, { x: 50, y: 40, width: 30, height: 20 }, 'text', 8);
      assert.equal(shadow.refine([{ x: 0, y: 0, width: W, height: H }]).rects.length, 1);
      const after = Buffer.from((await encodeWith(enc, s, job)).bytes);
      assert.equal(enc.snapshotsKept, 2);
      assert.ok(!after.equals(first));
      assert.ok(after.equals(await expected()));
      // A surface with no change count (guest memory) is copied every time.
      await encodeWith(enc, guest, job);
      await encodeWith(enc, guest, job);
      assert.equal(enc.snapshotsKept, 2);
      assert.equal(enc.classesReused, 2);
    } finally {
      enc.close();
    }
  });

  it('frames whose rects keep their classes are the bytes the sync twin writes (Tight, JPEG and zlib rects)', async () => {
    const guest = surface(W, H);
    paint(guest, { x: 0, y: 0, width: W, height: H / 2 }, 'noise', 9);
    paint(guest, { x: 0, y: H / 2, width: W, height: H / 2 }, 'text', 10);
    const s = new ShadowFramebuffer(guest).surface;
    const encodings = [RfbEncoding.Tight, QUALITY(7), COMPRESS(2)];
    const frames = async (make: (m: EncodeManager) => FrameEncoder): Promise<Buffer[]> => {
      const manager = new EncodeManager();
      manager.setClientEncodings(encodings);
      const enc = make(manager);
      enc.encodingsChanged(encodings);
      const job: FrameJob = {
        clientFormat: PIXEL_FORMAT_XRGB8888,
        copies: [],
        rects: manager.split([{ x: 0, y: 0, width: W, height: H }]).map((rect) => ({ rect })),
      };
      try {
        const out: Buffer[] = [];
        for (let k = 0; k < 3; k++) out.push(Buffer.from((await encodeWith(enc, s, job)).bytes));
        return out;
      } finally {
        enc.close();
      }
    };
    let worker: WorkerFrameEncoder | undefined;
    const viaWorker = await frames(() => (worker = new WorkerFrameEncoder({ onError: failOnError })));
    const inline = await frames((m) => new SyncFrameEncoder(m));
    assert.ok(worker!.classesReused > 0 && worker!.classesReused % 2 === 0, `${worker!.classesReused} classes reused`);
    viaWorker.forEach((b, i) => assert.ok(b.equals(inline[i]!), `frame ${i}: ${b.length} vs ${inline[i]!.length} bytes`));
  });

  it('a session in worker mode writes the same byte stream as one in sync mode', async () => {
    const run = async (mode: 'sync' | 'worker'): Promise<Buffer> => {
      const s = surface(W, H);
      paint(s, { x: 0, y: 0, width: W, height: H }, 'text', 3);
      const display = new TestDisplay(s);
      // A frozen clock: "busy" (JPEG quality) must not depend on how long each mode takes.
      const clock = { now: () => 0, setTimeout: () => null, clearTimeout: () => undefined };
      const h = connected(display, { encode: mode, frameIntervalMs: 0, clock });
      const settle = (): Promise<void> => new Promise((r) => setTimeout(r, mode === 'worker' ? 5 : 0));
      const waitIdle = async (): Promise<void> => {
        for (let i = 0; i < 400 && (h.session as unknown as { frames: FrameEncoder }).frames.busy; i++) await settle();
      };
      h.session.receive(setEncodings([RfbEncoding.Tight, QUALITY(5), RfbEncoding.ExtendedDesktopSize]));
      h.session.receive(fur(false, 0, 0, W, H));
      await waitIdle();
      for (let n = 0; n < 6; n++) {
        const r = { x: 17 * n, y: 11 * n, width: 150, height: 90 + n };
        paint(s, r, n % 2 ? 'noise' : 'text', 100 + n);
        display.emit('damage', [r]);
        h.session.receive(fur(true, 0, 0, W, H));
        if (n === 3) h.session.receive(setPixelFormat(RGB565_BE));
        await waitIdle();
      }
      await waitIdle();
      assert.equal(h.session.closed, false, `${mode}: ${h.session.closeReason}`);
      h.session.close('test done');
      return h.take();
    };
    const sync = await run('sync');
    const worker = await run('worker');
    assert.ok(sync.length > 1000);
    assert.ok(sync.equals(worker), `sync ${sync.length} bytes, worker ${worker.length} bytes`);
  });

  it('an error inside the worker is reported as RFB_E_ENCODE; an exit as RFB_E_ENCODE_WORKER', async () => {
    const failure = (kind: 'throw' | 'exit'): Promise<XenvfbError> =>
      new Promise((resolve) => {
        const enc = new WorkerFrameEncoder({ onError: (e) => resolve(e as XenvfbError) });
        enc.encodingsChanged([RfbEncoding.Raw]);
        enc.injectFault(kind);
        const s = surface(8, 8);
        enc.encode(s, { clientFormat: PIXEL_FORMAT_XRGB8888, copies: [], rects: [{ rect: { x: 0, y: 0, width: 8, height: 8 } }] }, () =>
          resolve(new Error('encoded') as XenvfbError),
        );
      });
    const thrown = await failure('throw');
    assert.ok(isXenvfbError(thrown, 'RFB_E_ENCODE'), String(thrown));
    const exited = await failure('exit');
    assert.ok(isXenvfbError(exited, 'RFB_E_ENCODE_WORKER'), String(exited));
    // Idle workers end ENCODE_WORKER_IDLE_MS after their last session.
    for (let i = 0; i < 600 && liveEncodeWorkers() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(liveEncodeWorkers(), 0);
  });

  it('a worker failure closes its session with the typed reason', async () => {
    const display = new TestDisplay(surface(32, 16));
    const h = connected(display, { encode: 'worker' });
    const frames = (h.session as unknown as { frames: WorkerFrameEncoder }).frames;
    frames.injectFault('exit');
    for (let i = 0; i < 300 && !h.session.closed; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(h.session.closed, true);
    assert.ok(isXenvfbError(h.session.error, 'RFB_E_ENCODE_WORKER'));
    assert.match(h.session.closeReason ?? '', /^RFB_E_ENCODE_WORKER/);
  });

  it('XENVFB_VNC_ENCODE selects the mode; anything else is a typed error', () => {
    assert.equal(encodeModeFromEnv('worker', {}), 'worker');
    assert.equal(encodeModeFromEnv('worker', { XENVFB_VNC_ENCODE: 'sync' }), 'sync');
    assert.equal(encodeModeFromEnv('sync', { XENVFB_VNC_ENCODE: 'worker' }), 'worker');
    assert.throws(
      () => encodeModeFromEnv('worker', { XENVFB_VNC_ENCODE: 'fast' }),
      (e: unknown) => isXenvfbError(e, 'RFB_E_ENCODE_MODE'),
    );
  });
});
