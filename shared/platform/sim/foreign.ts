// privcmd for the simulator: a privileged domain maps any frames of another domain's
// memory file, page by page, with per-page errors like IOCTL_PRIVCMD_MMAPBATCH_V2's err[].

import * as fs from 'node:fs';
import * as native from '../../../native';
import { xerror } from '../../errors';
import type { ForeignMapper, MappedRegion } from '../types';
import { isValidDomid, memoryPath } from './layout';
import { XEN_PAGE_SIZE } from '../../page';

/** errno value privcmd reports (negated) for a frame the domain does not have. */
export const EFAULT = 14;
/** A generous bound on one batch (a 16 MiB framebuffer is 4096 pages). */
export const SIM_MAX_FOREIGN_PAGES = 1 << 18;

export interface SimForeignMapperOptions {
  dir: string;
  /** Must be 0: only dom0 is privileged in the simulator. */
  domid: number;
}

export class SimForeignMapper implements ForeignMapper {
  constructor(private readonly opts: SimForeignMapperOptions) {
    if (opts.domid !== 0) {
      throw xerror('SIM_E_NOT_PRIVILEGED', `d${opts.domid} is not privileged: no foreign mapping`, {
        domid: opts.domid,
      });
    }
  }

  mapFrames(domid: number, frames: readonly number[], writable: boolean): MappedRegion {
    if (frames.length === 0 || frames.length > SIM_MAX_FOREIGN_PAGES) {
      throw xerror('MAP_E_BAD_FRAME', `cannot map ${frames.length} frames at once (1..${SIM_MAX_FOREIGN_PAGES})`, {
        count: frames.length,
        errors: [],
      });
    }
    if (!isValidDomid(domid)) throw xerror('SIM_E_NO_DOMAIN', `domid ${domid} is not a domain`, { domid });
    let fd: number;
    try {
      fd = fs.openSync(memoryPath(this.opts.dir, domid), writable ? 'r+' : 'r');
    } catch {
      throw xerror('SIM_E_NO_DOMAIN', `d${domid} has no memory in the simulator`, { domid });
    }
    try {
      const pages = Math.floor(fs.fstatSync(fd).size / XEN_PAGE_SIZE);
      const errors = frames.map((f) => (Number.isInteger(f) && f >= 0 && f < pages ? 0 : -EFAULT));
      const bad = errors.filter((e) => e !== 0).length;
      if (bad > 0) {
        throw xerror('MAP_E_BAD_FRAME', `${bad} of ${frames.length} frames are outside the ${pages} pages of d${domid}`, {
          domid,
          errors,
        });
      }
      return native.mapPages(fd, frames, writable);
    } finally {
      fs.closeSync(fd);
    }
  }
}
