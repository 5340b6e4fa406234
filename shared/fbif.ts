// Xen paravirtual framebuffer shared page and events.
// Source: xen/include/public/io/fbif.h (struct xenfb_page, union xenfb_{in,out}_event),
// xen/include/public/io/protocols.h (ABI strings), QEMU hw/display/xenfb.c
// (xenfb_map_fb's ABI guess, xenfb_configure_fb's geometry checks).
// All multi-byte fields are little-endian (x86, arm). Offsets were computed with gcc from
// fbif.h for both ABIs; test/unit/shared/fbif.test.ts pins them as golden values.

import { ByteReader, ByteWriter } from './bytes';
import { xerror } from './errors';
import { XEN_PAGE_SIZE } from './page';

// ---- event type codes (fbif.h) ----
/** In event (backend -> frontend): refresh period in ms. */
export const XENFB_TYPE_REFRESH_PERIOD = 1;
/** Out event (frontend -> backend): a rectangle changed. */
export const XENFB_TYPE_UPDATE = 2;
/** Out event (frontend -> backend): the mode changed. */
export const XENFB_TYPE_RESIZE = 3;
/** refresh-period value meaning "the display is not visible, stop updating". */
export const XENFB_NO_REFRESH = 0;

const FB_TYPE_NAMES: Record<number, string> = {
  [XENFB_TYPE_REFRESH_PERIOD]: 'XENFB_TYPE_REFRESH_PERIOD',
  [XENFB_TYPE_UPDATE]: 'XENFB_TYPE_UPDATE',
  [XENFB_TYPE_RESIZE]: 'XENFB_TYPE_RESIZE',
};
export function xenfbTypeName(n: number): string {
  return FB_TYPE_NAMES[n] ?? `XENFB_TYPE_UNKNOWN(${n})`;
}

// ---- rings (fbif.h) ----
export const XENFB_EVENT_SIZE = 40;
export const XENFB_IN_EVENT_SIZE = XENFB_EVENT_SIZE;
export const XENFB_OUT_EVENT_SIZE = XENFB_EVENT_SIZE;
export const XENFB_IN_RING_OFFS = 1024;
export const XENFB_IN_RING_SIZE = 1024;
export const XENFB_IN_RING_LEN = 25; // 1024 / 40
export const XENFB_OUT_RING_OFFS = 2048; // XENFB_IN_RING_OFFS + XENFB_IN_RING_SIZE
export const XENFB_OUT_RING_SIZE = 2048;
export const XENFB_OUT_RING_LEN = 51; // 2048 / 40

/** Defaults from fbif.h (`#ifdef __KERNEL__`). */
export const XENFB_WIDTH = 800;
export const XENFB_HEIGHT = 600;
export const XENFB_DEPTH = 32;

// ---- struct xenfb_page ----
/** Byte offsets in struct xenfb_page; identical for both ABIs up to `depth`. */
export const FbPageOffsets = {
  inCons: 0, // u32
  inProd: 4, // u32
  outCons: 8, // u32
  outProd: 12, // u32
  width: 16, // s32
  height: 20, // s32
  lineLength: 24, // u32
  memLength: 28, // u32
  depth: 32, // u8
} as const;

// ---- ABI (io/protocols.h) ----
export const XEN_IO_PROTO_ABI_X86_32 = 'x86_32-abi';
export const XEN_IO_PROTO_ABI_X86_64 = 'x86_64-abi';
export const XEN_IO_PROTO_ABI_ARM = 'arm-abi';

/** Layout of pd[] (`unsigned long`): 4-byte entries at 36 or 8-byte entries at 40. */
export type FbAbi = 'x86_64-abi' | 'x86_32-abi';

/** Byte offset of the u32 QEMU inspects when it has to guess the ABI. */
const ABI_GUESS_OFFSET = 40;

/**
 * Pick the pd[] layout from the frontend's `protocol` node.
 * - 'x86_64-abi' / 'x86_32-abi': as written.
 * - 'arm-abi': one string for arm32 (4-byte unsigned long) and arm64 (8-byte), so it does
 *   not settle the layout; we use the same guess as for a missing node. QEMU has no case
 *   for it and silently assumes its own (host) layout.
 * - undefined or '' (node missing): QEMU xenfb_map_fb's guess. The u32 at byte 40 is
 *   pd[1] of the 32-bit layout but the low half of pd[0] of the 64-bit one: 0 means
 *   32-bit, anything else 64-bit. It misreads a 32-bit guest whose framebuffer needs two
 *   or more directory pages (over 4 MiB), exactly as QEMU does.
 * - anything else: FB_E_BAD_PROTOCOL.
 */
export function parseFbAbi(protocol: string | undefined, page: Uint8Array): FbAbi {
  if (protocol === XEN_IO_PROTO_ABI_X86_64) return 'x86_64-abi';
  if (protocol === XEN_IO_PROTO_ABI_X86_32) return 'x86_32-abi';
  if (protocol === undefined || protocol === '' || protocol === XEN_IO_PROTO_ABI_ARM) {
    return new ByteReader(page, ABI_GUESS_OFFSET).u32le() === 0 ? 'x86_32-abi' : 'x86_64-abi';
  }
  throw xerror('FB_E_BAD_PROTOCOL', `unknown frontend protocol ${JSON.stringify(protocol)}`, { protocol });
}

export interface PdLayout {
  /** Byte offset of pd[0] in the shared page. */
  offset: number;
  entrySize: 4 | 8;
  /** Frame numbers held by one directory page (PAGE_SIZE / sizeof(unsigned long)). */
  entriesPerDirPage: number;
  /** pd[] entries usable before they run into the in ring at byte 1024 (fbif.h declares
   * pd[256], but 256 entries overlap the rings in both ABIs). */
  maxUsable: number;
}

const PD_LAYOUTS: Record<FbAbi, PdLayout> = {
  'x86_64-abi': Object.freeze({ offset: 40, entrySize: 8, entriesPerDirPage: 512, maxUsable: 123 }),
  'x86_32-abi': Object.freeze({ offset: 36, entrySize: 4, entriesPerDirPage: 1024, maxUsable: 247 }),
};

export function pdLayout(abi: FbAbi): PdLayout {
  return PD_LAYOUTS[abi];
}

/** Framebuffer pages covering memLength bytes. */
export function fbPagesNeeded(memLength: number): number {
  return Math.ceil(memLength / XEN_PAGE_SIZE);
}

/** Directory pages (pd[] entries) needed to list fbPages frame numbers. */
export function dirPagesNeeded(fbPages: number, abi: FbAbi): number {
  return Math.ceil(fbPages / pdLayout(abi).entriesPerDirPage);
}

// ---- header ----
export interface FbPageHeader {
  width: number;
  height: number;
  lineLength: number;
  memLength: number;
  depth: number;
}

/** The mode fields as the frontend wrote them; validate with validateFbGeometry. */
export function readFbPageHeader(page: Uint8Array): FbPageHeader {
  // s32 width @16 | s32 height @20 | u32 line_length @24 | u32 mem_length @28 | u8 depth @32
  const r = new ByteReader(page, FbPageOffsets.width);
  const width = r.s32le();
  const height = r.s32le();
  const lineLength = r.u32le();
  const memLength = r.u32le();
  const depth = r.u8();
  return { width, height, lineLength, memLength, depth };
}

export function writeFbPageHeader(page: Uint8Array, h: FbPageHeader): void {
  const w = new ByteWriter(17).s32le(h.width).s32le(h.height).u32le(h.lineLength).u32le(h.memLength).u8(h.depth);
  const bytes = w.finish();
  new ByteReader(page, FbPageOffsets.width).need(bytes.byteLength);
  page.set(bytes, FbPageOffsets.width);
}

// ---- page directory ----
function readFrames(bytes: Uint8Array, at: number, entrySize: 4 | 8, count: number, what: string): number[] {
  const r = new ByteReader(bytes, at);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    if (entrySize === 4) {
      out.push(r.u32le());
      continue;
    }
    const v = r.u64le();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw xerror('FB_E_BAD_PD', `${what}[${i}] frame ${v} is beyond 2^53`, { index: i, frame: v.toString() });
    }
    out.push(Number(v));
  }
  return out;
}

function writeFrames(bytes: Uint8Array, at: number, entrySize: 4 | 8, frames: readonly number[], what: string): void {
  const max = entrySize === 4 ? 0xffffffff : Number.MAX_SAFE_INTEGER;
  const w = new ByteWriter(frames.length * entrySize);
  frames.forEach((f, i) => {
    if (!Number.isInteger(f) || f < 0 || f > max) {
      throw xerror('FB_E_BAD_PD', `${what}[${i}] frame ${f} does not fit ${entrySize} bytes`, { index: i, frame: f });
    }
    if (entrySize === 4) w.u32le(f);
    else w.u64le(BigInt(f));
  });
  const out = w.finish();
  new ByteReader(bytes, at).need(out.byteLength);
  bytes.set(out, at);
}

function checkCount(count: number, max: number, what: string): void {
  if (!Number.isInteger(count) || count < 0 || count > max) {
    throw xerror('FB_E_BAD_PD', `${what}: ${count} entries, at most ${max} fit`, { count, max });
  }
}

/** pd[0..count): the frame numbers of the directory pages. */
export function readPd(page: Uint8Array, abi: FbAbi, count: number): number[] {
  const l = pdLayout(abi);
  checkCount(count, l.maxUsable, 'pd');
  return readFrames(page, l.offset, l.entrySize, count, 'pd');
}

export function writePd(page: Uint8Array, abi: FbAbi, frames: readonly number[]): void {
  const l = pdLayout(abi);
  checkCount(frames.length, l.maxUsable, 'pd');
  writeFrames(page, l.offset, l.entrySize, frames, 'pd');
}

/** The first `count` framebuffer frame numbers held by one directory page. */
export function readDirPage(dirPage: Uint8Array, abi: FbAbi, count: number): number[] {
  const l = pdLayout(abi);
  checkCount(count, l.entriesPerDirPage, 'directory page');
  return readFrames(dirPage, 0, l.entrySize, count, 'dir');
}

export function writeDirPage(dirPage: Uint8Array, abi: FbAbi, frames: readonly number[]): void {
  const l = pdLayout(abi);
  checkCount(frames.length, l.entriesPerDirPage, 'directory page');
  writeFrames(dirPage, 0, l.entrySize, frames, 'dir');
}

/** Bytes of `pages` directory pages, or FB_E_BAD_PD when the buffer is too short. */
function dirPageSlice(dirPages: Uint8Array, index: number, what: string): Uint8Array {
  const at = index * XEN_PAGE_SIZE;
  if (dirPages.byteLength < at + XEN_PAGE_SIZE) {
    throw xerror('FB_E_BAD_PD', `${what}: directory page ${index} is beyond the ${dirPages.byteLength} bytes given`, { index });
  }
  return dirPages.subarray(at, at + XEN_PAGE_SIZE);
}

/**
 * The first `count` framebuffer frame numbers held by consecutive directory pages (page i
 * at byte i * XEN_PAGE_SIZE), entriesPerDirPage per page, as xen-fbfront lays them out.
 */
export function readDirPages(dirPages: Uint8Array, abi: FbAbi, count: number): number[] {
  const per = pdLayout(abi).entriesPerDirPage;
  const frames: number[] = [];
  for (let i = 0; frames.length < count; i++) {
    frames.push(...readDirPage(dirPageSlice(dirPages, i, 'read'), abi, Math.min(per, count - frames.length)));
  }
  return frames;
}

/** The frontend's side of readDirPages: `frames` laid out over consecutive directory pages. */
export function writeDirPages(dirPages: Uint8Array, abi: FbAbi, frames: readonly number[]): void {
  const per = pdLayout(abi).entriesPerDirPage;
  for (let i = 0; i * per < frames.length; i++) {
    writeDirPage(dirPageSlice(dirPages, i, 'write'), abi, frames.slice(i * per, (i + 1) * per));
  }
}

/**
 * Every framebuffer frame number for memLength bytes, the way QEMU xenfb_map_fb collects
 * them: pd[] names the directory pages (read once), `mapDirPages` maps them all in one go
 * (privcmd and gntdev map a batch) and returns their bytes in pd[] order, each entry of
 * which is read exactly once (the guest may change them under us).
 */
export function readFbFrames(
  page: Uint8Array,
  abi: FbAbi,
  memLength: number,
  mapDirPages: (dirFrames: readonly number[]) => Uint8Array,
): number[] {
  const fbPages = fbPagesNeeded(memLength);
  const dirs = readPd(page, abi, dirPagesNeeded(fbPages, abi));
  return readDirPages(mapDirPages(dirs), abi, fbPages);
}

// ---- geometry validation (QEMU xenfb_configure_fb) ----
/** Our default cap on mem_length. QEMU allows 256 * 512 * 4096 (512 MiB), more than pd[]
 * can actually describe; 64 MiB covers 4096x4096x32 with room to spare. */
export const FB_MAX_MEM_LENGTH = 64 * 1024 * 1024;
/** Cap on width and height: fits RFB's u16 sizes and common texture limits. */
export const FB_MAX_DIMENSION = 16384;
/** Depths QEMU accepts (bits per pixel). */
export const FB_DEPTHS: readonly number[] = [8, 16, 24, 32];

export interface FbLimits {
  maxMemLength: number;
  /** Largest width or height; defaults to FB_MAX_DIMENSION. */
  maxDimension?: number;
}

export interface FbGeometry {
  width: number;
  height: number;
  /** Bytes per row (line_length). */
  stride: number;
  /** Bits per pixel. */
  depth: number;
  /** Byte offset of the first pixel in the framebuffer memory. */
  offset: number;
  memLength: number;
}

export interface FbGeometryInput {
  width: number;
  height: number;
  depth: number;
  memLength: number;
  /** Either stride or lineLength (the page header's name) gives bytes per row. */
  stride?: number;
  lineLength?: number;
  offset?: number;
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/**
 * Check a mode from the page header or a RESIZE event. Where QEMU clamps width and height
 * to what the memory holds, we refuse the mode: the caller keeps the previous one (or
 * refuses to connect) and logs the error, whose details carry the offending values.
 */
export function validateFbGeometry(g: FbGeometryInput, limits: Partial<FbLimits> = {}): FbGeometry {
  const maxMem = limits.maxMemLength ?? FB_MAX_MEM_LENGTH;
  const maxDim = limits.maxDimension ?? FB_MAX_DIMENSION;
  const { width, height, depth, memLength } = g;
  const stride = g.stride ?? g.lineLength;
  const offset = g.offset ?? 0;
  const values = { width, height, depth, stride, offset, memLength };

  if (!isInt(memLength) || memLength < 1 || memLength > maxMem) {
    throw xerror('FB_E_BAD_MEM', `mem_length ${memLength} outside [1, ${maxMem}]`, { ...values, maxMemLength: maxMem });
  }
  if (!isInt(depth) || !FB_DEPTHS.includes(depth)) {
    throw xerror('FB_E_BAD_GEOMETRY', `depth ${depth} not one of ${FB_DEPTHS.join('/')}`, values);
  }
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!isInt(v) || v < 1 || v > maxDim) {
      throw xerror('FB_E_BAD_GEOMETRY', `${name} ${v} outside [1, ${maxDim}]`, { ...values, maxDimension: maxDim });
    }
  }
  const minStride = width * (depth / 8);
  if (!isInt(stride) || stride < minStride || stride > memLength) {
    throw xerror('FB_E_BAD_STRIDE', `stride ${stride} outside [${minStride}, ${memLength}] for width ${width} depth ${depth}`, {
      ...values,
      minStride,
    });
  }
  const needed = isInt(offset) ? offset + stride * height : NaN;
  if (!isInt(offset) || offset < 0 || !(needed <= memLength)) {
    throw xerror('FB_E_BAD_MEM', `offset ${offset} + stride ${stride} * height ${height} exceeds mem_length ${memLength}`, {
      ...values,
      needed,
    });
  }
  return { width, height, stride, depth, offset, memLength };
}

// ---- events ----
export type FbOutEvent =
  | { type: 'update'; x: number; y: number; width: number; height: number }
  | { type: 'resize'; width: number; height: number; stride: number; depth: number; offset: number };

export type FbInEvent = { type: 'refresh-period'; period: number } | { type: 'unknown'; code: number };

function finishSlot(w: ByteWriter): Uint8Array {
  w.zeros(XENFB_EVENT_SIZE - w.length);
  return new Uint8Array(w.finish());
}

export function encodeFbOutEvent(ev: FbOutEvent): Uint8Array {
  const w = new ByteWriter(XENFB_EVENT_SIZE);
  switch (ev.type) {
    case 'update':
      // u8 type | u8 pad[3] | s32 x | s32 y | s32 width | s32 height
      w.u8(XENFB_TYPE_UPDATE).zeros(3).s32le(ev.x).s32le(ev.y).s32le(ev.width).s32le(ev.height);
      break;
    case 'resize':
      // u8 type | u8 pad[3] | s32 width | s32 height | s32 stride | s32 depth | s32 offset
      w.u8(XENFB_TYPE_RESIZE).zeros(3).s32le(ev.width).s32le(ev.height).s32le(ev.stride).s32le(ev.depth).s32le(ev.offset);
      break;
  }
  return finishSlot(w);
}

/** Raw values, unvalidated. fbif.h: "receipt of an unknown out event is an error". */
export function decodeFbOutEvent(slot: Uint8Array): FbOutEvent {
  const r = new ByteReader(slot);
  r.need(XENFB_EVENT_SIZE);
  const code = r.u8();
  r.skip(3);
  switch (code) {
    case XENFB_TYPE_UPDATE:
      return { type: 'update', x: r.s32le(), y: r.s32le(), width: r.s32le(), height: r.s32le() };
    case XENFB_TYPE_RESIZE:
      return {
        type: 'resize',
        width: r.s32le(),
        height: r.s32le(),
        stride: r.s32le(),
        depth: r.s32le(),
        offset: r.s32le(),
      };
    default:
      throw xerror('FB_E_BAD_EVENT', `unknown fbif out event ${xenfbTypeName(code)}`, { code });
  }
}

export function encodeFbInEvent(ev: FbInEvent): Uint8Array {
  const w = new ByteWriter(XENFB_EVENT_SIZE);
  if (ev.type === 'refresh-period') {
    // u8 type | u8 pad[3] | u32 period (ms)
    w.u8(XENFB_TYPE_REFRESH_PERIOD).zeros(3).u32le(ev.period);
  } else {
    w.u8(ev.code);
  }
  return finishSlot(w);
}

/** fbif.h: "frontends should ignore unknown in events", so those decode, not throw. */
export function decodeFbInEvent(slot: Uint8Array): FbInEvent {
  const r = new ByteReader(slot);
  r.need(XENFB_EVENT_SIZE);
  const code = r.u8();
  if (code !== XENFB_TYPE_REFRESH_PERIOD) return { type: 'unknown', code };
  r.skip(3);
  return { type: 'refresh-period', period: r.u32le() };
}
