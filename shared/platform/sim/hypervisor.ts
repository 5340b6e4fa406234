// The simulated host: xenstored, the event-channel relay and the domains' memory, in one
// process (`xenvfb sim`, the demo, the tests). What it models and what it leaves out is in
// README.md next to this file; in short, a guest process is the domain's vCPU: when its
// last connection drops the domain has crashed, and a new connection boots it again.

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import { xerror } from '../../errors';
import { type Logger, silentLogger } from '../../log';
import { XsClient, parsePerms } from '../../xenstore/client';
import { XenstoredServer } from '../../xenstore/server/socket-server';
import { createDomainFiles, removeDomainFiles } from './domain-files';
import { EvtchnRelay, type EvtchnPortStatus } from './evtchn-relay';
import { domainDir, evtchnSocketPath, isValidDomid, xenbusSocketPath, xenstoredSocketPath } from './layout';

export type SimDomainState = 'created' | 'running' | 'crashed';

export interface SimDomainInfo {
  domid: number;
  name: string;
  memoryMiB: number;
  uuid: string;
  /** created: no process attached yet; running: a process holds a connection; crashed: it went away. */
  state: SimDomainState;
}

export interface SimHypervisorOptions {
  dir: string;
  log?: Logger;
}

interface DomainRecord extends SimDomainInfo {
  xenbusConnections: number;
  evtchnConnections: number;
  destroying: boolean;
}

/** Kinds of backend directories destroyDomain removes (libxl__devices_destroy, forced). */
const BACKEND_KINDS = ['vfb', 'vkbd', 'vinput', 'console'];

/**
 * Emits 'domain-created', 'domain-started', 'domain-crashed', 'domain-destroyed' (domid).
 */
export class SimHypervisor extends EventEmitter {
  readonly dir: string;
  readonly xenstored: XenstoredServer;
  readonly evtchn: EvtchnRelay;
  private readonly log: Logger;
  private readonly records = new Map<number, DomainRecord>();
  private xs!: XsClient;
  private stopped = false;

  private constructor(opts: SimHypervisorOptions) {
    super();
    this.dir = opts.dir;
    this.log = opts.log ?? silentLogger;
    this.xenstored = new XenstoredServer({ log: (line) => this.log.info({ xenstored: line }, 'xenstored') });
    this.evtchn = new EvtchnRelay(this.log);
  }

  /** Creates the sim dir layout, starts xenstored (dom0 socket) and dom0's event channels. */
  static async start(opts: SimHypervisorOptions): Promise<SimHypervisor> {
    const hv = new SimHypervisor(opts);
    try {
      await hv.boot();
    } catch (e) {
      // The boot error is the one to report; stop() only undoes what boot got done.
      await hv.stop().catch(() => undefined);
      throw e;
    }
    return hv;
  }

  /** The host's own privileged xenstore client (dom0's toolstack connection). */
  get xenstore(): XsClient {
    return this.xs;
  }

  private async boot(): Promise<void> {
    fs.mkdirSync(domainDir(this.dir, 0), { recursive: true });
    await this.xenstored.listen(xenstoredSocketPath(this.dir), { domid: 0, privileged: true });
    await this.evtchn.listen(0, evtchnSocketPath(this.dir, 0));
    this.xenstored.on('connection', (who: { domid: number; privileged: boolean }) => {
      if (!who.privileged) this.connectionChanged(who.domid, 'xenbus', +1);
    });
    this.xenstored.on('connection-closed', (who: { domid: number; privileged: boolean }) => {
      if (!who.privileged) this.connectionChanged(who.domid, 'xenbus', -1);
    });
    this.evtchn.on('connection', (domid: number) => this.connectionChanged(domid, 'evtchn', +1));
    this.evtchn.on('connection-closed', (domid: number) => this.connectionChanged(domid, 'evtchn', -1));
    this.xs = await XsClient.connect({ path: xenstoredSocketPath(this.dir), timeoutMs: 10_000 });
    await this.writeDom0Tree();
    this.log.info({ dir: this.dir }, 'simulated hypervisor started');
  }

  // What xenstored's initial tree plus xen-init-dom0 leave behind.
  private async writeDom0Tree(): Promise<void> {
    const n0 = parsePerms(['n0']);
    await this.xs.transaction(async (tx) => {
      for (const p of ['/local', '/local/domain', '/local/domain/0', '/local/domain/0/backend', '/vm', '/libxl', '/tool']) {
        await tx.mkdir(p);
        await tx.setPerms(p, n0);
      }
      await tx.write('/local/domain/0/name', 'Domain-0');
      await tx.write('/local/domain/0/domid', '0');
      await tx.write('/tool/xenstored', '');
    });
  }

  /** libxl__domain_make + xs_introduce_domain: files, xenstore nodes, the domain's sockets. */
  async createDomain(domid: number, opts: { name: string; memoryMiB: number }): Promise<SimDomainInfo> {
    this.checkRunning();
    if (!isValidDomid(domid) || domid === 0) throw xerror('SIM_E_NO_DOMAIN', `cannot create domain ${domid}`, { domid });
    if (this.records.has(domid)) throw xerror('SIM_E_NO_DOMAIN', `domain ${domid} already exists`, { domid });
    createDomainFiles(this.dir, domid, opts.memoryMiB);
    const rec: DomainRecord = {
      domid,
      name: opts.name,
      memoryMiB: opts.memoryMiB,
      uuid: randomUUID(),
      state: 'created',
      xenbusConnections: 0,
      evtchnConnections: 0,
      destroying: false,
    };
    this.records.set(domid, rec);
    try {
      await this.writeDomainTree(rec);
      this.xenstored.introduceDomain(domid);
      await this.xenstored.listen(xenbusSocketPath(this.dir, domid), { domid, privileged: false });
      await this.evtchn.listen(domid, evtchnSocketPath(this.dir, domid));
    } catch (e) {
      // The creation error is the one to report; destroy only undoes what creation got done.
      await this.destroyDomain(domid).catch(() => undefined);
      throw e;
    }
    this.log.info({ domid, name: opts.name, memoryMiB: opts.memoryMiB }, 'domain created');
    this.emit('domain-created', domid);
    return this.info(rec);
  }

  // libxl_create.c libxl__domain_make: roperm = [n0, r<domid>], rwperm = [n<domid>].
  private async writeDomainTree(rec: DomainRecord): Promise<void> {
    const dom = `/local/domain/${rec.domid}`;
    const vm = `/vm/${rec.uuid}`;
    const roperm = parsePerms(['n0', `r${rec.domid}`]);
    const rwperm = parsePerms([`n${rec.domid}`]);
    const kib = String(rec.memoryMiB * 1024);
    await this.xs.transaction(async (tx) => {
      await tx.rmIfExists(dom);
      for (const p of [dom, vm, `${dom}/cpu`, `${dom}/memory`, `${dom}/device`, `${dom}/control`]) {
        await tx.mkdir(p);
        await tx.setPerms(p, roperm);
      }
      const owned = ['control/shutdown', 'control/feature-poweroff', 'control/feature-reboot', 'control/sysrq'];
      for (const p of [...owned, 'data', 'drivers', 'feature', 'attr', 'error']) {
        await tx.mkdir(`${dom}/${p}`);
        await tx.setPerms(`${dom}/${p}`, rwperm);
      }
      await tx.write(`${dom}/name`, rec.name);
      await tx.write(`${dom}/domid`, String(rec.domid));
      await tx.write(`${dom}/vm`, vm);
      await tx.write(`${dom}/memory/static-max`, kib);
      await tx.write(`${dom}/memory/target`, kib);
      await tx.write(`${vm}/name`, rec.name);
      await tx.write(`${vm}/uuid`, rec.uuid);
      await tx.mkdir(`/libxl/${rec.domid}`);
      await tx.setPerms(`/libxl/${rec.domid}`, parsePerms(['n0']));
    });
  }

  /** libxl_domain_destroy: release, drop connections and ports, remove nodes and memory. */
  async destroyDomain(domid: number): Promise<void> {
    const rec = this.records.get(domid);
    if (!rec) throw xerror('SIM_E_NO_DOMAIN', `domain ${domid} does not exist`, { domid });
    rec.destroying = true;
    if (this.xenstored.isDomainIntroduced(domid)) this.xenstored.releaseDomain(domid);
    await this.evtchn.unlisten(domid);
    this.evtchn.closeDomainPorts(domid);
    await this.xenstored.unlisten(xenbusSocketPath(this.dir, domid));
    fs.rmSync(xenbusSocketPath(this.dir, domid), { force: true });
    if (!this.xs.isClosed) {
      await this.xs
        .transaction(async (tx) => {
          for (const kind of BACKEND_KINDS) await tx.rmIfExists(`/local/domain/0/backend/${kind}/${domid}`);
          await tx.rmIfExists(`/local/domain/${domid}`);
          await tx.rmIfExists(`/vm/${rec.uuid}`);
          await tx.rmIfExists(`/libxl/${domid}`);
        })
        .catch((e: Error) => this.log.warn({ domid, err: e.message }, 'could not remove domain nodes'));
    }
    removeDomainFiles(this.dir, domid);
    fs.rmSync(domainDir(this.dir, domid), { recursive: true, force: true });
    this.records.delete(domid);
    this.log.info({ domid }, 'domain destroyed');
    this.emit('domain-destroyed', domid);
  }

  domains(): SimDomainInfo[] {
    return [...this.records.values()].sort((a, b) => a.domid - b.domid).map((r) => this.info(r));
  }

  // Not `domain()`: EventEmitter owns that name (node:domain).
  domainInfo(domid: number): SimDomainInfo | undefined {
    const rec = this.records.get(domid);
    return rec && this.info(rec);
  }

  /** EVTCHNOP_status for any domain's port (dom0 included). */
  evtchnStatus(domid: number, port: number): EvtchnPortStatus {
    return this.evtchn.status(domid, port);
  }

  /** Closes every socket and connection; the files stay (the caller removes the dir). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const rec of this.records.values()) rec.destroying = true;
    this.xs?.close();
    await this.evtchn.close();
    await this.xenstored.close();
    for (const domid of [0, ...this.records.keys()]) {
      fs.rmSync(evtchnSocketPath(this.dir, domid), { force: true });
      fs.rmSync(xenbusSocketPath(this.dir, domid), { force: true });
    }
    fs.rmSync(xenstoredSocketPath(this.dir), { force: true });
    this.log.info({ dir: this.dir }, 'simulated hypervisor stopped');
  }

  // A guest's process holds its xenbus and evtchn connections; when the last of them
  // closes, the domain crashed. A connection to a crashed domain is its reboot.
  private connectionChanged(domid: number, which: 'xenbus' | 'evtchn', delta: 1 | -1): void {
    const rec = this.records.get(domid);
    if (!rec || rec.destroying || this.stopped) return;
    if (which === 'xenbus') rec.xenbusConnections = Math.max(0, rec.xenbusConnections + delta);
    else rec.evtchnConnections = Math.max(0, rec.evtchnConnections + delta);
    const open = rec.xenbusConnections + rec.evtchnConnections;
    if (delta > 0 && rec.state !== 'running') {
      if (rec.state === 'crashed') this.xenstored.introduceDomain(domid);
      rec.state = 'running';
      this.log.info({ domid }, 'domain started');
      this.emit('domain-started', domid);
    } else if (delta < 0 && open === 0 && rec.state === 'running') {
      rec.state = 'crashed';
      this.evtchn.closeDomainPorts(domid);
      if (this.xenstored.isDomainIntroduced(domid)) this.xenstored.releaseDomain(domid);
      this.log.warn({ domid }, 'domain crashed: its last connection closed');
      this.emit('domain-crashed', domid);
    }
  }

  private info(rec: DomainRecord): SimDomainInfo {
    return { domid: rec.domid, name: rec.name, memoryMiB: rec.memoryMiB, uuid: rec.uuid, state: rec.state };
  }

  private checkRunning(): void {
    if (this.stopped) throw xerror('SIM_E_NO_DOMAIN', 'the simulated hypervisor is stopped');
  }
}
