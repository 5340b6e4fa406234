// Platform for a process of a simulated domain: dom0 (backends, tools) or a guest
// (frontends). What each gets mirrors Xen: only dom0 may map foreign frames; only guests
// have simulated memory of their own to share.

import * as fs from 'node:fs';
import { xerror } from '../../errors';
import { XsClient } from '../../xenstore/client';
import type { EventChannels, ForeignMapper, GrantMapper, GrantSharer, GuestMemory, Platform } from '../types';
import { SimEventChannels } from './evtchn-client';
import { SimForeignMapper } from './foreign';
import { SimGrantMapper } from './grants';
import { evtchnSocketPath, isValidDomid, xenbusSocketPath, xenstoredSocketPath } from './layout';
import { SimGuestMemory } from './memory';

export interface SimPlatformOptions {
  /** The sim dir of a running SimHypervisor. */
  dir: string;
  domid: number;
}

export interface SimPlatform extends Platform {
  readonly kind: 'sim';
  readonly dir: string;
  /** Where this domain's xenstore connection goes. */
  readonly xenstorePath: string;
}

class SimPlatformImpl implements SimPlatform {
  readonly kind = 'sim' as const;
  readonly xenstorePath: string;
  readonly grants: GrantMapper;
  readonly foreign?: ForeignMapper;
  readonly memory?: GuestMemory;
  readonly sharer?: GrantSharer;
  private readonly clients = new Set<XsClient>();
  private evtchn?: Promise<SimEventChannels>;
  private guestMemory?: SimGuestMemory;
  private closed = false;

  constructor(
    readonly dir: string,
    readonly domid: number,
  ) {
    this.xenstorePath = domid === 0 ? xenstoredSocketPath(dir) : xenbusSocketPath(dir, domid);
    this.grants = new SimGrantMapper({ dir, domid });
    if (domid === 0) {
      this.foreign = new SimForeignMapper({ dir, domid });
    } else {
      this.guestMemory = new SimGuestMemory({ dir, domid });
      this.memory = this.guestMemory;
      this.sharer = this.guestMemory;
    }
  }

  async xenstore(): Promise<XsClient> {
    this.checkOpen();
    const client = await XsClient.connect({ path: this.xenstorePath });
    this.clients.add(client);
    client.once('close', () => this.clients.delete(client));
    return client;
  }

  eventChannels(): Promise<EventChannels> {
    this.checkOpen();
    if (!this.evtchn) {
      const p = SimEventChannels.connect(evtchnSocketPath(this.dir, this.domid));
      this.evtchn = p;
      p.then(
        (ch) =>
          ch.once('close', () => {
            if (this.evtchn === p) this.evtchn = undefined;
          }),
        () => {
          if (this.evtchn === p) this.evtchn = undefined;
        },
      );
    }
    return this.evtchn;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const evtchn = this.evtchn;
    this.evtchn = undefined;
    // A connection that never opened has nothing to close (its error went to whoever awaited it).
    if (evtchn) (await evtchn.catch(() => undefined))?.close();
    for (const c of this.clients) c.close();
    this.clients.clear();
    this.guestMemory?.close();
  }

  private checkOpen(): void {
    if (this.closed) throw xerror('SIM_E_NO_DOMAIN', `the sim platform of d${this.domid} is closed`);
  }
}

/**
 * Opens the simulator for domain `domid` in `dir`. Throws SIM_E_NO_DOMAIN if no simulator
 * runs there or the domain does not exist. For a guest this is its boot: its grant table
 * starts empty (see SimGuestMemory).
 */
export async function createSimPlatform(opts: SimPlatformOptions): Promise<SimPlatform> {
  if (!isValidDomid(opts.domid)) throw xerror('SIM_E_NO_DOMAIN', `domid ${opts.domid} is not a domain`);
  const socket = opts.domid === 0 ? xenstoredSocketPath(opts.dir) : xenbusSocketPath(opts.dir, opts.domid);
  if (!fs.existsSync(socket)) {
    throw xerror('SIM_E_NO_DOMAIN', `no simulated domain ${opts.domid} in ${opts.dir} (missing ${socket})`, {
      domid: opts.domid,
      dir: opts.dir,
    });
  }
  return new SimPlatformImpl(opts.dir, opts.domid);
}
