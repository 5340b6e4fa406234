// Golden capture bytes built by hand from docs/capture-format.md, independent of the
// writer under test: each record is spelled out field by field.

import * as zlib from 'node:zlib';
import type { CaptureRecord } from '../../../shared/capture/format';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';

function le(n: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(Number((BigInt(n) >> BigInt(8 * i)) & 0xffn));
  return out;
}

function crc(b: number[]): number[] {
  return le(zlib.crc32(Uint8Array.from(b)) >>> 0, 4);
}

export function goldenHeader(startUnixMs: number, keyframeIntervalMs: number): Uint8Array {
  const first = [
    ...Buffer.from('XVFBCAP\n', 'latin1'),
    ...le(1, 2),
    ...le(0, 2),
    ...le(32, 4),
    ...le(startUnixMs, 8),
    ...le(keyframeIntervalMs, 4),
  ];
  return Uint8Array.from([...first, ...crc(first)]);
}

export function goldenRecord(type: number, timeMs: number, payload: number[]): Uint8Array {
  const head = [type, 0, 0, 0, ...le(payload.length, 4), ...le(timeMs, 4)];
  const sum = le(zlib.crc32(Uint8Array.from(payload), zlib.crc32(Uint8Array.from(head))) >>> 0, 4);
  return Uint8Array.from([...head, ...sum, ...payload]);
}

// XRGB8888 geometry block: 4x2, bpp 32, depth 24, LE, true colour, maxes 255, shifts 16/8/0
const GEOM_4x2 = [...le(4, 2), ...le(2, 2), 32, 24, 0, 1, ...le(255, 2), ...le(255, 2), ...le(255, 2), 16, 8, 0, 0];
const KEY_PIXELS = Array.from({ length: 4 * 2 * 4 }, (_, i) => (i * 7) & 0xff);

/** [name, record, golden bytes] for every record type, uncompressed pixel data. */
export function goldenRecords(): Array<[string, CaptureRecord, Uint8Array]> {
  const geometry = { width: 4, height: 2, format: PIXEL_FORMAT_XRGB8888 };
  return [
    ['geometry', { type: 'geometry', timeMs: 0, geometry }, goldenRecord(1, 0, GEOM_4x2)],
    ['geometry none', { type: 'geometry', timeMs: 5, geometry: null }, goldenRecord(1, 5, new Array(18).fill(0))],
    [
      'keyframe',
      { type: 'keyframe', timeMs: 0, geometry, pixels: Uint8Array.from(KEY_PIXELS) },
      goldenRecord(2, 0, [...GEOM_4x2, 0, 0, 0, 0, ...le(32, 4), ...KEY_PIXELS]),
    ],
    [
      'damage',
      {
        type: 'damage',
        timeMs: 40,
        bytesPerPixel: 4,
        rects: [{ x: 1, y: 1, width: 2, height: 1 }],
        pixels: Uint8Array.from([1, 2, 3, 0, 4, 5, 6, 0]),
      },
      goldenRecord(3, 40, [
        4,
        0,
        ...le(1, 2),
        ...le(1, 2),
        ...le(1, 2),
        ...le(2, 2),
        ...le(1, 2),
        0,
        0,
        0,
        0,
        ...le(8, 4),
        1,
        2,
        3,
        0,
        4,
        5,
        6,
        0,
      ]),
    ],
    [
      'copy',
      { type: 'copy', timeMs: 41, copies: [{ srcX: 0, srcY: 1, dstX: 0, dstY: 0, width: 4, height: 1 }] },
      goldenRecord(4, 41, [...le(1, 2), 0, 0, ...le(0, 2), ...le(1, 2), ...le(0, 2), ...le(0, 2), ...le(4, 2), ...le(1, 2)]),
    ],
    ['input key', { type: 'input', timeMs: 50, input: { kind: 'key', code: 30, pressed: true } }, goldenRecord(5, 50, [1, 0, 30, 0, 1])],
    [
      'input pointer',
      { type: 'input', timeMs: 51, input: { kind: 'pointerAbs', x: 3, y: 1, width: 4, height: 2 } },
      goldenRecord(5, 51, [2, 0, 3, 0, 1, 0, 4, 0, 2, 0]),
    ],
    [
      'input rel',
      { type: 'input', timeMs: 52, input: { kind: 'pointerRel', dx: -2, dy: 3 } },
      goldenRecord(5, 52, [3, 0, 0xfe, 0xff, 3, 0]),
    ],
    [
      'input button',
      { type: 'input', timeMs: 53, input: { kind: 'button', code: 0x110, pressed: false } },
      goldenRecord(5, 53, [4, 0, 0x10, 0x01, 0]),
    ],
    [
      'input wheel',
      { type: 'input', timeMs: 54, input: { kind: 'wheel', vertical: 1, horizontal: -1 } },
      goldenRecord(5, 54, [5, 0, 1, 0, 0xff, 0xff]),
    ],
    [
      'tiles',
      {
        type: 'tiles',
        timeMs: 60,
        scan: {
          cols: 2,
          rows: 1,
          tileWidth: 2,
          tileHeight: 2,
          generation: 7,
          active: 1,
          source: 0,
          bitmap: Uint8Array.from([3, 0, 0, 0, 0, 0, 0, 0]),
        },
      },
      goldenRecord(6, 60, [2, 0, 1, 0, 2, 0, 2, 0, 7, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]),
    ],
    [
      'cursor',
      {
        type: 'cursor',
        timeMs: 70,
        cursor: { x: 1, y: 1, hotX: 0, hotY: 0, width: 1, height: 1, visible: true, rgba: Uint8Array.from([9, 8, 7, 255]) },
      },
      goldenRecord(7, 70, [1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 9, 8, 7, 255]),
    ],
    ['timing', { type: 'timing', timeMs: 80, kind: 1, seq: 258 }, goldenRecord(8, 80, [1, 0, 0, 0, 2, 1, 0, 0])],
    ['meta', { type: 'meta', timeMs: 0, meta: { source: 'test' } }, goldenRecord(9, 0, [...Buffer.from('{"source":"test"}')])],
    [
      'index',
      { type: 'index', timeMs: 80, index: { durationMs: 80, records: 3, frames: 2, keyframes: [{ timeMs: 0, offset: 32 }] } },
      goldenRecord(10, 80, [...le(80, 4), ...le(3, 4), ...le(2, 4), ...le(1, 4), ...le(0, 4), ...le(32, 8)]),
    ],
    ['end', { type: 'end', timeMs: 80, indexOffset: 0x1_0000_0010 }, goldenRecord(11, 80, le(0x1_0000_0010, 8))],
  ];
}
