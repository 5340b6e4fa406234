// Grants on real Xen: gntdev maps pages other domains granted to us; gntalloc grants our
// pages to another domain. Each device is opened on first use, so a host that lacks one
// (module not loaded) fails only the calls that need it, with the native ENOENT.

import * as native from '../../../native';
import { xerror } from '../../errors';
import type { GrantMapper, GrantSharer, MappedRegion, SharedPages } from '../types';
import { DOMID_MAX, isNativeError, nativeDetails } from './devices';

function checkDomid(domid: number): void {
  if (!Number.isInteger(domid) || domid < 0 || domid > DOMID_MAX) {
    throw xerror('GNT_E_BAD_REF', `domid ${domid} is not a domain`, { domid });
  }
}

export class XenGrantMapper implements GrantMapper {
  private gntdev?: native.GntdevHandle;

  constructor(private readonly devicePath: string = native.XEN_DEVICE_PATHS.gntdev) {}

  mapGrants(domid: number, refs: readonly number[], writable: boolean): MappedRegion {
    if (refs.length === 0 || refs.length > native.MAX_GRANTS_PER_CALL) {
      throw xerror('GNT_E_BAD_REF', `cannot map ${refs.length} grants at once (1..${native.MAX_GRANTS_PER_CALL})`, {
        count: refs.length,
      });
    }
    checkDomid(domid);
    for (const ref of refs) {
      if (!Number.isInteger(ref) || ref < 0 || ref > 0xffffffff) throw xerror('GNT_E_BAD_REF', `grant ref ${ref} is not a u32`, { ref });
    }
    this.gntdev ??= native.openGntdev(this.devicePath);
    try {
      return this.gntdev.mapGrants(domid, refs, writable);
    } catch (e) {
      // gntdev_mmap fails the whole map with EINVAL when any grant op is not GNTST_okay:
      // unknown ref, not granted to us, or a writable map of a read-only grant.
      if (isNativeError(e) && e.syscall === 'mmap' && e.code === 'EINVAL') {
        throw xerror(
          'GNT_E_BAD_REF',
          `d${domid} refs [${refs.join(',')}] did not map${writable ? ' writable' : ''}: not granted to us, or read-only`,
          {
            domid,
            refs: [...refs],
            ...nativeDetails(e),
          },
        );
      }
      if (isNativeError(e) && e.code === 'EPERM') {
        throw xerror('GNT_E_PERM', `d${domid} refs [${refs.join(',')}]: ${e.message}`, { domid, ...nativeDetails(e) });
      }
      throw e;
    }
  }

  close(): void {
    this.gntdev?.close();
    this.gntdev = undefined;
  }
}

/**
 * gntalloc pages. `frames` is always empty: user space on Xen cannot learn the frame
 * numbers of its pages (a PV guest's MFNs live in the kernel's p2m), so a frontend here
 * must publish grant refs (grant-fb), not the stock protocol's page-ref / pd[] frames.
 */
export class XenGrantSharer implements GrantSharer {
  private gntalloc?: native.GntallocHandle;

  constructor(private readonly devicePath: string = native.XEN_DEVICE_PATHS.gntalloc) {}

  share(remoteDomid: number, count: number, writable: boolean): SharedPages {
    checkDomid(remoteDomid);
    if (!Number.isInteger(count) || count < 1 || count > native.MAX_GRANTS_PER_CALL) {
      throw xerror('GNT_E_FULL', `cannot share ${count} pages at once (1..${native.MAX_GRANTS_PER_CALL})`, { count });
    }
    this.gntalloc ??= native.openGntalloc(this.devicePath);
    let shared: native.SharedGrants;
    try {
      shared = this.gntalloc.share(remoteDomid, count, writable);
    } catch (e) {
      // ENOSPC: gntalloc's limit (/sys/module/xen_gntalloc/parameters/limit, default 1024
      // pages) or the grant table is full.
      if (isNativeError(e) && (e.code === 'ENOSPC' || e.code === 'ENOMEM')) {
        throw xerror('GNT_E_FULL', `cannot grant ${count} pages to d${remoteDomid}: ${e.message}`, {
          count,
          ...nativeDetails(e),
        });
      }
      throw e;
    }
    const { refs, mapping } = shared;
    return { refs, frames: [], region: mapping, unshare: () => mapping.unmap() };
  }

  close(): void {
    this.gntalloc?.close();
    this.gntalloc = undefined;
  }
}
