// A simulated guest's own memory and grant table: the guest side of grant sharing.
// Memory is the domain's `memory` file (frame n = page n); the grant table is its
// `grant-table` file, written here with Xen v1 semantics and read by SimGrantMapper in
// other processes. See README.md for why a new SimGuestMemory is a "reboot".

import * as fs from 'node:fs';
import * as native from '../../../native';
import { xerror } from '../../errors';
import type { GrantSharer, GuestMemory, MappedRegion, SharedPages } from '../types';
import { GNTTAB_NR_RESERVED_ENTRIES, GRANT_TABLE_BYTES, GrantTableWriter, NR_GRANT_ENTRIES, checkGrantRef } from './grant-table';
import { grantTablePath, isValidDomid, memoryPath } from './layout';
import { XEN_PAGE_SIZE } from '../../page';

/** Frames below this are never handed out (as if firmware, start-info and xenstore ring lived there). */
export const SIM_RESERVED_FRAMES = 16;

/** First-fit page allocator over frame numbers; pure bookkeeping, no memory access. */
export class FrameAllocator {
  private readonly used: Uint8Array;
  private freeCount: number;

  constructor(
    readonly pages: number,
    readonly reserved = SIM_RESERVED_FRAMES,
  ) {
    this.used = new Uint8Array(pages);
    this.used.fill(1, 0, Math.min(reserved, pages));
    this.freeCount = Math.max(0, pages - reserved);
  }

  get free(): number {
    return this.freeCount;
  }

  /** `count` frames, lowest first; throws SIM_E_NO_MEMORY when they are not there. */
  alloc(count: number): number[] {
    if (!Number.isInteger(count) || count < 1) {
      throw xerror('SIM_E_NO_MEMORY', `cannot allocate ${count} pages`, { count });
    }
    if (count > this.freeCount) {
      throw xerror('SIM_E_NO_MEMORY', `need ${count} pages, ${this.freeCount} free`, { count, free: this.freeCount });
    }
    const frames: number[] = [];
    for (let f = this.reserved; f < this.pages && frames.length < count; f += 1) {
      if (this.used[f] === 0) frames.push(f);
    }
    for (const f of frames) this.used[f] = 1;
    this.freeCount -= count;
    return frames;
  }

  isAllocated(frame: number): boolean {
    return Number.isInteger(frame) && frame >= this.reserved && frame < this.pages && this.used[frame] === 1;
  }

  /** Throws MAP_E_BAD_FRAME for a frame that is reserved, outside memory or not allocated. */
  release(frames: readonly number[]): void {
    for (const f of frames) {
      if (!this.isAllocated(f)) throw xerror('MAP_E_BAD_FRAME', `frame ${f} is not allocated`, { frame: f });
    }
    for (const f of frames) {
      this.used[f] = 0;
      this.freeCount += 1;
    }
  }
}

/** Free grant references (8 .. NR_GRANT_ENTRIES-1), handed out lowest first. */
export class GrantRefAllocator {
  private readonly inUse = new Uint8Array(NR_GRANT_ENTRIES);
  private next = GNTTAB_NR_RESERVED_ENTRIES;
  private count = 0;

  alloc(n: number): number[] {
    const free = NR_GRANT_ENTRIES - GNTTAB_NR_RESERVED_ENTRIES - this.count;
    if (n > free) throw xerror('GNT_E_FULL', `need ${n} grant refs, ${free} free`, { need: n, free });
    const refs: number[] = [];
    let ref = this.next;
    while (refs.length < n) {
      if (this.inUse[ref] === 0) refs.push(ref);
      ref = ref + 1 >= NR_GRANT_ENTRIES ? GNTTAB_NR_RESERVED_ENTRIES : ref + 1;
    }
    for (const r of refs) this.inUse[r] = 1;
    this.count += n;
    this.next = ref;
    return refs;
  }

  isInUse(ref: number): boolean {
    return Number.isInteger(ref) && ref >= 0 && ref < NR_GRANT_ENTRIES && this.inUse[ref] === 1;
  }

  release(ref: number): void {
    this.inUse[ref] = 0;
    this.count -= 1;
  }
}

export interface SimGuestMemoryOptions {
  dir: string;
  domid: number;
}

/** GuestMemory + GrantSharer of a simulated guest (domid != 0), used in the guest's process. */
export class SimGuestMemory implements GuestMemory, GrantSharer {
  readonly domid: number;
  readonly pages: number;
  private readonly memFd: number;
  private readonly table: native.NativeMapping;
  private readonly writer: GrantTableWriter;
  private readonly frames: FrameAllocator;
  private readonly refs = new GrantRefAllocator();
  private closed = false;

  constructor(opts: SimGuestMemoryOptions) {
    if (!isValidDomid(opts.domid) || opts.domid === 0) {
      throw xerror('SIM_E_NO_DOMAIN', `d${opts.domid} cannot own simulated guest memory`, { domid: opts.domid });
    }
    this.domid = opts.domid;
    const memFile = memoryPath(opts.dir, opts.domid);
    const tableFile = grantTablePath(opts.dir, opts.domid);
    if (!fs.existsSync(memFile) || !fs.existsSync(tableFile)) {
      throw xerror('SIM_E_NO_DOMAIN', `d${opts.domid} has no memory in ${opts.dir}`, { domid: opts.domid });
    }
    this.memFd = fs.openSync(memFile, 'r+');
    const tableFd = fs.openSync(tableFile, 'r+');
    try {
      this.pages = Math.floor(fs.fstatSync(this.memFd).size / XEN_PAGE_SIZE);
      this.table = native.mapFd(tableFd, 0, GRANT_TABLE_BYTES, true);
    } catch (e) {
      fs.closeSync(this.memFd);
      throw e;
    } finally {
      fs.closeSync(tableFd);
    }
    this.writer = new GrantTableWriter(this.table.buffer);
    // A new allocator means a fresh boot: no grant from a previous life may survive.
    this.writer.clearAll();
    this.frames = new FrameAllocator(this.pages);
  }

  get freePages(): number {
    return this.frames.free;
  }

  alloc(count: number): { frames: number[]; region: MappedRegion } {
    this.checkOpen();
    const frames = this.frames.alloc(count);
    let region: MappedRegion;
    try {
      region = native.mapPages(this.memFd, frames, true);
    } catch (e) {
      this.frames.release(frames);
      throw e;
    }
    new Uint8Array(region.buffer).fill(0);
    return { frames, region };
  }

  grant(remoteDomid: number, frames: readonly number[], writable: boolean): number[] {
    this.checkOpen();
    if (!isValidDomid(remoteDomid)) {
      throw xerror('GNT_E_PERM', `cannot grant to domid ${remoteDomid}`, { domid: remoteDomid });
    }
    const bad = frames.filter((f) => !Number.isInteger(f) || f < 0 || f >= this.pages);
    if (bad.length > 0) {
      throw xerror('MAP_E_BAD_FRAME', `frames ${bad.join(',')} outside ${this.pages} pages of d${this.domid}`, {
        frames: bad,
      });
    }
    const refs = this.refs.alloc(frames.length);
    refs.forEach((ref, i) => this.writer.set(ref, remoteDomid, frames[i]!, !writable));
    return refs;
  }

  endGrants(refs: readonly number[]): void {
    this.checkOpen();
    for (const ref of refs) {
      checkGrantRef(ref);
      if (!this.refs.isInUse(ref)) {
        throw xerror('GNT_E_BAD_REF', `grant ref ${ref} of d${this.domid} is not in use`, { ref });
      }
    }
    for (const ref of refs) {
      this.writer.clear(ref);
      this.refs.release(ref);
    }
  }

  free(frames: readonly number[]): void {
    this.checkOpen();
    this.frames.release(frames);
  }

  share(remoteDomid: number, count: number, writable: boolean): SharedPages {
    const { frames, region } = this.alloc(count);
    let refs: number[];
    try {
      refs = this.grant(remoteDomid, frames, writable);
    } catch (e) {
      region.unmap();
      this.free(frames);
      throw e;
    }
    let shared = true;
    return {
      refs,
      frames,
      region,
      unshare: () => {
        if (!shared) return;
        shared = false;
        if (this.closed) return;
        this.endGrants(refs);
        if (region.mapped) region.unmap();
        this.free(frames);
      },
    };
  }

  /** The grant entry as the table holds it now (tests and `xenvfb inspect`). */
  grantEntry(ref: number): { flags: number; domid: number; frame: number } {
    checkGrantRef(ref);
    return this.writer.get(ref);
  }

  /** Closes the files and the table mapping. Regions handed out stay mapped until unmapped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.table.unmap();
    fs.closeSync(this.memFd);
  }

  private checkOpen(): void {
    if (this.closed) throw xerror('SIM_E_NO_DOMAIN', `guest memory of d${this.domid} is closed`, { domid: this.domid });
  }
}
