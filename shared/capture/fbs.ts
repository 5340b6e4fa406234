// The rfbproxy FBS container (documented in the header comment of rfbproxy's rfbproxy.c):
// "FBS 001.00x\n", then blocks of u32be length | data padded to 4 bytes | u32be timestamp (ms
// since the start). Only server-to-client bytes are recorded. Pure: bytes in, blocks out.

import { xerror } from '../errors';

export const FBS_MAGIC_SIZE = 12;
/** Versions whose framing is the one above (001.001 adds no framing change). */
export const FBS_VERSIONS = ['FBS 001.000\n', 'FBS 001.001\n'];
/** Largest block we accept (rfbproxy writes what one read() returned: a few KiB). */
export const FBS_MAX_BLOCK = 64 * 1024 * 1024;

export interface FbsBlock {
  timeMs: number;
  data: Uint8Array;
}

export interface FbsFile {
  version: string;
  blocks: FbsBlock[];
  /** Set when the file ends inside a block: blocks before it are complete. */
  truncatedAt: number | null;
}

/** Parse an FBS file. A cut last block is reported in truncatedAt, not thrown. */
export function parseFbs(b: Uint8Array): FbsFile {
  const magic = Buffer.from(b.subarray(0, FBS_MAGIC_SIZE)).toString('latin1');
  if (!FBS_VERSIONS.includes(magic)) {
    throw xerror('FBS_E_BAD_MAGIC', `starts with ${JSON.stringify(magic.slice(0, 12))}; expected "FBS 001.000" or "FBS 001.001"`);
  }
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const blocks: FbsBlock[] = [];
  let o = FBS_MAGIC_SIZE;
  let truncatedAt: number | null = null;
  while (o < b.length) {
    if (b.length - o < 4) {
      truncatedAt = o;
      break;
    }
    const len = dv.getUint32(o);
    if (len === 0) break; // a zero count marks the end
    if (len > FBS_MAX_BLOCK) throw xerror('FBS_E_BAD_STREAM', `FBS block of ${len} bytes at offset ${o} exceeds FBS_MAX_BLOCK`);
    const padded = (len + 3) & ~3;
    if (b.length - o < 4 + padded + 4) {
      truncatedAt = o;
      break;
    }
    blocks.push({ data: b.subarray(o + 4, o + 4 + len), timeMs: dv.getUint32(o + 4 + padded) });
    o += 4 + padded + 4;
  }
  return { version: magic.trim(), blocks, truncatedAt };
}

/** Encode FBS 001.001 from blocks. */
export function encodeFbs(blocks: FbsBlock[]): Buffer {
  const parts: Buffer[] = [Buffer.from(FBS_VERSIONS[1]!, 'latin1')];
  for (const blk of blocks) {
    const padded = (blk.data.length + 3) & ~3;
    const out = Buffer.alloc(4 + padded + 4);
    out.writeUInt32BE(blk.data.length, 0);
    out.set(blk.data, 4);
    out.writeUInt32BE(blk.timeMs >>> 0, 4 + padded);
    parts.push(out);
  }
  return Buffer.concat(parts);
}
