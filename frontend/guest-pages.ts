// Where a frontend gets the pages it shares with its backend. Two implementations:
//  - a simulated guest's GuestMemory: pages with frame numbers, granted at connect time
//    (the stock protocol's page-ref / pd[] frames work, and grant-fb too);
//  - a real Xen guest's gntalloc (GrantSharer): user space cannot name the frames of its
//    own pages, so each block is granted when it is allocated, to the backend domain known
//    up front, and only grant refs exist (the frontend must use grant-fb; vkbd page-gref).

import { xerror } from '../shared/errors';
import type { GrantSharer, GuestMemory, MappedRegion, Platform } from '../shared/platform/types';

/** A run of zeroed pages, mapped contiguously in this process. */
export interface GuestPageBlock {
  readonly region: MappedRegion;
  /** Our frame numbers (stock page-ref / pd[]); undefined where we cannot name them (Xen). */
  readonly frames: readonly number[] | undefined;
  readonly count: number;
  /** Grant refs of the pages, in order, to `remote`. */
  grant(remote: number): readonly number[];
  /** End what grant() started (sim). On gntalloc the grants live as long as the pages. */
  endGrants(): void;
  /** Unmap the pages (on Xen this also ends their grants). */
  release(): void;
}

export interface GuestPages {
  /** Frame numbers exist (a stock page-ref frontend is possible). */
  readonly hasFrames: boolean;
  /** `count` zeroed pages; `remoteWritable`: whether the backend may write them. */
  alloc(count: number, remoteWritable: boolean): GuestPageBlock;
}

/** A sim guest: GuestMemory frames, granted (and ended) around each connection. */
export class MemoryGuestPages implements GuestPages {
  readonly hasFrames = true;
  constructor(private readonly memory: GuestMemory) {}

  alloc(count: number, remoteWritable: boolean): GuestPageBlock {
    const memory = this.memory;
    const { frames, region } = memory.alloc(count);
    let refs: number[] = [];
    return {
      region,
      frames,
      count,
      grant(remote: number): readonly number[] {
        if (refs.length > 0) memory.endGrants(refs);
        refs = memory.grant(remote, frames, remoteWritable);
        return refs;
      },
      endGrants(): void {
        if (refs.length > 0) memory.endGrants(refs);
        refs = [];
      },
      release(): void {
        region.unmap(); // grants end at the next connect or disconnect, as before
      },
    };
  }
}

/**
 * A real Xen guest: gntalloc pages granted to `backendId` as they are allocated. A block
 * can only be granted to that domain (gntalloc binds the grant to a domid at allocation).
 */
export class SharerGuestPages implements GuestPages {
  readonly hasFrames = false;
  constructor(
    private readonly sharer: GrantSharer,
    readonly backendId: number,
  ) {}

  alloc(count: number, remoteWritable: boolean): GuestPageBlock {
    const shared = this.sharer.share(this.backendId, count, remoteWritable);
    const backendId = this.backendId;
    return {
      region: shared.region,
      frames: undefined,
      count,
      grant(remote: number): readonly number[] {
        if (remote !== backendId) {
          throw xerror('DEV_E_CONFIG', `pages were granted to d${backendId} when allocated; the backend is d${remote}`, {
            granted: backendId,
            backend: remote,
          });
        }
        return shared.refs;
      },
      endGrants(): void {
        // The grants end with the pages (release): a reconnecting backend maps the same refs.
      },
      release(): void {
        shared.unshare();
      },
    };
  }
}

/**
 * The pages a frontend on `platform` shares: GuestMemory in a sim guest, else gntalloc
 * pages granted to `backendId` (read from the device's `backend-id` by the caller).
 */
export function guestPagesFor(platform: Platform, backendId: number): GuestPages {
  if (platform.memory) return new MemoryGuestPages(platform.memory);
  if (platform.sharer) return new SharerGuestPages(platform.sharer, backendId);
  throw xerror(
    'DEV_E_CONFIG',
    'this platform gives the guest neither memory with frame numbers nor a grant sharer (/dev/xen/gntalloc: load xen-gntalloc)',
  );
}
