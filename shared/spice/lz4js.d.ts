// The part of lz4js (npm, no bundled types) that shared/spice/lz4-image.ts uses: raw LZ4 blocks.
declare module 'lz4js' {
  /** Largest compressed size of n input bytes. */
  export function compressBound(n: number): number;
  /** Compress src[sIndex, sIndex + sLength) into dst as one LZ4 block; 0 if nothing matched. */
  export function compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
  /** Decompress one block into dst at dIndex; returns the new dIndex. */
  export function decompressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, dIndex: number): number;
}
