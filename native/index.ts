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
  /** 'shm_open', 'shm_unlink', 'ftruncate', 'fstat' or 'mmap'. */
  readonly syscall: string;
  /** The shm name, for shm_open / shm_unlink / ftruncate. */
  readonly path?: string;
}

interface NativeBinding {
  readonly PAGE_SIZE: number;
  readonly MAX_MAP_PAGES: number;
  shmOpen(name: string, opts?: ShmOpenOptions): number;
  shmUnlink(name: string): void;
  mapFd(fd: number, offset: number, length: number, writable: boolean): NativeMapping;
  mapPages(fd: number, pageIndices: readonly number[], writable: boolean): NativeMapping;
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
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(found) as NativeBinding;
  } catch (cause) {
    throw new Error(
      `xenvfb native addon at ${found} failed to load (built for another Node version?). ` +
        'Run `npm rebuild` in the project root.',
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
