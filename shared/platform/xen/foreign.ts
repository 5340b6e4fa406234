// privcmd on real Xen: map frames of another domain (dom0, or a stubdom with rights over
// its target). The per-page errors of IOCTL_PRIVCMD_MMAPBATCH_V2 become MAP_E_BAD_FRAME.

import { MAX_MAP_PAGES, type PrivcmdHandle } from '../../../native';
import { xerror } from '../../errors';
import type { ForeignMapper, MappedRegion } from '../types';
import { DOMID_MAX, isNativeError, nativeDetails } from './devices';

export class XenForeignMapper implements ForeignMapper {
  constructor(private readonly privcmd: PrivcmdHandle) {}

  mapFrames(domid: number, frames: readonly number[], writable: boolean): MappedRegion {
    if (frames.length === 0 || frames.length > MAX_MAP_PAGES) {
      throw xerror('MAP_E_BAD_FRAME', `cannot map ${frames.length} frames at once (1..${MAX_MAP_PAGES})`, {
        count: frames.length,
        errors: [],
      });
    }
    if (!Number.isInteger(domid) || domid < 0 || domid > DOMID_MAX) {
      throw xerror('MAP_E_BAD_FRAME', `domid ${domid} is not a domain`, { domid, errors: [] });
    }
    try {
      return this.privcmd.mapForeign(domid, frames, writable);
    } catch (e) {
      if (isNativeError(e) && e.errors) {
        const bad = e.errors.filter((err) => err !== 0).length;
        throw xerror('MAP_E_BAD_FRAME', `${bad} of ${frames.length} frames of d${domid} did not map (${e.code})`, {
          domid,
          errors: [...e.errors],
          ...nativeDetails(e),
        });
      }
      throw e;
    }
  }

  close(): void {
    this.privcmd.close();
  }
}
