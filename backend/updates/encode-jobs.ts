// The messages between a session's end of an encode pool (pooled-encoder.ts) and the worker
// thread that runs its jobs (encode-worker-host.ts). Generic over the protocol: a job and its
// result are opaque structured-clone values the protocol's plug-in defines (for VNC: a frame
// of rects in, a FramebufferUpdate out, vnc/encode-worker.ts); the pixels are a snapshot
// (surface-snapshot.ts) in the session's SharedArrayBuffer, which every job of the session
// copies into while it is large enough, instead of allocating (and later collecting) a frame's
// worth of memory: 8 MB per 1080p frame. Shared, not transferred: a transferred buffer counts as
// new external memory in the isolate that receives it and drives V8 into full collections
// (output-buffers.ts). The session writes it only while no job of its own is in flight.

/** Main thread -> worker. Every message names the session it is for. */
export type ToEncodeWorker =
  /** Per-session settings (VNC: a SetEncodings list), applied to jobs after it. */
  | { type: 'config'; session: number; config: unknown }
  /** `outputs`: buffers of earlier results the session's socket is done with, for the worker to reuse (output-buffers.ts). */
  | { type: 'job'; session: number; id: number; job: unknown; pixels: SharedArrayBuffer; outputs?: SharedArrayBuffer[] }
  /** The session ended: drop its state. */
  | { type: 'close'; session: number }
  /** Test hook: throw while running the session's next job / exit the thread. */
  | { type: 'fault'; session: number; kind: 'throw' | 'exit' };

/** Worker -> main thread. */
export type FromEncodeWorker =
  | { type: 'ready'; session: 0 }
  | { type: 'result'; session: number; id: number; result: unknown; stats: unknown }
  /** A leading piece of the job's output, sent before its result so it can go out early. */
  | { type: 'part'; session: number; id: number; part: unknown }
  | { type: 'error'; session: number; id: number; code: string | null; message: string };

/** Sends a leading piece of a job's output ahead of its result (`transfer`: buffers to move). */
export type PartSink = (part: unknown, transfer?: ArrayBuffer[]) => void;

/** What a protocol plugs into a worker: one per session, living as long as the session. */
export interface EncodeSessionHandler {
  configure(config: unknown): void;
  /**
   * Run one job; `transfer` lists buffers of the result to move (not copy) to the main thread.
   * A result must not keep a view of `pixels`: the session's next snapshot overwrites them.
   * `outputs`: buffers of the session's earlier results, back from the main thread, to write
   * results into instead of allocating.
   */
  run(
    job: unknown,
    pixels: Uint8Array,
    emit: PartSink,
    outputs: SharedArrayBuffer[],
  ): { result: unknown; stats: unknown; transfer?: ArrayBuffer[] };
}
