// The interface every RFB encoding implements (one file per encoding, like TigerVNC's
// Encoder.h / QEMU ui/vnc-enc-*.c). The encode manager writes the rect header
// (rfbproto §7.6.1: u16 x | u16 y | u16 w | u16 h | s32 encoding); an encoder writes the data.
// Encoders with zlib streams hold per-connection state, so every session gets its own
// instances from an EncoderFactory.

import type { JpegJob } from './jpeg';
import type { ByteWriter } from '../../../shared/bytes';
import type { Rect } from '../../../shared/region';
import type { PixelFormat } from '../../display/pixel-format';
import type { Surface } from '../../display/display';

/** What the client asked for through pseudo-encodings (rfbproto §7.8). */
export interface EncodeSettings {
  /** JPEG quality level 0..9 (pseudo-encodings -32..-23), null if the client sent none: no lossy. */
  qualityLevel: number | null;
  /** Compress level 0..9 (pseudo-encodings -256..-247), null if none. */
  compressLevel: number | null;
  /** This rect's JPEG, already started on a pool thread at `qualityLevel` (encode-frame.ts). */
  jpeg?: JpegJob | null;
  /**
   * An encoder writing a large rect in pieces (Raw) calls this between them, never from inside
   * a ByteWriter.direct() callback: the frame may send the bytes written so far ahead of the
   * rest (encode-frame.ts). Only an encoder that never rolls back may call it.
   */
  progress?: () => void;
}

export const DEFAULT_ENCODE_SETTINGS: EncodeSettings = { qualityLevel: null, compressLevel: null };

export interface Encoder {
  /** The RfbEncoding number written in the rect header. */
  readonly id: number;
  readonly name: string;
  /** Largest rect this encoding carries (Tight: 2048 wide, TigerVNC's 65536 px area); none if absent. */
  readonly maxRect?: { width: number; area: number };
  /**
   * For a one-stream encoding whose rect must be whole before it is sent (a length prefix):
   * rects over this many pixels go as full-width strips of about this area, so the client
   * decodes a strip while the next one is encoded (EncodeManager.split). The encoding itself
   * has no limit.
   */
  readonly stripArea?: number;
  /** True when the last encode() wrote lossy data (Tight JPEG); absent for lossless-only encodings. */
  readonly lastLossy?: boolean;
  /**
   * Append the encoded pixels of `rect` (inside the surface) in the client's format.
   * Returns false, having written nothing, when the encoding would be larger than Raw and
   * the encoding has no raw escape of its own (RRE); the manager then sends Raw.
   */
  encode(surface: Surface, rect: Rect, clientFormat: PixelFormat, writer: ByteWriter, settings: EncodeSettings): boolean;
}

/** Makes one encoder instance for one session. */
export type EncoderFactory = () => Encoder;
