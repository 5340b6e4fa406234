// gntdev for simulated domains: map pages another domain granted to us. The granter's
// grant table and memory are files in the sim dir; the checks are Xen's (grant-table.ts).

import * as fs from 'node:fs';
import * as native from '../../../native';
import { xerror } from '../../errors';
import type { GrantMapper, MappedRegion } from '../types';
import { GRANT_ENTRY_V1_SIZE, checkGrantMap, checkGrantRef, decodeGrantEntry, grantEntryOffset } from './grant-table';
import { grantTablePath, isValidDomid, memoryPath } from './layout';
import { XEN_PAGE_SIZE } from '../../page';

/** gntdev's default limit on grants mapped in one call (`limit` module parameter, 64K). */
export const SIM_MAX_GRANTS_PER_MAP = 65536;

export interface SimGrantMapperOptions {
  dir: string;
  /** Our own domid: grants must name it. */
  domid: number;
}

export class SimGrantMapper implements GrantMapper {
  constructor(private readonly opts: SimGrantMapperOptions) {}

  mapGrants(domid: number, refs: readonly number[], writable: boolean): MappedRegion {
    if (refs.length === 0 || refs.length > SIM_MAX_GRANTS_PER_MAP) {
      throw xerror('GNT_E_BAD_REF', `cannot map ${refs.length} grants at once (1..${SIM_MAX_GRANTS_PER_MAP})`, {
        count: refs.length,
      });
    }
    for (const ref of refs) checkGrantRef(ref);
    const { memFd, tableFd } = this.openGranter(domid, writable);
    try {
      const granterPages = Math.floor(fs.fstatSync(memFd).size / XEN_PAGE_SIZE);
      const entry = Buffer.alloc(GRANT_ENTRY_V1_SIZE);
      const frames = refs.map((ref) => {
        const got = fs.readSync(tableFd, entry, 0, GRANT_ENTRY_V1_SIZE, grantEntryOffset(ref));
        if (got !== GRANT_ENTRY_V1_SIZE) throw xerror('GNT_E_BAD_REF', `grant ref ${ref} of d${domid} unreadable`, { ref });
        return checkGrantMap(decodeGrantEntry(entry), {
          granterDomid: domid,
          ref,
          mapperDomid: this.opts.domid,
          writable,
          granterPages,
        });
      });
      return native.mapPages(memFd, frames, writable);
    } finally {
      fs.closeSync(memFd);
      fs.closeSync(tableFd);
    }
  }

  private openGranter(domid: number, writable: boolean): { memFd: number; tableFd: number } {
    if (!isValidDomid(domid)) throw xerror('SIM_E_NO_DOMAIN', `domid ${domid} is not a domain`, { domid });
    let tableFd: number;
    try {
      tableFd = fs.openSync(grantTablePath(this.opts.dir, domid), 'r');
    } catch {
      throw xerror('SIM_E_NO_DOMAIN', `d${domid} has no grant table in the simulator`, { domid });
    }
    try {
      return { memFd: fs.openSync(memoryPath(this.opts.dir, domid), writable ? 'r+' : 'r'), tableFd };
    } catch {
      fs.closeSync(tableFd);
      throw xerror('SIM_E_NO_DOMAIN', `d${domid} has no memory in the simulator`, { domid });
    }
  }
}
