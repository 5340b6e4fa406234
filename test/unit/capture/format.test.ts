// The capture codec against golden bytes, four ways: decode, encode, round trip, and split
// at every byte through the incremental decoder. Plus limits and compressed round trips.

import { strict as assert } from 'node:assert';
import {
  CaptureStreamDecoder,
  decodeHeader,
  decodeRecordAt,
  encodeHeader,
  encodeRecord,
  type DecodedRecord,
} from '../../../shared/capture/framing';
import { CAPTURE_MAX_PAYLOAD, type CaptureRecord } from '../../../shared/capture/format';
import { isXenvfbError } from '../../../shared/errors';
import { goldenHeader, goldenRecord, goldenRecords } from './golden';

function plain(r: unknown): unknown {
  if (r instanceof Uint8Array) return Array.from(r);
  if (Array.isArray(r)) return r.map(plain);
  if (r && typeof r === 'object') return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)]));
  return r;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

describe('capture format: golden bytes', () => {
  it('file header: decode, encode, round trip', () => {
    const g = goldenHeader(1_700_000_000_123, 5000);
    assert.deepEqual(decodeHeader(g), { versionMajor: 1, versionMinor: 0, startUnixMs: 1_700_000_000_123, keyframeIntervalMs: 5000 });
    assert.deepEqual(encodeHeader({ startUnixMs: 1_700_000_000_123, keyframeIntervalMs: 5000 }), g);
  });

  for (const [name, rec, bytes] of goldenRecords()) {
    it(`${name}: decode, encode, round trip`, () => {
      const { record, size } = decodeRecordAt(bytes, 0);
      assert.equal(size, bytes.length);
      assert.deepEqual(plain(record), plain(rec));
      assert.deepEqual(Buffer.from(encodeRecord(rec, { compress: false })), Buffer.from(bytes));
      assert.deepEqual(plain(decodeRecordAt(encodeRecord(rec), 0).record), plain(rec), 'compressed round trip');
    });
  }

  it('a whole file split at every byte decodes to the same records', () => {
    const golden = goldenRecords();
    const file = concat([goldenHeader(1000, 0), ...golden.map((g) => g[2])]);
    for (let cut = 0; cut <= file.length; cut++) {
      const d = new CaptureStreamDecoder();
      const got: DecodedRecord[] = [];
      const drain = (): void => {
        for (let s = d.next(); s.kind !== 'need'; s = d.next()) if (s.kind === 'record') got.push(s.record);
      };
      d.push(file.subarray(0, cut));
      drain();
      d.push(file.subarray(cut));
      drain();
      assert.equal(got.length, golden.length, `cut at ${cut}`);
      got.forEach((r, i) => assert.deepEqual(plain(r), plain(golden[i]![1])));
    }
  });

  it('byte by byte: every step is a header, a record or "need N more"', () => {
    const file = concat([goldenHeader(1000, 0), ...goldenRecords().map((g) => g[2])]);
    const d = new CaptureStreamDecoder();
    let records = 0;
    for (let i = 0; i < file.length; i++) {
      d.push(file.subarray(i, i + 1));
      for (let s = d.next(); ; s = d.next()) {
        if (s.kind === 'need') {
          assert.ok(s.bytes > 0);
          break;
        }
        if (s.kind === 'record') records++;
      }
    }
    assert.equal(records, goldenRecords().length);
  });

  it('an unknown record type with a good checksum is skipped, not an error', () => {
    const { record } = decodeRecordAt(goldenRecord(200, 9, [1, 2, 3]), 0);
    assert.deepEqual(record, { type: 'unknown', typeNumber: 200, timeMs: 9 });
  });
});

describe('capture format: typed errors and limits', () => {
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (e) {
      if (isXenvfbError(e)) return e.code;
      throw e;
    }
    return undefined;
  };

  it('foreign files, other versions and bad header checksums', () => {
    assert.equal(
      code(() => decodeHeader(Buffer.from('FBS 001.001\n' + ' '.repeat(20)))),
      'CAP_E_BAD_MAGIC',
    );
    const v2 = goldenHeader(0, 0);
    v2[8] = 2;
    assert.equal(
      code(() => decodeHeader(v2)),
      'CAP_E_BAD_VERSION',
    );
    const flipped = goldenHeader(0, 0);
    flipped[20] ^= 1;
    assert.equal(
      code(() => decodeHeader(flipped)),
      'CAP_E_BAD_HEADER',
    );
    assert.equal(
      code(() => decodeHeader(goldenHeader(0, 0).subarray(0, 31))),
      'CAP_E_TRUNCATED',
    );
  });

  it('payload length at CAPTURE_MAX_PAYLOAD waits for bytes; one past is refused', () => {
    const at = goldenRecord(8, 0, [1, 0, 0, 0, 0, 0, 0, 0]);
    new DataView(at.buffer).setUint32(4, CAPTURE_MAX_PAYLOAD, true);
    assert.equal(
      code(() => decodeRecordAt(at, 0)),
      'CAP_E_TRUNCATED',
    );
    new DataView(at.buffer).setUint32(4, CAPTURE_MAX_PAYLOAD + 1, true);
    assert.equal(
      code(() => decodeRecordAt(at, 0)),
      'CAP_E_OVERSIZE',
    );
  });

  it('geometry at 8192 is accepted, 8193 refused', () => {
    const g = (w: number): CaptureRecord => ({ type: 'geometry', timeMs: 0, geometry: { width: w, height: 1, format: goldenKeyFormat() } });
    assert.equal(decodeRecordAt(encodeRecord(g(8192)), 0).record.type, 'geometry');
    assert.equal(
      code(() => decodeRecordAt(encodeRecord(g(8193)), 0)),
      'CAP_E_OVERSIZE',
    );
  });

  it('a checksum failure and a short payload are typed', () => {
    const rec = goldenRecords()[3]![2].slice();
    rec[rec.length - 1] ^= 0x40;
    assert.equal(
      code(() => decodeRecordAt(rec, 0)),
      'CAP_E_BAD_CRC',
    );
    assert.equal(
      code(() => decodeRecordAt(goldenRecord(3, 0, [4, 0, 1, 0]), 0)),
      'CAP_E_BAD_RECORD',
    );
  });

  it('a deflate bomb is stopped at the declared raw length', () => {
    const bomb: CaptureRecord = {
      type: 'damage',
      timeMs: 0,
      bytesPerPixel: 4,
      rects: [{ x: 0, y: 0, width: 1, height: 1 }],
      pixels: new Uint8Array(4),
    };
    const bytes = encodeRecord(bomb);
    const ok = decodeRecordAt(bytes, 0).record;
    assert.equal(ok.type, 'damage');
    // Same rects, but pixels that inflate far past 4 bytes.
    const big = encodeRecord({ ...bomb, rects: [{ x: 0, y: 0, width: 1024, height: 1024 }], pixels: new Uint8Array(4 << 20) });
    const dv = new DataView(big.buffer, big.byteOffset);
    dv.setUint16(16 + 4 + 4, 1, true); // rect width 1
    dv.setUint16(16 + 4 + 6, 1, true); // rect height 1
    dv.setUint32(16 + 12 + 4, 4, true); // raw length 4
    const fixed = goldenRecord(3, 0, Array.from(big.subarray(16)));
    assert.equal(
      code(() => decodeRecordAt(fixed, 0)),
      'CAP_E_BAD_RECORD',
    );
  });
});

function goldenKeyFormat(): import('../../../shared/rfb/pixel-format').RfbPixelFormat {
  return {
    bitsPerPixel: 32,
    depth: 24,
    bigEndian: false,
    trueColour: true,
    redMax: 255,
    greenMax: 255,
    blueMax: 255,
    redShift: 16,
    greenShift: 8,
    blueShift: 0,
  };
}
