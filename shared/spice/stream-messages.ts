// Video stream messages of the display channel (spice.proto "channel DisplayChannel":
// stream_create, stream_data, stream_destroy, stream_destroy_all, stream_activate_report;
// client: stream_report). A stream is a rect of the primary surface whose frames go as one
// complete encoded picture each (MJPEG: one JFIF per frame), shown by the client when its
// session clock reaches the frame's multi_media_time.

import { ByteWriter } from '../bytes';
import type { Rect } from '../region';
import { fixedBody } from './common-messages';
import { SPICE_CLIP_TYPE_NONE, SPICE_STREAM_FLAGS_TOP_DOWN, SpiceMsgcDisplay } from './constants';

/** STREAM_CREATE body size with clip NONE: 4 + 4 + 1 + 1 + 8 + 4 * 4 + 16 + 1. */
export const STREAM_CREATE_SIZE = 51;
/** STREAM_REPORT body size: eight u32/i32 fields. */
export const STREAM_REPORT_SIZE = 32;
/** STREAM_REPORT num_drops with num_frames 0: the client cannot decode this stream (channel-display.c report_invalid_stream). */
export const STREAM_REPORT_INVALID_DROPS = 0xffffffff;

export interface StreamCreate {
  id: number;
  codecType: number;
  /** Where the frames go on surface 0; frames are dest-sized (no scaling). */
  dest: Rect;
}

/**
 * STREAM_CREATE: u32 surface_id | u32 id | u8 flags | u8 codec_type | u64 stamp |
 *   u32 stream_width | u32 stream_height | u32 src_width | u32 src_height | Rect dest | u8 clip_type (NONE)
 */
export function buildStreamCreate(s: StreamCreate): Buffer {
  const w = new ByteWriter(STREAM_CREATE_SIZE);
  w.u32le(0).u32le(s.id).u8(SPICE_STREAM_FLAGS_TOP_DOWN).u8(s.codecType).u64le(0n);
  w.u32le(s.dest.width).u32le(s.dest.height).u32le(s.dest.width).u32le(s.dest.height);
  w.s32le(s.dest.y)
    .s32le(s.dest.x)
    .s32le(s.dest.y + s.dest.height)
    .s32le(s.dest.x + s.dest.width);
  w.u8(SPICE_CLIP_TYPE_NONE);
  return w.finish();
}

/** STREAM_DATA: u32 id | u32 multi_media_time | u32 data_size | data (one encoded frame) */
export function buildStreamData(id: number, mmTime: number, frame: Uint8Array): Buffer {
  const w = new ByteWriter(12 + frame.length);
  w.u32le(id)
    .u32le(mmTime >>> 0)
    .u32le(frame.length)
    .bytes(frame);
  return w.finish();
}

/** STREAM_DESTROY: u32 id */
export function buildStreamDestroy(id: number): Buffer {
  return new ByteWriter(4).u32le(id).finish();
}

/** STREAM_ACTIVATE_REPORT: u32 stream_id | u32 unique_id | u32 max_window_size | u32 timeout_ms */
export function buildStreamActivateReport(streamId: number, uniqueId: number, maxWindowSize: number, timeoutMs: number): Buffer {
  return new ByteWriter(16).u32le(streamId).u32le(uniqueId).u32le(maxWindowSize).u32le(timeoutMs).finish();
}

/** What a client says about the frames of one report window. */
export interface StreamReport {
  streamId: number;
  uniqueId: number;
  startFrameMmTime: number;
  endFrameMmTime: number;
  numFrames: number;
  numDrops: number;
  /** Frame's multi_media_time minus the client's clock when it arrived: < 0 means late. */
  lastFrameDelay: number;
  /** 0xffffffff without audio playback. */
  audioDelay: number;
}

/**
 * STREAM_REPORT: u32 stream_id | u32 unique_id | u32 start_frame_mm_time | u32 end_frame_mm_time |
 *   u32 num_frames | u32 num_drops | i32 last_frame_delay | u32 audio_delay
 */
export function parseStreamReport(body: Uint8Array): StreamReport {
  const r = fixedBody(SpiceMsgcDisplay.STREAM_REPORT, body, STREAM_REPORT_SIZE);
  return {
    streamId: r.u32le(),
    uniqueId: r.u32le(),
    startFrameMmTime: r.u32le(),
    endFrameMmTime: r.u32le(),
    numFrames: r.u32le(),
    numDrops: r.u32le(),
    lastFrameDelay: r.s32le(),
    audioDelay: r.u32le(),
  };
}
