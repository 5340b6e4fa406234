// Xen grant table v1, as the simulated guests keep it (one file per domain, see layout.ts).
// Layout and flags from xen/include/public/grant_table.h:
//   struct grant_entry_v1 { uint16_t flags; domid_t domid; uint32_t frame; }   (8 bytes)
// The granting side writes frame and domid first and flags last (Linux
// gnttab_update_entry_v1: "wmb(); shared[ref].flags = flags"), so a mapper that sees
// GTF_permit_access also sees the frame and domid that go with it.

import { xerror } from '../../errors';
import { ByteReader } from '../../bytes';
import { XEN_PAGE_SIZE } from '../../page';

export const GTF_invalid = 0;
export const GTF_permit_access = 1 << 0;
export const GTF_type_mask = 3 << 0;
export const GTF_readonly = 1 << 2;
export const GTF_reading = 1 << 3;
export const GTF_writing = 1 << 4;

/** Size of `struct grant_entry_v1`. */
export const GRANT_ENTRY_V1_SIZE = 8;
// Offsets inside grant_entry_v1.
const ENTRY_FLAGS = 0;
const ENTRY_DOMID = 2;
const ENTRY_FRAME = 4;

/** Grant table pages per simulated domain (Linux's gnttab_max_grant_frames default is 32 too). */
export const NR_GRANT_FRAMES = 32;
export const GRANT_TABLE_BYTES = NR_GRANT_FRAMES * XEN_PAGE_SIZE;
/** 16384 entries. */
export const NR_GRANT_ENTRIES = GRANT_TABLE_BYTES / GRANT_ENTRY_V1_SIZE;
/** Linux include/xen/grant_table.h: refs below this are the toolstack's (1 = xenstore ring). */
export const GNTTAB_NR_RESERVED_ENTRIES = 8;

export interface GrantEntry {
  flags: number;
  domid: number;
  frame: number;
}

/** Decode one 8-byte grant_entry_v1. */
export function decodeGrantEntry(bytes: Uint8Array): GrantEntry {
  const r = new ByteReader(bytes);
  // u16 flags | u16 domid | u32 frame
  const flags = r.u16le();
  const domid = r.u16le();
  const frame = r.u32le();
  return { flags, domid, frame };
}

export function grantEntryOffset(ref: number): number {
  return ref * GRANT_ENTRY_V1_SIZE;
}

/** Throws GNT_E_BAD_REF unless `ref` is a grant reference a guest may use. */
export function checkGrantRef(ref: number): void {
  if (!Number.isInteger(ref) || ref < GNTTAB_NR_RESERVED_ENTRIES || ref >= NR_GRANT_ENTRIES) {
    throw xerror('GNT_E_BAD_REF', `grant ref ${ref} outside [${GNTTAB_NR_RESERVED_ENTRIES}, ${NR_GRANT_ENTRIES})`, {
      ref,
    });
  }
}

export interface GrantMapRequest {
  granterDomid: number;
  ref: number;
  /** Domain asking to map (the grant must name it). */
  mapperDomid: number;
  writable: boolean;
  /** Pages of the granter's memory (frames must be below this). */
  granterPages: number;
}

/**
 * The checks Xen's map_grant_ref does on a v1 entry (xen/common/grant_table.c:
 * "Bad flags or dom", "Attempt to write-pin a r/o grant entry"), plus the frame being
 * inside the granter's memory. Returns the frame to map.
 */
export function checkGrantMap(entry: GrantEntry, req: GrantMapRequest): number {
  const where = { domid: req.granterDomid, ref: req.ref, flags: entry.flags, grantedTo: entry.domid };
  if ((entry.flags & GTF_type_mask) !== GTF_permit_access) {
    throw xerror('GNT_E_BAD_REF', `grant d${req.granterDomid} ref ${req.ref} is not in use (flags ${entry.flags})`, where);
  }
  if (entry.domid !== req.mapperDomid) {
    throw xerror('GNT_E_PERM', `grant d${req.granterDomid} ref ${req.ref} is for d${entry.domid}, not d${req.mapperDomid}`, where);
  }
  if (req.writable && (entry.flags & GTF_readonly) !== 0) {
    throw xerror('GNT_E_PERM', `grant d${req.granterDomid} ref ${req.ref} is read-only`, where);
  }
  if (entry.frame >= req.granterPages) {
    throw xerror(
      'GNT_E_BAD_REF',
      `grant d${req.granterDomid} ref ${req.ref} names frame ${entry.frame} outside ${req.granterPages} pages`,
      { ...where, frame: entry.frame },
    );
  }
  return entry.frame;
}

/**
 * The granting side's view of its own table (a MAP_SHARED mapping of the table file).
 * Flags are stored with Atomics so other processes never see a half-written entry.
 */
export class GrantTableWriter {
  private readonly u16: Uint16Array;
  private readonly u32: Uint32Array;

  constructor(buffer: ArrayBuffer) {
    if (buffer.byteLength < GRANT_TABLE_BYTES) {
      throw xerror('SIM_E_PROTOCOL', `grant table mapping is ${buffer.byteLength} bytes, need ${GRANT_TABLE_BYTES}`);
    }
    this.u16 = new Uint16Array(buffer, 0, GRANT_TABLE_BYTES / 2);
    this.u32 = new Uint32Array(buffer, 0, GRANT_TABLE_BYTES / 4);
  }

  /** gnttab_grant_foreign_access_ref: frame and domid, then flags. */
  set(ref: number, domid: number, frame: number, readonly: boolean): void {
    checkGrantRef(ref);
    const base = grantEntryOffset(ref);
    Atomics.store(this.u32, (base + ENTRY_FRAME) / 4, frame);
    Atomics.store(this.u16, (base + ENTRY_DOMID) / 2, domid);
    Atomics.store(this.u16, (base + ENTRY_FLAGS) / 2, GTF_permit_access | (readonly ? GTF_readonly : 0));
  }

  /** gnttab_end_foreign_access_ref: flags to 0 first, so no new mapping can start. */
  clear(ref: number): void {
    checkGrantRef(ref);
    const base = grantEntryOffset(ref);
    Atomics.store(this.u16, (base + ENTRY_FLAGS) / 2, GTF_invalid);
    Atomics.store(this.u16, (base + ENTRY_DOMID) / 2, 0);
    Atomics.store(this.u32, (base + ENTRY_FRAME) / 4, 0);
  }

  get(ref: number): GrantEntry {
    const base = grantEntryOffset(ref);
    return {
      flags: Atomics.load(this.u16, (base + ENTRY_FLAGS) / 2),
      domid: Atomics.load(this.u16, (base + ENTRY_DOMID) / 2),
      frame: Atomics.load(this.u32, (base + ENTRY_FRAME) / 4),
    };
  }

  /** A rebooted guest starts with an empty table. */
  clearAll(): void {
    for (let i = 0; i < this.u16.length; i += 1) Atomics.store(this.u16, i, 0);
  }
}
