// `xenvfb backend --domid N`: the dom0 side for one guest.

import { openPlatform } from './platform';
import { DomainBackend } from '../../backend/daemon';
import { createLogger } from '../../shared/log';
import type { HostPort } from './args';
import { type VncSecurityFlags, vncSecurityFromFlags } from './vnc-security-flags';

export async function runBackendCommand(
  opts: {
    domid: number;
    vnc?: HostPort;
    web?: HostPort;
    simDir?: string;
    dirtyTiles?: boolean;
    tilePeriod?: number;
    refineDamage?: boolean;
  } & VncSecurityFlags,
): Promise<void> {
  const log = createLogger({ name: `backend-${opts.domid}` });
  const vncSecurity = vncSecurityFromFlags(opts); // VncServer logs its own warnings
  const platform = await openPlatform(0, opts.simDir);
  const backend = new DomainBackend(platform, {
    domid: opts.domid,
    vnc: opts.vnc ?? { host: '127.0.0.1', port: 5900 + opts.domid },
    web: opts.web ?? null,
    vncSecurity,
    dirtyTiles: opts.dirtyTiles !== false,
    refineDamage: opts.refineDamage !== false,
    ...(opts.tilePeriod ? { tilePeriodMs: opts.tilePeriod } : {}),
    log,
  });
  await backend.start();
  // On SIGTERM/SIGINT, clean what we wrote (console nodes; devices back to InitWait) so
  // xenstore does not advertise a backend that is gone; a backend started later connects.
  const stop = async (signal: string) => {
    log.info({ signal }, 'stopping');
    await backend.retire().catch((e: unknown) => log.error({ err: e }, 'stop failed'));
    // Best effort: we are exiting, and a platform that fails to close has nothing left to undo.
    await platform.close().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
