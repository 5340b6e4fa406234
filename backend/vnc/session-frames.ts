// The frame encoders of one RFB session: inline (the session's own EncodeManager), or an
// encode worker with an inline twin beside it for Raw frames. Raw is a copy of the pixels: in
// the worker it would cost a snapshot copy, the transfer and the same copy again, so Raw
// frames are encoded on the session's thread. The twin's manager holds only encoders without
// stream state, so nothing it sends (a solid rect through Hextile, say) can desynchronise a
// zlib stream the worker's encoders share with the client.

import { type EncodeStatsSnapshot, type FrameEncoder, mergeFrameStats, SyncFrameEncoder } from './encode-frame';
import { EncodeManager, type EncoderStats, STATELESS_ENCODER_FACTORIES } from './encode-manager';
import { RfbEncoding } from './messages';
import { WorkerFrameEncoder } from './worker-frame-encoder';

export class SessionFrames {
  /** Runs the frames: inline, or in this session's encode worker. */
  private readonly main: FrameEncoder;
  /** Encodes on this thread: `main` itself in sync mode, its twin for Raw frames in worker mode. */
  private readonly inline: SyncFrameEncoder;
  private readonly inlineEncodes: EncodeManager;

  /** `encodes` is the session's manager (split, client caps); `onError` closes the session. */
  constructor(
    private readonly encodes: EncodeManager,
    worker: boolean,
    onError: (err: Error) => void,
  ) {
    this.main = worker ? new WorkerFrameEncoder({ onError }) : new SyncFrameEncoder(encodes);
    this.inlineEncodes = worker ? new EncodeManager(STATELESS_ENCODER_FACTORIES) : encodes;
    this.inline = this.main instanceof SyncFrameEncoder ? this.main : new SyncFrameEncoder(this.inlineEncodes);
  }

  /** A frame is being encoded off this thread: nothing else may go out before it. */
  get busy(): boolean {
    return this.main.busy;
  }

  /** The encoder for the next frame (the session checked `busy` first, so order is kept). */
  next(): FrameEncoder {
    return this.encodes.encoder.id === RfbEncoding.Raw ? this.inline : this.main;
  }

  /** The session applied a SetEncodings list to its own manager. */
  encodingsChanged(list: readonly number[]): void {
    this.main.encodingsChanged(list);
    if (this.inlineEncodes !== this.encodes) this.inlineEncodes.setClientEncodings(list);
  }

  stats(copies: Record<string, EncoderStats>): EncodeStatsSnapshot {
    return mergeFrameStats(this.main.stats(), this.inline === this.main ? null : this.inline.stats(), copies);
  }

  close(): void {
    this.main.close();
  }

  /** Test hook: make the worker throw on the next frame, or exit (worker mode only). */
  injectFault(kind: 'throw' | 'exit'): void {
    if (!(this.main instanceof WorkerFrameEncoder)) throw new Error('injectFault needs a session in worker mode');
    this.main.injectFault(kind);
  }
}
