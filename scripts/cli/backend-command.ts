// `xenvfb backend --domid N`: the dom0 side for one guest. Run by hand, failures are one
// line on stderr; run by a supervisor (the demo, `xenvfb watch`), it also reports JSON
// events on stdout: `listening` with the addresses it really got, `fatal` with the error.

import { openPlatform } from './platform';
import { DomainBackend } from '../../backend/daemon';
import { createLogger } from '../../shared/log';
import { errorCode, isXenvfbError } from '../../shared/errors';
import { formatHostPort, type HostPort } from './args';
import { netLimitsFromFlags, type VncSecurityFlags, vncSecurityFromFlags } from './vnc-security-flags';
import { type SpiceFlags, spiceFromFlags } from './spice-flags';
import { isSupervised, reportToSupervisor, stopOnSignals } from './process-life';
import { isLoopback, unauthenticatedWarning } from './unauthenticated-warning';
import type { startBackendMetrics } from './backend-metrics';
import * as path from 'node:path';
import { ControlServer } from '../../backend/control/server';
import { backendControlHandler } from './backend-control';
import { backendSocketPath, controlDir } from './control-paths';

/** sysexits.h EX_CONFIG: a supervisor must not restart a backend that exits with it. */
export const EXIT_CONFIG = 78;

export interface BackendCommandOptions extends VncSecurityFlags, SpiceFlags {
  domid: number;
  vnc?: HostPort;
  web?: HostPort;
  simDir?: string;
  controlDir?: string;
  metrics?: HostPort;
  dirtyTiles?: boolean;
  tilePeriod?: number;
  refineDamage?: boolean;
  vncWebsocket?: boolean;
  capture?: string;
  captureMaxSize?: number;
}

/** One line for whoever reads: the supervisor as a JSON event, a person on stderr. */
function tell(event: 'warning' | 'fatal', message: string, fields: Record<string, unknown> = {}): void {
  if (isSupervised()) reportToSupervisor(event, { message, ...fields });
  else process.stderr.write(`xenvfb backend: ${message}\n`);
}

export async function runBackendCommand(opts: BackendCommandOptions): Promise<void> {
  const log = createLogger({ name: `backend-${opts.domid}` });
  const vncSecurity = vncSecurityFromFlags(opts); // VncServer logs its own warnings
  const spice = spiceFromFlags(opts, log);
  const vnc = opts.vnc ?? { host: '127.0.0.1', port: 5900 + opts.domid };
  const warning = unauthenticatedWarning(vncSecurity, [{ flag: '--vnc', at: vnc }, ...(opts.web ? [{ flag: '--web', at: opts.web }] : [])]);
  if (warning) tell('warning', warning);
  if (opts.metrics && !isLoopback(opts.metrics.host)) {
    tell(
      'warning',
      `metrics on ${formatHostPort(opts.metrics)} are readable by anyone who can reach it (client addresses are not in them)`,
    );
  }
  const platform = await openPlatform(0, opts.simDir);
  const backend = new DomainBackend(platform, {
    domid: opts.domid,
    vnc,
    web: opts.web ?? null,
    spice,
    vncSecurity,
    netLimits: netLimitsFromFlags(opts),
    dirtyTiles: opts.dirtyTiles !== false,
    refineDamage: opts.refineDamage !== false,
    vncWebsocket: opts.vncWebsocket !== false,
    ...(opts.tilePeriod ? { tilePeriodMs: opts.tilePeriod } : {}),
    ...(opts.capture ? { capture: { path: opts.capture, ...(opts.captureMaxSize ? { maxBytes: opts.captureMaxSize * 1e6 } : {}) } } : {}),
    log,
  });
  let metrics: Awaited<ReturnType<typeof startBackendMetrics>> | undefined;
  try {
    await backend.start();
    // Loaded only when asked for: prom-client costs memory and start-up time otherwise.
    if (opts.metrics) metrics = await (await import('./backend-metrics')).startBackendMetrics(backend, opts.domid, opts.metrics);
  } catch (e) {
    await backend.stop().catch(() => undefined);
    await platform.close().catch(() => undefined);
    if (isXenvfbError(e, 'NET_E_LISTEN')) {
      tell('fatal', e.message, { code: e.code, ...e.details });
      process.exit(EXIT_CONFIG);
    }
    throw e;
  }
  const socketPath = backendSocketPath(opts.controlDir ? path.resolve(opts.controlDir) : controlDir(opts.simDir), opts.domid);
  const control = backendControlHandler({ domid: opts.domid, backend, reloadSecurity: () => vncSecurityFromFlags(opts) });
  let controlServer: ControlServer;
  try {
    controlServer = await ControlServer.listen(socketPath, control.handle, log.child({ control: true }));
  } catch (e) {
    await backend.stop().catch(() => undefined);
    await platform.close().catch(() => undefined);
    tell('fatal', `control socket: ${(e as Error).message}`, {
      code: errorCode(e) ?? 'NET_E_LISTEN',
      flag: '--control-dir',
    });
    process.exit(EXIT_CONFIG);
  }
  reportToSupervisor('listening', {
    domid: opts.domid,
    vnc: backend.vncAddress ? formatHostPort(backend.vncAddress) : null,
    web: backend.webAddress ? formatHostPort(backend.webAddress) : null,
    control: socketPath,
    metrics: metrics ? formatHostPort(metrics.address) : null,
  });
  log.info({ control: socketPath }, 'control socket listening');
  let stopping = false;
  const stop = async (why: string): Promise<number> => {
    stopping = true;
    log.info({ why }, 'stopping');
    control.stop();
    await controlServer.close().catch(() => undefined);
    await metrics?.close().catch(() => undefined);
    // Clean what we wrote (console nodes; devices back to InitWait, or Closed under a
    // teardown) so xenstore does not advertise a backend that is gone (docs/security.md).
    await backend.retire().catch((e: unknown) => log.error({ err: e }, 'stop failed'));
    await platform.close().catch(() => undefined);
    return 0;
  };
  stopOnSignals(stop);
  backend.xenstore.once('close', () => {
    if (stopping) return;
    // xenstored went away (the simulator or the host's xenstored stopped): nothing to serve.
    process.stderr.write(`xenvfb backend: the xenstore connection closed; stopping (domain ${opts.domid})\n`);
    void stop('xenstore closed').then(() => process.exit(1));
  });
}
