// Which platform a command runs on: the simulator when a sim dir is known (flag, env, or
// XENSTORED_PATH inside a sim dir), real Xen when /dev/xen/privcmd or /dev/xen/evtchn
// exists, otherwise a usage error that says what is missing.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Platform } from '../../shared/platform/types';
import { createSimPlatform } from '../../shared/platform/sim/platform';
import { XEN_DEVICE_PATHS, presentXenDevices } from '../../shared/platform/xen/devices';
import { createXenPlatform } from '../../shared/platform/xen/platform';
import { xerror } from '../../shared/errors';

export function findSimDir(explicit?: string): string | undefined {
  if (explicit) return path.resolve(explicit);
  if (process.env.XENVFB_SIM_DIR) return path.resolve(process.env.XENVFB_SIM_DIR);
  const xsPath = process.env.XENSTORED_PATH;
  if (xsPath) {
    const dir = path.dirname(path.dirname(path.resolve(xsPath)));
    if (fs.existsSync(path.join(dir, 'domains'))) return dir;
  }
  return undefined;
}

/** `domid` is the simulated domain to open; on real Xen it is read from xenstore instead. */
export async function openPlatform(domid: number, simDir?: string): Promise<Platform> {
  const dir = findSimDir(simDir);
  if (dir) {
    if (!fs.existsSync(path.join(dir, 'xenstored', 'socket'))) {
      throw xerror('SIM_E_NO_DOMAIN', `no simulator is running in ${dir} (start one with: xenvfb sim --dir ${dir})`);
    }
    return createSimPlatform({ dir, domid });
  }
  // On Xen our domid is what xenstore says; the caller's `domid` only names the sim domain.
  const present = presentXenDevices();
  if (present.includes('privcmd') || present.includes('evtchn')) return createXenPlatform();
  throw xerror(
    'CLI_E_USAGE',
    `no simulator dir is known and this is not a Xen domain (${XEN_DEVICE_PATHS.privcmd} and ` +
      `${XEN_DEVICE_PATHS.evtchn} are missing; in a Xen domain load xen-privcmd/xen-evtchn/xen-gntdev/xen-gntalloc ` +
      'and mount xenfs on /proc/xen). To run against the simulator instead: start one with `xenvfb sim --dir DIR` ' +
      'and pass --sim-dir DIR (or set XENVFB_SIM_DIR=DIR, or XENSTORED_PATH=DIR/xenstored/socket)',
    { present },
  );
}
