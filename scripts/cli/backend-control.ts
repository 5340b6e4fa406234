// The control socket of `xenvfb backend` (backend/control/): what each request does with
// this process's DomainBackend. Lives with the CLI because it reaches into the VNC server
// (disconnect, reload, per-encoding stats), which protocol-neutral backend code may not.

import type { DomainBackend } from '../../backend/daemon';
import type { ControlRequest } from '../../backend/control/protocol';
import {
  type BackendStatus,
  type DeviceStatus,
  type ClientStatus,
  formatAddress,
  geometryOf,
  RateSampler,
} from '../../backend/control/status';
import { VncServer } from '../../backend/vnc/server';
import type { VncSecurityOptions } from '../../backend/vnc/security/options';
import { xerror } from '../../shared/errors';
import { xenbusStateName } from '../../shared/xenbus-state';
import { scanReportToJson } from '../../shared/dirty-tiles/scan-report';

export interface BackendControlOptions {
  domid: number;
  backend: DomainBackend;
  /** Reads the password file / environment and certificate paths again (`reload`). */
  reloadSecurity: () => VncSecurityOptions;
}

export function backendControlHandler(opts: BackendControlOptions): {
  handle: (req: ControlRequest) => Promise<unknown>;
  stop: () => void;
} {
  const { backend, domid } = opts;
  const started = Date.now();
  const rates = new RateSampler(() => backend.servers);

  const devices = async (): Promise<DeviceStatus[]> => {
    const out: DeviceStatus[] = [];
    for (const [key, dev] of backend.devices) {
      const [kind, id] = key.split('/') as [string, string];
      const devid = Number(id);
      const fe = await backend.xenstore.tryRead(`${dev.ctx.frontendPath}/state`).catch(() => undefined);
      const d: DeviceStatus = {
        kind,
        devid,
        backendState: xenbusStateName(dev.xenbusState),
        frontendState: fe === undefined ? null : xenbusStateName(Number(fe)),
      };
      const vfb = kind === 'vfb' ? backend.vfbs.get(devid) : undefined;
      if (vfb) Object.assign(d, { grantFb: vfb.grantFb, dirtyTiles: vfb.dirtyTiles, tiles: vfb.tileStats, events: { ...vfb.stats } });
      out.push(d);
    }
    return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.devid - b.devid);
  };

  const clients = (): ClientStatus[] => {
    rates.sample();
    return backend.servers.flatMap(({ server }) => {
      const vncStats = server instanceof VncServer ? new Map(server.clients().map((c) => [c.id, c.session])) : undefined;
      return server.clientInfo().map((c) => ({
        ...c,
        protocol: server.protocol,
        ...rates.rate(server.protocol, c.id),
        ...(vncStats?.get(c.id) ? { encodings: vncStats.get(c.id)!.encoders } : {}),
      }));
    });
  };

  const status = async (): Promise<BackendStatus> => ({
    domid,
    pid: process.pid,
    uptimeSeconds: Math.round((Date.now() - started) / 1000),
    geometry: geometryOf(backend.display.geometry()),
    devices: await devices(),
    servers: backend.servers.map((s) => ({
      protocol: s.server.protocol,
      listen: formatAddress(s.address)!,
      clients: s.server.clientInfo().length,
    })),
    web: formatAddress(backend.webAddress),
    clients: clients(),
    display: { ...backend.display.stats },
    capture: backend.capture.status(),
  });

  const handle = async (req: ControlRequest): Promise<unknown> => {
    switch (req.op) {
      case 'status':
        return status();
      case 'clients':
        return clients();
      case 'screenshot': {
        const surface = backend.display.surface();
        if (!surface) throw xerror('CTL_E_FAILED', `domain ${domid} has no framebuffer yet (its vfb is not connected)`);
        // The PNG encoder is loaded at the first screenshot, not by every idle backend.
        const { surfaceToPng } = await import('../../backend/control/screenshot');
        return { width: surface.width, height: surface.height, png: surfaceToPng(surface).toString('base64') };
      }
      case 'disconnect': {
        for (const { server } of backend.servers) {
          if (server instanceof VncServer && server.disconnect(req.client)) return { disconnected: req.client };
        }
        throw xerror('CTL_E_FAILED', `no client ${req.client} on domain ${domid} (see xenvfb clients --domid ${domid})`);
      }
      case 'tiles': {
        // The first framebuffer's scans (what the display shows); arms its scan monitor.
        const vfb = [...backend.vfbs.values()][0];
        if (!vfb) throw xerror('CTL_E_FAILED', `domain ${domid} has no vfb device yet`);
        return { reports: vfb.monitor.since(req.since).map(scanReportToJson) };
      }
      case 'capture-start':
        return backend.capture.start({ path: req.path, maxBytes: req.maxBytes, maxMs: req.maxMs });
      case 'capture-stop': {
        const now = backend.capture.status();
        if (!now?.recording) throw xerror('CTL_E_FAILED', `domain ${domid} is not recording (no capture running)`);
        if (req.path !== undefined && req.path !== now.path) {
          throw xerror('CTL_E_FAILED', `domain ${domid} records to ${now.path}, not ${req.path}: not stopped`);
        }
        return backend.capture.stop();
      }
      case 'capture-status':
        return backend.capture.status();
      case 'reload': {
        const security = opts.reloadSecurity();
        const reloaded: string[] = [];
        for (const { server } of backend.servers) {
          if (server instanceof VncServer) {
            server.reloadSecurity(security);
            reloaded.push(server.protocol);
          }
        }
        return { reloaded, passwordSet: security.password !== undefined, tls: security.tls ?? null };
      }
    }
  };
  return { handle, stop: () => rates.stop() };
}
