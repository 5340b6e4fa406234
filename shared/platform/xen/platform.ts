// Platform for a process in a real Xen domain, through /dev/xen/* and the addon. What a
// domain gets mirrors what Xen lets it do:
//  - foreign (privcmd) only in the control domain (or when forced for a stubdom that
//    has rights over its target);
//  - grants (gntdev) everywhere; sharer (gntalloc) wherever the node exists;
//  - memory (GuestMemory) never: user space cannot name the frames of its pages, so a
//    frontend on real Xen must share through grants (grant-fb), not the stock page-ref.

import { xerror } from '../../errors';
import { XsClient } from '../../xenstore/client';
import * as native from '../../../native';
import type { EventChannels, ForeignMapper, GrantSharer, Platform } from '../types';
import { DOMID_MAX, XEN_DEVICE_PATHS, isControlDomain, isNativeError, presentXenDevices } from './devices';
import { XenEventChannels } from './evtchn';
import { XenForeignMapper } from './foreign';
import { XenGrantMapper, XenGrantSharer } from './grants';

export interface XenPlatformOptions {
  /** Our domain id; read from xenstore ('domid', relative to our home) when not given. */
  domid?: number;
  /** Offer foreign mapping even outside the control domain (a stubdom with a target). */
  foreign?: boolean;
  /** Where XsClient.connect goes (default: its own choice, socket then /dev/xen/xenbus). */
  xenstore?: { path?: string; device?: string };
}

export interface XenPlatform extends Platform {
  readonly kind: 'xen';
}

class XenPlatformImpl implements XenPlatform {
  readonly kind = 'xen' as const;
  readonly grants: XenGrantMapper;
  readonly foreign?: ForeignMapper;
  readonly sharer?: GrantSharer;
  private readonly foreignMapper?: XenForeignMapper;
  private readonly grantSharer?: XenGrantSharer;
  private readonly clients = new Set<XsClient>();
  private evtchn?: XenEventChannels;
  private closed = false;

  constructor(
    readonly domid: number,
    private readonly xsOptions: { path?: string; device?: string },
    privcmd: native.PrivcmdHandle | undefined,
    hasGntalloc: boolean,
  ) {
    this.grants = new XenGrantMapper();
    if (privcmd) this.foreign = this.foreignMapper = new XenForeignMapper(privcmd);
    if (hasGntalloc) this.sharer = this.grantSharer = new XenGrantSharer();
  }

  async xenstore(): Promise<XsClient> {
    this.checkOpen();
    const client = await XsClient.connect(this.xsOptions);
    this.clients.add(client);
    client.once('close', () => this.clients.delete(client));
    return client;
  }

  async eventChannels(): Promise<EventChannels> {
    this.checkOpen();
    if (!this.evtchn) {
      const ch = new XenEventChannels();
      ch.once('close', () => {
        if (this.evtchn === ch) this.evtchn = undefined;
      });
      this.evtchn = ch;
    }
    return this.evtchn;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.evtchn?.close();
    this.evtchn = undefined;
    for (const c of this.clients) c.close();
    this.clients.clear();
    this.foreignMapper?.close();
    this.grants.close();
    this.grantSharer?.close();
  }

  private checkOpen(): void {
    if (this.closed) throw xerror('DEV_E_STATE', `the xen platform of d${this.domid} is closed`);
  }
}

/** Our domid as xenstore knows it: `domid` relative to our home (/local/domain/<id>). */
export async function readOwnDomid(xsOptions: { path?: string; device?: string } = {}): Promise<number> {
  const xs = await XsClient.connect(xsOptions);
  try {
    const text = await xs.tryRead('domid');
    const domid = text === undefined ? NaN : Number(text);
    if (Number.isInteger(domid) && domid >= 0 && domid <= DOMID_MAX) return domid;
    // dom0 before xen-init-dom0 has written its home: the control domain is 0.
    if (text === undefined && isControlDomain()) return 0;
    throw xerror('DEV_E_CONFIG', `xenstore 'domid' of this domain is ${text === undefined ? 'missing' : `'${text}'`}`, {
      value: text,
    });
  } finally {
    xs.close();
  }
}

function openPrivcmdIfUsable(): native.PrivcmdHandle | undefined {
  try {
    return native.openPrivcmd();
  } catch (e) {
    if (isNativeError(e) && ['ENOENT', 'ENXIO', 'ENODEV', 'EACCES', 'EPERM'].includes(e.code)) return undefined;
    throw e;
  }
}

/**
 * Opens the real-Xen platform. Throws DEV_E_CONFIG when this is not a Xen domain (no
 * /dev/xen/evtchn nor privcmd) or our domid cannot be learnt.
 */
export async function createXenPlatform(opts: XenPlatformOptions = {}): Promise<XenPlatform> {
  const present = presentXenDevices();
  if (!present.includes('evtchn') && !present.includes('privcmd')) {
    throw xerror('DEV_E_CONFIG', `not a Xen domain: neither ${XEN_DEVICE_PATHS.evtchn} nor ${XEN_DEVICE_PATHS.privcmd} exists`, {
      present,
    });
  }
  const xsOptions = opts.xenstore ?? {};
  if (opts.domid !== undefined && (!Number.isInteger(opts.domid) || opts.domid < 0 || opts.domid > DOMID_MAX)) {
    throw xerror('DEV_E_CONFIG', `domid ${opts.domid} is not a domain`, { domid: opts.domid });
  }
  const domid = opts.domid ?? (await readOwnDomid(xsOptions));
  const privileged = opts.foreign === true || domid === 0 || isControlDomain();
  const privcmd = privileged ? openPrivcmdIfUsable() : undefined;
  return new XenPlatformImpl(domid, xsOptions, privcmd, present.includes('gntalloc'));
}
