// One backend per guest domain: finds the domain's vfb and vkbd devices under our backend
// directory (as QEMU's xen_be_register watches backend/<type>/<domid>), drives each through
// its lifecycle, and serves the guest's display through a list of display servers (VNC, SPICE)
// and the web console. The composition root: the one place that picks protocols.
// SPICE, the web server and the recorder are loaded only when their option is given: a
// backend runs per domain, and code it never runs still costs memory in each.

import * as path from 'node:path';
import type { Platform } from '../shared/platform/types';
import type { XsClient } from '../shared/xenstore/client';
import type { Logger } from '../shared/log';
import type { InputSink } from './input/input-sink';
import type { DisplayServer } from './display-server';
import type { BoundAddress } from './listen';
import { GuestDisplay } from './display/guest-display';
import { XenbusBackendDevice, type BackendDeviceOps } from './devices/xenbus-backend';
import { VfbBackend } from './devices/vfb';
import { VkbdBackend } from './devices/vkbd';
import { VncServer } from './vnc/server';
import type { VncSecurityOptions } from './vnc/security/options';
import type { WebServer } from './web/server';
import type { NetLimitsOptions } from './net/limits';
import type { SpiceBackendOptions } from './spice/backend-spice';
import { LiveCapture } from './capture/live-capture';
import { listenError } from './listen';
import { IdleMemory } from './idle-memory';

export interface BackendOptions {
  domid: number;
  vnc?: { host: string; port: number } | null;
  /** noVNC web client; its WebSocket goes to the VNC server's sessions. */
  web?: { host: string; port: number } | null;
  /** VNC security types, password, TLS files (default: None only). */
  vncSecurity?: VncSecurityOptions;
  /** Connection limits, deadlines, auth throttle of the VNC and web servers (default: net/limits.ts). */
  netLimits?: NetLimitsOptions;
  /**
   * Also take RFB over WebSocket on the VNC port (default true). Each new connection then waits
   * up to SNIFF_WAIT_MS for an HTTP request before the RFB greeting; false greets at once. The
   * web server (`web`) takes noVNC's WebSocket either way.
   */
  vncWebsocket?: boolean;
  /** SPICE server (backend/spice/): address, ticket, sharing. */
  spice?: SpiceBackendOptions | null;
  /** Absolute pointer range advertised to the guest's keyboard frontend. */
  pointerRange?: { width: number; height: number };
  /** Offer and scan dirty-tile pages (default true). */
  dirtyTiles?: boolean;
  /** Dirty-tile scan period in ms (default DT_DEFAULT_PERIOD_MS). */
  tilePeriodMs?: number;
  /** Refine damage against a shadow framebuffer and detect scrolls (display/shadow.ts; default true). */
  refineDamage?: boolean;
  /** Pace the guest's tile switches from our scan timer (default true; docs/dirty-tiles.md §4.7). */
  tilePaced?: boolean;
  /** Ask switch-on-mark frontends to switch after each drawing step (default true; §4.8). */
  tileSwitchOnMark?: boolean;
  /** XENFB_TYPE_REFRESH_PERIOD for UPDATE-event guests, ms (default VFB_REFRESH_PERIOD_MS). */
  refreshPeriodMs?: number;
  /** Record the display and client input to this capture file (docs/capture-format.md). */
  capture?: { path: string; maxBytes?: number };
  log: Logger;
}

/**
 * Display protocols whose `/local/domain/N/console/<protocol>-{listen,port}` nodes a backend
 * of the domain owns (`xl vncviewer` reads vnc-port; a SPICE server publishes spice-*).
 */
export const CONSOLE_PROTOCOLS = ['vnc', 'spice'] as const;

/** Sends input to the first connected vkbd device of the domain. */
class InputRouter implements InputSink {
  readonly devices = new Map<number, VkbdBackend>();

  private target(): VkbdBackend | undefined {
    for (const d of this.devices.values()) if (d.connectedToGuest) return d;
    return undefined;
  }
  key(code: number, pressed: boolean): void {
    this.target()?.key(code, pressed);
  }
  button(code: number, pressed: boolean): void {
    this.target()?.button(code, pressed);
  }
  pointerAbs(x: number, y: number, width: number, height: number): void {
    this.target()?.pointerAbs(x, y, width, height);
  }
  pointerRel(dx: number, dy: number): void {
    this.target()?.pointerRel(dx, dy);
  }
  wheel(vertical: number, horizontal?: number): void {
    this.target()?.wheel(vertical, horizontal);
  }
}

/** A display server of this domain and where it listens. */
export interface ServedProtocol {
  server: DisplayServer;
  address: BoundAddress;
  /** The web server's WebSocket paths routed to it. */
  webSocketPaths: readonly string[];
}

export class DomainBackend {
  readonly display: GuestDisplay;
  readonly input = new InputRouter();
  readonly devices = new Map<string, XenbusBackendDevice>();
  readonly vfbs = new Map<number, VfbBackend>();
  /** Display servers in the order they started (VNC first). */
  readonly servers: ServedProtocol[] = [];
  web: WebServer | undefined;
  /** The display's capture: started by --capture, or later through the control socket. */
  readonly capture: LiveCapture;
  webAddress: { host: string; port: number } | undefined;
  private readonly watches: { close(): Promise<void> | void }[] = [];
  private readonly unsubscribers: (() => void)[] = [];
  private xs!: XsClient;
  private scanning = Promise.resolve();
  /** Console nodes this backend wrote (name -> value), removed again by retire(). */
  private readonly published = new Map<string, string>();
  /** Gives the heap back when the backend goes idle (with the launchers' --no-memory-reducer). */
  readonly idleMemory: IdleMemory;

  constructor(
    private readonly platform: Platform,
    private readonly opts: BackendOptions,
  ) {
    this.display = new GuestDisplay(`xenvfb domain ${opts.domid}`, {
      refineDamage: opts.refineDamage !== false,
      onUnwatched: () => this.idleMemory.poke(),
    });
    this.idleMemory = new IdleMemory(this.display, { log: opts.log });
    this.capture = new LiveCapture(this.display, { domid: opts.domid }, opts.log.child({ capture: true }));
  }

  /** The backend's xenstore connection (the command ends when it closes). */
  get xenstore(): XsClient {
    return this.xs;
  }

  async start(): Promise<void> {
    const { domid, log } = this.opts;
    this.xs = await this.platform.xenstore();
    await this.removeConsoleNodes(undefined);
    const input: InputSink = this.capture.tapInput(this.input);
    if (this.opts.capture) this.capture.start({ ...this.opts.capture, path: path.resolve(this.opts.capture.path) });
    if (this.opts.vnc) {
      const vnc = new VncServer({
        display: this.display,
        input,
        name: this.display.name,
        log: log.child({ vnc: true }),
        security: this.opts.vncSecurity,
        limits: this.opts.netLimits,
        websocket: this.opts.vncWebsocket !== false,
      });
      await this.serve(vnc, this.opts.vnc, ['/websockify', '/']);
    }
    if (this.opts.spice) {
      // A SPICE port that cannot bind is logged, not fatal: VNC still serves the guest (the demo
      // turns SPICE on by default, and demos side by side share its default port).
      const { createSpiceServer } = await import('./spice/backend-spice');
      const { SPICE_WEB_WEBSOCKET_PATH } = await import('./spice/web-client');
      const spice = await createSpiceServer(this.xs, this.display, input, domid, this.opts.spice, log);
      await this.serve(spice, this.opts.spice, [SPICE_WEB_WEBSOCKET_PATH]).catch((err: unknown) => {
        log.error({ err, spice: `${this.opts.spice!.host}:${this.opts.spice!.port}` }, 'SPICE server could not listen');
        return spice.close();
      });
    }
    if (this.opts.web) await this.startWeb(this.opts.web);
    for (const kind of ['vfb', 'vkbd'] as const) {
      const w = await this.xs.watch(this.kindPath(kind));
      w.on('event', () => this.scan());
      this.watches.push(w);
    }
    this.scan();
    this.idleMemory.poke();
    log.info({ domid }, 'backend started');
  }

  /** The VNC server, when this backend serves VNC. */
  get vnc(): VncServer | undefined {
    return this.servers.find((s) => s.server instanceof VncServer)?.server as VncServer | undefined;
  }

  get vncAddress(): BoundAddress | undefined {
    return this.servers.find((s) => s.server.protocol === 'vnc')?.address;
  }

  /**
   * Start a display server and publish it where tools look for a domain's console
   * (`/local/domain/N/console/<protocol>-port` and `-listen`, as `xl vncviewer` reads vnc-port).
   */
  private async serve(server: DisplayServer, at: BoundAddress, webSocketPaths: readonly string[]): Promise<void> {
    const { domid, log } = this.opts;
    const address = await server.listen(at.host, at.port).catch((e: Error) => {
      throw listenError(e, server.protocol.toUpperCase(), `--${server.protocol}`, at);
    });
    this.servers.push({ server, address, webSocketPaths });
    log.info({ [server.protocol]: `${address.host}:${address.port}` }, `${server.protocol.toUpperCase()} server listening`);
    const consolePath = `/local/domain/${domid}/console`;
    await this.xs.write(`${consolePath}/${server.protocol}-listen`, address.host);
    await this.xs.write(`${consolePath}/${server.protocol}-port`, String(address.port));
    this.published.set(`${server.protocol}-listen`, address.host);
    this.published.set(`${server.protocol}-port`, String(address.port));
  }

  /**
   * The console nodes of CONSOLE_PROTOCOLS: at start every one (a backend that died left
   * them pointing at a port nobody serves), at retire only those still holding what we wrote
   * (another backend may have taken over).
   */
  private async removeConsoleNodes(ours: Map<string, string> | undefined): Promise<void> {
    const consolePath = `/local/domain/${this.opts.domid}/console`;
    await this.xs.transaction(async (tx) => {
      for (const protocol of CONSOLE_PROTOCOLS) {
        for (const name of [`${protocol}-listen`, `${protocol}-port`]) {
          const value = await tx.tryRead(`${consolePath}/${name}`);
          if (value === undefined || (ours && ours.get(name) !== value)) continue;
          this.opts.log.info(
            { node: `${consolePath}/${name}`, value },
            ours ? 'removing our console node' : 'removing a stale console node',
          );
          await tx.rmIfExists(`${consolePath}/${name}`);
        }
      }
    });
  }

  /** A web client that cannot bind is fatal like VNC: never leave a URL someone else serves. */
  private async startWeb(at: { host: string; port: number }): Promise<void> {
    const { log } = this.opts;
    const routes = this.servers.flatMap((s) => s.webSocketPaths.map((path) => ({ path, handler: s.server })));
    const spiceWeb = this.servers.some((s) => s.server.protocol === 'spice') ? (await import('./spice/web-client')).spiceWebClient() : null;
    const { WebServer } = await import('./web/server');
    const web = new WebServer({
      webSockets: routes,
      log: log.child({ web: true }),
      limits: this.opts.netLimits,
      ...(spiceWeb ? { extraMounts: spiceWeb.mounts, redirects: spiceWeb.redirects } : {}),
    });
    this.webAddress = await web.listen(at.host, at.port).catch((e: Error) => {
      throw listenError(e, 'the web client', '--web', at);
    });
    this.web = web;
    log.info({ web: `http://${this.webAddress.host}:${this.webAddress.port}/` }, 'web client (noVNC) listening');
  }

  private kindPath(kind: 'vfb' | 'vkbd'): string {
    return `/local/domain/${this.platform.domid}/backend/${kind}/${this.opts.domid}`;
  }

  /** Look for new device ids; one scan at a time. */
  private scan(): void {
    this.scanning = this.scanning.then(() => this.scanOnce()).catch((e: unknown) => this.opts.log.error({ err: e }, 'device scan failed'));
  }

  private async scanOnce(): Promise<void> {
    for (const kind of ['vfb', 'vkbd'] as const) {
      const ids = await this.xs.directory(this.kindPath(kind)).catch(() => [] as string[]);
      for (const id of ids) {
        const key = `${kind}/${id}`;
        if (this.devices.has(key) || !/^\d+$/.test(id)) continue;
        const devid = Number(id);
        const backendPath = `${this.kindPath(kind)}/${id}`;
        if ((await this.xs.tryRead(`${backendPath}/frontend`)) === undefined) continue; // not fully written yet
        const ops = this.makeOps(kind, devid);
        const dev = await XenbusBackendDevice.attach(
          this.xs,
          this.platform,
          ops,
          { domid: this.opts.domid, devid, backendPath },
          this.opts.log,
        );
        this.devices.set(key, dev);
        dev.on('connected', () => this.idleMemory.poke());
        dev.on('removed', () => {
          this.devices.delete(key);
          if (kind === 'vkbd') this.input.devices.delete(devid);
          else this.vfbs.delete(devid);
        });
      }
    }
  }

  private makeOps(kind: 'vfb' | 'vkbd', devid: number): BackendDeviceOps {
    if (kind === 'vkbd') {
      const ops = new VkbdBackend(this.opts.pointerRange);
      this.input.devices.set(devid, ops);
      return ops;
    }
    // The first vfb drives the domain's display; further ones are connected but not shown.
    const display = this.vfbs.size === 0 ? this.display : new GuestDisplay(`${this.display.name} vfb ${devid}`);
    const ops = new VfbBackend(display, {
      ...(this.opts.dirtyTiles === false ? { dirtyTiles: false } : {}),
      ...(this.opts.tilePeriodMs ? { tilePeriodMs: this.opts.tilePeriodMs } : {}),
      ...(this.opts.tilePaced === false ? { tilePaced: false } : {}),
      ...(this.opts.tileSwitchOnMark === false ? { tileSwitchOnMark: false } : {}),
      ...(this.opts.refreshPeriodMs ? { refreshPeriodMs: this.opts.refreshPeriodMs } : {}),
    });
    this.vfbs.set(devid, ops);
    // A capture keeps the displayed framebuffer's tile scans (TILE_SCAN records).
    if (display === this.display) this.capture.watchScans(ops.monitor);
    return ops;
  }

  /**
   * Stop serving and drop our side of every device, leaving xenstore as it is: a backend
   * started later re-attaches to the running guest (tests, in-process restarts).
   */
  async stop(): Promise<void> {
    await this.shutdown((dev) => dev.stop());
  }

  /**
   * Stop for good (SIGTERM, SIGINT): as stop(), and clean what we wrote so that xenstore no
   * longer advertises a backend: our console nodes go, each device goes back to InitWait
   * without its connection's nodes (XenbusBackendDevice.retire). A backend started later
   * connects from there.
   */
  async retire(): Promise<void> {
    await this.shutdown((dev) => dev.retire());
    if (!this.xs.isClosed) await this.removeConsoleNodes(this.published);
    this.published.clear();
  }

  private async shutdown(each: (dev: XenbusBackendDevice) => Promise<void>): Promise<void> {
    for (const w of this.watches.splice(0)) await w.close();
    await this.scanning;
    for (const dev of this.devices.values()) {
      await each(dev).catch((e: unknown) => this.opts.log.error({ err: e, dev: dev.ctx.backendPath }, 'device shutdown failed'));
    }
    this.devices.clear();
    await this.web?.close();
    for (const s of this.servers.splice(0)) await s.server.close();
    for (const off of this.unsubscribers.splice(0)) off();
    this.capture.stop();
    this.idleMemory.close();
  }
}
