// Byte-level mutations in the style of libFuzzer's MutationDispatcher: flip bits, set
// interesting values (0, -1, boundaries of u8/u16/u32, little- and big-endian), insert,
// erase, copy a chunk, splice two inputs. Deterministic from the PRNG it is given.

export type Rng = () => number;

/** mulberry32: small, fast, and the same sequence on every machine for a seed. */
export function prng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING_32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 40, 51, 4096];

function int(r: Rng, n: number): number {
  return Math.floor(r() * n);
}

function setU32(b: Uint8Array, at: number, v: number, le: boolean): void {
  for (let i = 0; i < 4 && at + i < b.length; i++) b[at + i] = (v >>> (8 * (le ? i : 3 - i))) & 0xff;
}

/** One to four mutations of `input`, never longer than maxLength. */
export function mutate(input: Uint8Array, r: Rng, maxLength: number, others: readonly Uint8Array[]): Uint8Array {
  let b = new Uint8Array(input);
  const rounds = 1 + int(r, 4);
  for (let k = 0; k < rounds; k++) {
    const op = int(r, 8);
    if (b.length === 0 && op < 6) {
      b = new Uint8Array(1 + int(r, 16)).map(() => int(r, 256));
      continue;
    }
    const at = int(r, Math.max(1, b.length));
    switch (op) {
      case 0:
        b[at] = b[at]! ^ (1 << int(r, 8));
        break;
      case 1:
        b[at] = int(r, 256);
        break;
      case 2:
        setU32(b, at, INTERESTING_32[int(r, INTERESTING_32.length)]!, r() < 0.8);
        break;
      case 3: {
        const d = int(r, 35) - 17;
        setU32(b, at & ~3, ((b[at & ~3]! | (b[(at & ~3) + 1]! << 8)) + d) >>> 0, true);
        break;
      }
      case 4: {
        const n = 1 + int(r, Math.min(64, b.length - at));
        b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + n)]);
        break;
      }
      case 5: {
        const n = 1 + int(r, 32);
        const ins = new Uint8Array(n).map(() => (r() < 0.5 ? 0 : int(r, 256)));
        b = new Uint8Array([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
        break;
      }
      case 6: {
        const from = int(r, b.length);
        const n = 1 + int(r, Math.min(64, b.length - from));
        b.copyWithin(at, from, from + n);
        break;
      }
      default: {
        const other = others.length > 0 ? others[int(r, others.length)]! : new Uint8Array(0);
        const cut = int(r, other.length + 1);
        b = new Uint8Array([...b.subarray(0, at), ...other.subarray(cut)]);
      }
    }
  }
  return b.length > maxLength ? b.subarray(0, maxLength) : b;
}

/** Random bytes, biased to short inputs and to zeros (the pages start zeroed). */
export function randomInput(r: Rng, maxLength: number): Uint8Array {
  const len = r() < 0.5 ? int(r, Math.min(64, maxLength + 1)) : int(r, maxLength + 1);
  const zeros = r() < 0.5;
  return new Uint8Array(len).map(() => (zeros && r() < 0.8 ? 0 : int(r, 256)));
}
