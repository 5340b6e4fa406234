// The one output path of a protocol session (STYLE.md rule 18): every byte a client can make
// the server write goes through send(), which owns backpressure. Writes made while the
// session handles one chunk of input are corked and leave as one transport write (a flood of
// small replies costs one write per chunk, not one per message). While the transport is
// full, or a frame is in the encode worker and later output must wait for it, output is
// queued: a reply with a key replaces the queued reply with the same key (only the latest
// screen layout or key ack matters), and a queue past OUTPUT_MAX_HELD bytes means the client
// does not read what it asks for: overflow() closes it. Frames are not counted against that
// bound: the session starts one only while the transport is not full.

/** Queued bytes (replies held while the client does not read) past which the client is dropped. */
export const OUTPUT_MAX_HELD = 1024 * 1024;
/** What one queued entry costs besides its bytes (array slot, Buffer object), counted so a flood of tiny replies is bounded too. */
export const OUTPUT_ENTRY_OVERHEAD = 64;

/** Called once the transport no longer needs some bytes (their buffer may be reused); never called is allowed. */
export type Release = () => void;

export interface SessionOutputOptions {
  /** Hand bytes to the transport; it calls `release` (when given) once it is done with them. */
  write(bytes: Uint8Array, release?: Release): void;
  /** True while the transport holds too much unsent output (the adapter calls drained() when it empties). */
  full?(): boolean;
  /** The queue passed maxHeld while blocked: close the client. Called once. */
  overflow(heldBytes: number): void;
  /** Default OUTPUT_MAX_HELD. */
  maxHeld?: number;
}

interface Entry {
  bytes: Uint8Array;
  key?: string;
  /** The bytes' owner wants them back (an encoder's reusable frame buffer). */
  release?: Release;
}

/** Join queued entries into one buffer (a copy): every entry's bytes are then free. */
function joinEntries(entries: Entry[]): Buffer {
  const bytes = Buffer.concat(entries.map((e) => e.bytes));
  releaseAll(entries);
  return bytes;
}

function releaseAll(entries: Entry[]): void {
  for (const e of entries) e.release?.();
}

export class SessionOutput {
  /** Bytes handed to the transport. */
  bytesOut = 0;
  /** Replies replaced by a newer one with the same key. */
  coalesced = 0;
  private queue: Entry[] = [];
  private queued = 0;
  private corks = 0;
  /** A frame is being encoded elsewhere: output after it waits. */
  private held = false;
  private overflowed = false;
  private readonly maxHeld: number;

  constructor(private readonly opts: SessionOutputOptions) {
    this.maxHeld = opts.maxHeld ?? OUTPUT_MAX_HELD;
  }

  /**
   * The transport is full, or a frame's worth of output still waits here (corked while one
   * input chunk is handled, whose requests could otherwise start frame after frame before the
   * transport sees any of them): no new frame should start.
   */
  get blocked(): boolean {
    return this.queued >= this.maxHeld || this.transportFull;
  }

  private get transportFull(): boolean {
    return this.opts.full?.() === true;
  }

  /** Bytes waiting here (not yet handed to the transport). */
  get pendingBytes(): number {
    return this.queued;
  }

  /**
   * Queue bytes for the client; with a key, a queued entry with the same key is replaced.
   * `release`: called once the bytes are no longer needed (written, copied or dropped).
   */
  send(bytes: Uint8Array, key?: string, release?: Release): void {
    if (this.overflowed) {
      release?.();
      return;
    }
    if (key !== undefined) {
      const i = this.queue.findIndex((e) => e.key === key);
      if (i >= 0) {
        this.queued -= this.queue[i]!.bytes.byteLength + OUTPUT_ENTRY_OVERHEAD;
        releaseAll(this.queue.splice(i, 1));
        this.coalesced += 1;
      }
    }
    this.queue.push({ bytes, key, release });
    this.queued += bytes.byteLength + OUTPUT_ENTRY_OVERHEAD;
    this.pump();
  }

  /** Writes until uncork() leave together (one input chunk's replies). */
  cork(): void {
    this.corks += 1;
  }

  uncork(): void {
    if (this.corks > 0) this.corks -= 1;
    this.pump();
  }

  /** A frame went to the encode worker: what came before it goes now, later output waits for it (frameDone). */
  hold(): void {
    this.writeNow();
    this.held = true;
  }

  /** Write what is queued now, corked or not (before the transport changes under it, e.g. TLS starts). */
  writeNow(): void {
    if (this.queue.length === 0 || this.overflowed) return;
    const entries = this.queue;
    this.queue = [];
    this.queued = 0;
    const bytes = joinEntries(entries);
    this.bytesOut += bytes.byteLength;
    this.opts.write(bytes);
  }

  /**
   * A leading part of the frame being encoded (held): it goes to the transport at once, ahead
   * of the output waiting for the frame, so the client decodes while the rest is encoded.
   * Not bounded by `full`: a frame starts only while the transport is not full, and its parts
   * are bytes that would be queued here anyway. `release` as for send().
   */
  framePart(part: Uint8Array, release?: Release): void {
    if (this.overflowed || part.byteLength === 0) {
      release?.();
      return;
    }
    this.bytesOut += part.byteLength;
    this.opts.write(part, release);
  }

  /** The frame is encoded: it (or what is left of it after framePart) goes first, then what waited for it. */
  frameDone(frame: Uint8Array, release?: Release): void {
    this.held = false;
    if (this.overflowed) {
      release?.();
      return;
    }
    this.queue.unshift({ bytes: frame, release });
    this.queued += frame.byteLength + OUTPUT_ENTRY_OVERHEAD;
    this.pump();
  }

  /** The transport took its backlog: queued output may go. */
  drained(): void {
    this.pump();
  }

  /** The session ends: what is queued (at most the bound) goes now, whatever blocked it. */
  finish(): void {
    this.corks = 0;
    this.held = false;
    if (this.overflowed) this.clear();
    this.writeNow();
  }

  /** Drop everything. */
  clear(): void {
    const dropped = this.queue;
    this.queue = [];
    this.queued = 0;
    releaseAll(dropped);
  }

  private pump(): void {
    if (this.queue.length === 0 || this.corks > 0) return;
    if (this.held || this.transportFull) {
      if (this.queued > this.maxHeld && !this.overflowed) {
        this.overflowed = true;
        const n = this.queued;
        this.clear();
        this.opts.overflow(n);
      }
      return;
    }
    const entries = this.queue;
    this.queue = [];
    this.queued = 0;
    const only = entries.length === 1 ? entries[0]! : null;
    const bytes = only ? only.bytes : joinEntries(entries);
    this.bytesOut += bytes.byteLength;
    this.opts.write(bytes, only?.release);
  }
}
