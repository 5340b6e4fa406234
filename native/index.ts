// The one loader of the xenvfb_native addon and the typed description of its whole
// surface. Argument checks live in C++ (src/args.cc); this file only loads and types.
// What the addon does and how it is built: ./README.md.

import * as fs from 'node:fs';
import * as path from 'node:path';

/** A mapping of pages into this process. Also satisfies shared/platform/types.ts MappedRegion. */
export interface NativeMapping {
  /** External ArrayBuffer over the mapping; detached (byteLength 0) after unmap(). */
  readonly buffer: ArrayBuffer;
  /** Bytes mapped; 0 after unmap(), so `length === buffer.byteLength` always holds. */
  readonly length: number;
  readonly writable: boolean;
  /** false after unmap() (or once the buffer was garbage-collected and the pages released). */
  readonly mapped: boolean;
  /** munmap and detach the buffer, so stale views read as length 0. Idempotent. */
  unmap(): void;
}

export interface ShmOpenOptions {
  /** O_CREAT. */
  create?: boolean;
  /** O_EXCL; needs create. */
  exclusive?: boolean;
  /** ftruncate to this many bytes after opening; needs create, not with readonly. */
  size?: number;
  /** O_RDONLY instead of O_RDWR. */
  readonly?: boolean;
}

/** What a failed system call throws. Argument errors are TypeError/RangeError with Node's ERR_* codes instead. */
export interface NativeError extends Error {
  /** Positive errno value, as in <errno.h>. */
  readonly errno: number;
  /** errno name, e.g. 'ENOENT' (the names Node's own fs errors use). */
  readonly code: string;
  /** 'shm_open', 'shm_unlink', 'ftruncate', 'fstat', 'mmap', 'open', 'ioctl', 'read', 'write', 'uv_poll_*'. */
  readonly syscall: string;
  /** The shm name, for shm_open / shm_unlink / ftruncate; the device node for /dev/xen/* calls. */
  readonly path?: string;
  /**
   * Privcmd.mapForeign only: per requested frame, 0 or the negative errno
   * IOCTL_PRIVCMD_MMAPBATCH_V2 reported for it (e.g. -22 EINVAL, -2 ENOENT paged out).
   */
  readonly errors?: readonly number[];
}

// ---- real Xen devices (src/xen-*.cc) ------------------------------------------------------
// No TS twin is possible for these (STYLE 12): they are ioctls on /dev/xen/* nodes. The
// simulator (shared/platform/sim) is the stand-in that tests run against instead.

/** The device nodes the Xen handles open unless given another path. */
export const XEN_DEVICE_PATHS = {
  privcmd: '/dev/xen/privcmd',
  gntdev: '/dev/xen/gntdev',
  gntalloc: '/dev/xen/gntalloc',
  evtchn: '/dev/xen/evtchn',
  xenbus: '/dev/xen/xenbus',
} as const;

/** SET_UNMAP_NOTIFY request: what the kernel does when the mapping goes away (also on a crash). */
export interface UnmapNotify {
  /** UNMAP_NOTIFY_CLEAR_BYTE: zero this byte of the mapping (0..length-1). */
  offset?: number;
  /** UNMAP_NOTIFY_SEND_EVENT: notify this event channel port (bound in this process). */
  port?: number;
}

/** An open /dev/xen/privcmd. */
export interface PrivcmdHandle {
  /**
   * mmap(MAP_SHARED) of frames.length pages of the privcmd fd, filled by
   * IOCTL_PRIVCMD_MMAPBATCH_V2 with the frames (GFNs; MFNs for PV guests) of `domid`, in
   * order. If any page fails the whole range is unmapped and the error has `errors`.
   */
  mapForeign(domid: number, frames: readonly number[], writable: boolean): NativeMapping;
  /** Closes the fd; mappings made through it stay valid. Later calls throw EBADF. */
  close(): void;
  readonly closed: boolean;
}

/** An open /dev/xen/gntdev. */
export interface GntdevHandle {
  /**
   * IOCTL_GNTDEV_MAP_GRANT_REF of `refs` granted by `domid`, then mmap at the returned
   * index (where the grant hypercall happens: a bad ref fails the mmap with EINVAL).
   * unmap() = munmap + IOCTL_GNTDEV_UNMAP_GRANT_REF. 1..MAX_GRANTS_PER_CALL refs.
   */
  mapGrants(domid: number, refs: readonly number[], writable: boolean, notify?: UnmapNotify): NativeMapping;
  /** Closes the handle; each live mapping keeps the fd until its unmap() told gntdev. */
  close(): void;
  readonly closed: boolean;
}

export interface SharedGrants {
  /** One grant reference per page, in mapping order. */
  readonly refs: number[];
  /** Our zeroed pages, always mapped read-write; unmap() ends the grants. */
  readonly mapping: NativeMapping;
}

/** An open /dev/xen/gntalloc. */
export interface GntallocHandle {
  /**
   * IOCTL_GNTALLOC_ALLOC_GREF of `count` pages granted to `domid` (writable: the remote
   * may write), mmap at index, optional SET_UNMAP_NOTIFY, then DEALLOC_GREF at once: the
   * grants end when the mapping is unmapped (as libxengntshr does).
   */
  share(domid: number, count: number, writable: boolean, notify?: UnmapNotify): SharedGrants;
  close(): void;
  readonly closed: boolean;
}

/**
 * Called on the event loop with the ports that fired (each stays masked until unmask()),
 * or with an error when reading the device failed; then polling has stopped (EFBIG: the
 * kernel's ring overflowed and events were lost) until reset() + resume().
 */
export type EvtchnListener = (error: NativeError | null, ports: number[] | null) => void;

/** An open /dev/xen/evtchn, polled by libuv; keeps the event loop alive until close() or unref(). */
export interface EvtchnHandle {
  /** IOCTL_EVTCHN_BIND_INTERDOMAIN -> the local port. */
  bindInterdomain(remoteDomid: number, remotePort: number): number;
  /** IOCTL_EVTCHN_BIND_UNBOUND_PORT -> a new local port `remoteDomid` may bind. */
  bindUnboundPort(remoteDomid: number): number;
  /** IOCTL_EVTCHN_UNBIND */
  unbind(port: number): void;
  /** IOCTL_EVTCHN_NOTIFY */
  notify(port: number): void;
  /** write() the port back so it can fire again. */
  unmask(port: number): void;
  /** IOCTL_EVTCHN_RESET: empty the pending ring and clear its overflow. */
  reset(): void;
  /** Poll again after a read error stopped it. */
  resume(): void;
  ref(): void;
  unref(): void;
  /** Stops polling and closes the fd, which unbinds every port bound through it. Idempotent. */
  close(): void;
  readonly closed: boolean;
}

/**
 * Called on the event loop with the bytes of the reply stream drained from the device
 * (replies and watch events, in any chunking); `bytes` null means end of file. With an
 * error, reading failed and polling has stopped: the connection is unusable.
 */
export type XenbusListener = (error: NativeError | null, bytes?: Buffer | null) => void;

/** An open /dev/xen/xenbus (O_NONBLOCK, polled by libuv); keeps the event loop alive until close() or unref(). */
export interface XenbusDevHandle {
  /** One whole xenstore message, header + payload, 1..4096 bytes (the driver's buffer). */
  write(bytes: Uint8Array): void;
  ref(): void;
  unref(): void;
  /** Stops polling and closes the fd; the kernel ends our transactions and watches. Idempotent. */
  close(): void;
  readonly closed: boolean;
}

export interface XenStructLayout {
  readonly size: number;
  readonly [field: string]: number;
}

/** The ABI as compiled (src/xen-abi.h), for tests to compare with the documented numbers. */
export interface XenLayout {
  readonly structs: Readonly<Record<string, XenStructLayout>>;
  readonly ioctls: Readonly<Record<string, number>>;
  /** true when the build host had the kernel's xen uapi headers and they agreed. */
  readonly checkedAgainstUapi: boolean;
}

// ---- codecs (src/jpeg.cc) -----------------------------------------------------------------
// Fast paths with TS twins (STYLE 12): backend/vnc/encoders/jpeg.ts holds the jpeg-js twin and
// the switch (XENVFB_NO_NATIVE_JPEG=1) that forces it.

/** 4-byte pixels named by their byte order in memory (TurboJPEG TJPF_RGBX, TJPF_BGRX, ...). */
export type JpegPixelFormat = 'RGBX' | 'BGRX' | 'XRGB' | 'XBGR';

/** TurboJPEG chroma subsampling (TJSAMP_444 = 0, TJSAMP_422 = 1, TJSAMP_420 = 2). */
export const TJSAMP = { S444: 0, S422: 1, S420: 2 } as const;

/** The image compress() and submit() take: `width` x `height` pixels from byte `offset` of `pixels`, rows `stride` apart. */
export type JpegCompressArgs = [
  pixels: Uint8Array,
  offset: number,
  width: number,
  height: number,
  stride: number,
  pixelFormat: JpegPixelFormat,
  quality: number,
  subsampling: number,
];

/** libjpeg-turbo's TurboJPEG API, present when the addon was built with it (libturbojpeg0-dev). */
export interface TurboJpeg {
  /**
   * tjCompress2 of a width x height image starting at byte `offset` of `pixels`, rows `stride`
   * bytes apart: a baseline JFIF image. Quality 1..100; fast DCT below 90. Sizes are checked
   * against the view (RangeError ERR_OUT_OF_RANGE); a libjpeg-turbo failure is an Error with
   * code TJ_E_COMPRESS.
   */
  compress(...args: JpegCompressArgs): Buffer;
  /**
   * compress() on one of this thread's pool threads (jpeg-pool.cc), the same checks and bytes;
   * take() waits and returns the image. `pixels` must not be transferred before take(). Absent
   * from an older addon.
   */
  submit?(...args: JpegCompressArgs): { take(): Buffer };
  /** Pool threads submit() uses (the CPUs, 2..4). */
  readonly threads?: number;
  readonly version: string;
}

/**
 * Hextile tiles of one rect, the native twin of backend/vnc/encoders/hextile.ts (same bytes):
 * `values` are the rect's client pixel values (row-major, `width` per row), `bytes` the same
 * pixels as client wire bytes (`bpp` 1, 2 or 4 each). Writes at out[outOffset] and returns the
 * end offset; sizes are checked (RangeError ERR_OUT_OF_RANGE), never written past.
 */
export type HextileNative = (
  values: Uint32Array,
  bytes: Uint8Array,
  width: number,
  height: number,
  bpp: number,
  out: Uint8Array,
  outOffset: number,
) => number;

/**
 * The colours of px[0..n) into `colours`, most frequent first (ties: first appearance), and
 * each pixel's index in them into `indices` (or null): the native twin of PaletteBuilder.build
 * 'all' plus Tight's index pass. Returns the colour count, or 0 past `max` (1..256).
 */
export type PaletteIndexNative = (px: Uint32Array, n: number, max: number, colours: Uint32Array, indices: Uint8Array | null) => number;

/**
 * The uncompressed ZRLE tile stream of one rect, the native twin of zrle.ts's tile loop (same
 * bytes): `values` row-major, `width` per row; CPIXEL byte k is value >>> shifts[k]. Writes at
 * out[outOffset] and returns the end offset; sizes checked, never written past.
 */
export type ZrleTilesNative = (
  values: Uint32Array,
  width: number,
  height: number,
  shifts: Uint8Array,
  out: Uint8Array,
  outOffset: number,
) => number;

/**
 * One persistent zlib deflate stream (Node's own zlib): each compress() output ends on a
 * Z_SYNC_FLUSH boundary, the first one starting with the zlib header. The native twin of
 * DeflateStream in backend/vnc/encoders/zstream.ts (same inflated bytes). end() frees the
 * state at once; otherwise the collector does.
 */
export interface DeflaterHandle {
  compress(data: Uint8Array): Buffer;
  end(): void;
  /** Rects of 64 KiB or more whose sampled bytes looked random, sent at level 0 (stored) through the same stream. */
  readonly storedRects: number;
}

/**
 * Tight's gradient filter and 24-bit TPIXEL packing, the native twins of tight-filters.ts.
 * `channels` is [redShift, redMax, greenShift, greenMax, blueShift, blueMax].
 */
export interface TightFiltersNative {
  /**
   * Mean folded residual over every step-th pixel from index width + 1 (isSmooth's score), or -1
   * when none; with a limit, stops once the part summed reaches it and returns that part (>= limit).
   */
  smoothScore(px: Uint32Array, width: number, channels: Uint32Array, step: number, limit?: number): number;
  /** Residuals as pixel values (Uint32Array out) or as R, G, B bytes (Uint8Array out, 8-bit channels). */
  gradient(px: Uint32Array, width: number, channels: Uint32Array, out: Uint32Array | Uint8Array): void;
  /** Pixels as R, G, B bytes (24-bit TPIXELs). */
  pack24(px: Uint32Array, channels: Uint32Array, out: Uint8Array): void;
}

/** The classifier's sampling over 32-bit little-endian pixels, the native twin of classify.ts's word paths. */
export interface ClassifyNative {
  /** Every pixel of the rect equal under `mask`? */
  solidWords(words: Uint32Array, stride: number, x: number, y: number, width: number, height: number, mask: number): boolean;
  /** The sampled histogram: out <- [samples, distinct colours, sum of cLog2c[count] in order of first appearance]. */
  sampleWords(
    words: Uint32Array,
    stride: number,
    x: number,
    y: number,
    width: number,
    height: number,
    mask: number,
    step: number,
    limit: number,
    cLog2c: Float64Array,
    out: Float64Array,
  ): void;
}

// ---- unix stream sockets (src/unix-socket.cc) ---------------------------------------------
// The embedded xenstored's sockets without net.Socket's stream pipeline; the TS twin is
// net.Socket itself (shared/xenstore/server/socket-io.ts).

/** An accepted connection's fd (non-blocking, close-on-exec), or why accepting paused. */
export type UnixConnectionListener = (error: NativeError | null, fd: number | null) => void;

/** A listening unix stream socket (`listenUnix`). */
export interface UnixListenerHandle {
  /** Accepts again after an error paused it (EMFILE, ENFILE, ENOMEM). */
  resume(): void;
  /** Stops accepting and closes the socket; the path is the caller's to unlink. Idempotent. */
  close(): void;
}

/** What a UnixStream reports through its listener's `kind`. */
export const UNIX_STREAM_EVENT = { data: 0, end: 1, error: 2, writable: 3 } as const;

/** kind data: `value` bytes were read into the start of the read buffer (valid during the call only); end: the peer closed; error: `value` is the errno; writable: room to write again. */
export type UnixStreamListener = (kind: number, value: number) => void;

/** A connected unix stream socket (`openUnixStream`). */
export interface UnixStreamHandle {
  /** send(2) of bytes[offset, offset + length): bytes the kernel took (0 when full), or -errno (EPIPE, ECONNRESET). */
  write(bytes: Uint8Array, offset: number, length: number): number;
  /** Read (the default) or stop reading. */
  setReading(on: boolean): void;
  /** Report writability while on (for output the kernel refused). */
  setWritable(on: boolean): void;
  /** Stops polling and closes the fd. Idempotent. */
  close(): void;
}

interface NativeBinding {
  readonly PAGE_SIZE: number;
  readonly MAX_MAP_PAGES: number;
  shmOpen(name: string, opts?: ShmOpenOptions): number;
  shmUnlink(name: string): void;
  mapFd(fd: number, offset: number, length: number, writable: boolean): NativeMapping;
  mapPages(fd: number, pageIndices: readonly number[], writable: boolean): NativeMapping;
  readonly MAX_GRANTS_PER_CALL: number;
  Privcmd: new (path?: string) => PrivcmdHandle;
  Gntdev: new (path?: string) => GntdevHandle;
  Gntalloc: new (path?: string) => GntallocHandle;
  Evtchn: new (onEvents: EvtchnListener, path?: string) => EvtchnHandle;
  XenbusDev: new (onData: XenbusListener, path?: string) => XenbusDevHandle;
  xenLayout(): XenLayout;
  readonly turbojpeg?: TurboJpeg;
  readonly hextile?: HextileNative;
  readonly paletteIndex?: PaletteIndexNative;
  readonly zrleTiles?: ZrleTilesNative;
  readonly Deflater?: new (level: number) => DeflaterHandle;
  readonly tightFilters?: TightFiltersNative;
  readonly classify?: ClassifyNative;
  readonly lowMemoryNotification?: () => void;
  readonly schedBatch?: () => number;
  UnixListener: new (path: string, backlog: number, onConnection: UnixConnectionListener) => UnixListenerHandle;
  UnixStream: new (fd: number, readBuffer: Buffer, onEvent: UnixStreamListener) => UnixStreamHandle;
}

const BINARY = path.join('build', 'Release', 'xenvfb_native.node');

// Beside this file when run from source (ts-node); from dist/native, the source tree's copy.
function candidatePaths(): string[] {
  const beside = path.join(__dirname, BINARY);
  const fromDist = path.resolve(__dirname, '..', '..', 'native', BINARY);
  return beside === fromDist ? [beside] : [beside, fromDist];
}

function loadBinding(): NativeBinding {
  const tried = candidatePaths();
  const found = tried.find((p) => fs.existsSync(p));
  if (found === undefined) {
    throw new Error(
      `xenvfb native addon is not built (tried ${tried.join(', ')}). ` +
        'Run `npm install` (or `npm rebuild`) in the project root; it needs a C++17 compiler, make and python3.',
    );
  }
  try {
    return require(found) as NativeBinding;
  } catch (cause) {
    throw new Error(
      `xenvfb native addon at ${found} failed to load (built for another Node version?). ` + 'Run `npm rebuild` in the project root.',
      { cause },
    );
  }
}

const binding = loadBinding();

/** sysconf(_SC_PAGESIZE). */
export const PAGE_SIZE: number = binding.PAGE_SIZE;

/** Largest pageIndices.length mapPages accepts (1 GiB of 4 KiB pages). */
export const MAX_MAP_PAGES: number = binding.MAX_MAP_PAGES;

/**
 * POSIX shm_open of `name` ('/' + up to 255 characters without '/'), mode 0600, close-on-exec.
 * With `create` and `size`, ftruncates to `size`. Returns the fd; close it with fs.closeSync.
 */
export function shmOpen(name: string, opts?: ShmOpenOptions): number {
  return binding.shmOpen(name, opts);
}

export function shmUnlink(name: string): void {
  binding.shmUnlink(name);
}

/**
 * mmap(MAP_SHARED) of [offset, offset + length) of `fd`. `offset` must be a multiple of
 * PAGE_SIZE. A range past the end of a regular file (shm object) throws ENXIO rather than
 * mapping pages that would SIGBUS when touched.
 */
export function mapFd(fd: number, offset: number, length: number, writable: boolean): NativeMapping {
  return binding.mapFd(fd, offset, length, writable);
}

/**
 * One contiguous view whose page k is page pageIndices[k] of `fd` (MAP_SHARED; indices may
 * repeat and come in any order; consecutive runs become one mmap). This is how the
 * simulator stands in for gntdev/privcmd. 1..MAX_MAP_PAGES non-negative integer indices.
 */
export function mapPages(fd: number, pageIndices: readonly number[], writable: boolean): NativeMapping {
  return binding.mapPages(fd, pageIndices, writable);
}

/** Most refs one mapGrants call, and most pages one share call, accept (gntdev's default limit, 65536). */
export const MAX_GRANTS_PER_CALL: number = binding.MAX_GRANTS_PER_CALL;

/** Opens /dev/xen/privcmd (or `path`, e.g. /proc/xen/privcmd). Off Xen: ENOENT, syscall 'open'. */
export function openPrivcmd(path?: string): PrivcmdHandle {
  return new binding.Privcmd(path);
}

/** Opens /dev/xen/gntdev (or `path`). Off Xen: ENOENT, syscall 'open'. */
export function openGntdev(path?: string): GntdevHandle {
  return new binding.Gntdev(path);
}

/** Opens /dev/xen/gntalloc (or `path`). Off Xen: ENOENT, syscall 'open'. */
export function openGntalloc(path?: string): GntallocHandle {
  return new binding.Gntalloc(path);
}

/** Opens /dev/xen/evtchn (or `path`) non-blocking and starts polling it. Off Xen: ENOENT. */
export function openEvtchn(onEvents: EvtchnListener, path?: string): EvtchnHandle {
  return new binding.Evtchn(onEvents, path);
}

/** Opens /dev/xen/xenbus (or `path`) non-blocking and polls it; `onData` gets the reply stream. */
export function openXenbusDev(onData: XenbusListener, path?: string): XenbusDevHandle {
  return new binding.XenbusDev(onData, path);
}

/**
 * socket + bind + listen on `path` (which must not exist), polled on the loop: each accepted
 * connection comes to `onConnection` as an fd for openUnixStream. Errors carry errno/code and
 * syscall 'socket', 'bind' or 'listen'.
 */
export function listenUnix(path: string, backlog: number, onConnection: UnixConnectionListener): UnixListenerHandle {
  return new binding.UnixListener(path, backlog, onConnection);
}

/**
 * Polls the connected socket `fd`, which it owns from then on (close() closes it; if this
 * throws, the fd is still the caller's). Each readable turn is one read(2) into `readBuffer`.
 */
export function openUnixStream(fd: number, readBuffer: Buffer, onEvent: UnixStreamListener): UnixStreamHandle {
  return new binding.UnixStream(fd, readBuffer, onEvent);
}

/** Sizes, field offsets and ioctl numbers of the Xen ABI structs as compiled. */
export function xenLayout(): XenLayout {
  return binding.xenLayout();
}

/** JPEG through libjpeg-turbo, or null when the addon was built without it (then jpeg-js is used). */
export const turbojpeg: TurboJpeg | null = binding.turbojpeg ?? null;

/** Hextile tile encoding in C++, or null when the loaded addon predates it (then hextile.ts's TS path runs). */
export const hextileNative: HextileNative | null = binding.hextile ?? null;

/** Colour counting with per-pixel indices in C++ (Tight's palette), or null with an older addon. */
export const paletteIndexNative: PaletteIndexNative | null = binding.paletteIndex ?? null;

/** ZRLE's tile loop in C++, or null with an older addon (then zrle.ts's TS loop runs). */
export const zrleTilesNative: ZrleTilesNative | null = binding.zrleTiles ?? null;

/** A persistent zlib stream in C++ (level 0..9), or null with an older addon (then zstream.ts's dictionary twin runs). */
export const DeflaterNative: (new (level: number) => DeflaterHandle) | null = binding.Deflater ?? null;

/** Tight's gradient filter and TPIXEL packing in C++, or null with an older addon (then tight-filters.ts's loops run). */
export const tightFiltersNative: TightFiltersNative | null = binding.tightFilters ?? null;

/** The classifier's solid test and sampling in C++, or null with an older addon (then classify.ts's loops run). */
export const classifyNative: ClassifyNative | null = binding.classify ?? null;

/**
 * Puts the calling thread under SCHED_BATCH (native/src/sched.cc: why the encode threads are):
 * 0, or the errno of the failure (ENOSYS off Linux). Null with an older addon.
 */
export const schedBatch: (() => number) | null = binding.schedBatch ?? null;

/**
 * V8's LowMemoryNotification on this thread: collect all garbage, compacting, and return unused
 * heap pages to the system (synchronous, ~10-30 ms). Null with an older addon. What an idle
 * backend calls once when no one is looking (backend/idle-memory.ts); no TS twin can exist.
 */
export const lowMemoryNotification: (() => void) | null = binding.lowMemoryNotification ?? null;
