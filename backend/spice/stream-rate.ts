// Quality and frame rate of one video stream, steered by what the client reports
// (STREAM_REPORT: frames, drops, how early the last frame came) and by what the server could
// not send (flow control held a frame back). Like spice-server's mjpeg rate control
// (mjpeg-encoder.cpp) in spirit, much smaller: drops or a late frame lower JPEG quality first,
// then the frame rate; clean windows raise them again, slowly. Everything is bounded. Pure.

/** JPEG quality (libjpeg scale) a stream starts with, and its bounds. */
export const STREAM_QUALITY_START = 70;
export const STREAM_QUALITY_MIN = 30;
export const STREAM_QUALITY_MAX = 85;
/** Frame interval bounds (ms): 30 fps at best, 5 fps at worst. */
export const STREAM_INTERVAL_MIN_MS = 33;
export const STREAM_INTERVAL_MAX_MS = 200;
/** How far ahead of the session clock frames are stamped, and its bounds (ms). */
export const STREAM_MARGIN_START_MS = 40;
export const STREAM_MARGIN_MIN_MS = 20;
export const STREAM_MARGIN_MAX_MS = 400;
/** A report window with more than this share of drops is "bad". */
export const STREAM_BAD_DROP_RATIO = 0.1;

export interface StreamRateState {
  quality: number;
  intervalMs: number;
  /** Added to the session clock to stamp frames (the client shows a frame at its stamp, drops it when late). */
  marginMs: number;
}

export class StreamRate implements StreamRateState {
  quality = STREAM_QUALITY_START;
  intervalMs = STREAM_INTERVAL_MIN_MS;
  marginMs = STREAM_MARGIN_START_MS;
  /** Reports taken (stats, tests). */
  reports = 0;

  /** A client report window: numFrames frames of which numDrops dropped; lastFrameDelay < 0 = late. */
  report(numFrames: number, numDrops: number, lastFrameDelay: number): void {
    this.reports++;
    const bad = numFrames > 0 && numDrops / numFrames > STREAM_BAD_DROP_RATIO;
    if (lastFrameDelay < 0 || bad) {
      // Frames came late: stamp them further ahead, and make them cheaper to send and decode.
      this.marginMs = Math.min(STREAM_MARGIN_MAX_MS, this.marginMs + Math.max(20, -lastFrameDelay));
      this.degrade();
      return;
    }
    if (numDrops === 0) {
      this.improve();
      // Frames come far earlier than needed: show them sooner.
      if (lastFrameDelay > 3 * this.marginMs) this.marginMs = Math.max(STREAM_MARGIN_MIN_MS, this.marginMs - 10);
    }
  }

  /** The server held a frame back (the client is not reading fast enough). */
  serverDrop(): void {
    this.degrade();
  }

  private degrade(): void {
    if (this.quality > STREAM_QUALITY_MIN) this.quality = Math.max(STREAM_QUALITY_MIN, this.quality - 10);
    else this.intervalMs = Math.min(STREAM_INTERVAL_MAX_MS, Math.round(this.intervalMs * 1.25));
  }

  private improve(): void {
    if (this.intervalMs > STREAM_INTERVAL_MIN_MS) this.intervalMs = Math.max(STREAM_INTERVAL_MIN_MS, Math.round(this.intervalMs / 1.1));
    else this.quality = Math.min(STREAM_QUALITY_MAX, this.quality + 5);
  }
}
