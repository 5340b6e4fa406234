// Which platform a command runs on: the simulator when a sim dir is known (flag, env, or
// XENSTORED_PATH inside a sim dir), real Xen otherwise.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Platform } from '../../shared/platform/types';
import { createSimPlatform } from '../../shared/platform/sim/platform';
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

export async function openPlatform(domid: number, simDir?: string): Promise<Platform> {
  const dir = findSimDir(simDir);
  if (dir) {
    if (!fs.existsSync(path.join(dir, 'xenstored', 'socket'))) {
      throw xerror('SIM_E_NO_DOMAIN', `no simulator is running in ${dir} (start one with: xenvfb sim --dir ${dir})`);
    }
    return createSimPlatform({ dir, domid });
  }
  throw xerror(
    'CLI_E_USAGE',
    'real Xen devices (privcmd, gntdev, evtchn) are not supported by this build yet; ' +
      'run against the simulator with --sim-dir DIR (or XENVFB_SIM_DIR / XENSTORED_PATH=DIR/xenstored/socket)',
  );
}
