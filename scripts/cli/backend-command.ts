// `xenvfb backend --domid N`: the dom0 side for one guest.

import { openPlatform } from './platform';
import { DomainBackend } from '../../backend/daemon';
import { createLogger } from '../../shared/log';
import type { HostPort } from './args';
import { type VncSecurityFlags, vncSecurityFromFlags } from './vnc-security-flags';
import { type SpiceFlags, spiceFromFlags } from './spice-flags';

export async function runBackendCommand(
  opts: {
    domid: number;
    vnc?: HostPort;
    web?: HostPort;
    simDir?: string;
    dirtyTiles?: boolean;
    tilePeriod?: number;
    refineDamage?: boolean;
  } & VncSecurityFlags &
    SpiceFlags,
): Promise<void> {
  const log = createLogger({ name: `backend-${opts.domid}` });
  const vncSecurity = vncSecurityFromFlags(opts); // VncServer logs its own warnings
  const spice = spiceFromFlags(opts, log);
  const platform = await openPlatform(0, opts.simDir);
  const backend = new DomainBackend(platform, {
    domid: opts.domid,
    vnc: opts.vnc ?? { host: '127.0.0.1', port: 5900 + opts.domid },
    web: opts.web ?? null,
    spice,
    vncSecurity,
    dirtyTiles: opts.dirtyTiles !== false,
    refineDamage: opts.refineDamage !== false,
    ...(opts.tilePeriod ? { tilePeriodMs: opts.tilePeriod } : {}),
    log,
  });
  await backend.start();
  const stop = async (signal: string) => {
    log.info({ signal }, 'stopping');
    await backend.stop().catch((e: unknown) => log.error({ err: e }, 'stop failed'));
    await platform.close().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
