// `xenvfb attach-devices --domid N`: what libxl writes for `vfb = [...]` and the vkbd it
// implies, for a domain created without them (`xl create -p`, then this, then `xl unpause`:
// scripts/hooks/xl-create-vfb.sh). Both ends' nodes and permissions, one transaction per
// device (shared/platform/sim/toolstack.ts follows libxl_device.c).

import { addDevice } from '../../shared/platform/sim/toolstack';
import { XsClient } from '../../shared/xenstore/client';
import { findSimDir } from './platform';
import * as path from 'node:path';

export async function runAttachDevices(opts: { domid: number; devid?: number; simDir?: string }): Promise<void> {
  const sim = findSimDir(opts.simDir);
  const xs = await XsClient.connect(sim ? { path: path.join(sim, 'xenstored', 'socket') } : {});
  try {
    if (
      (await xs.tryRead(`/local/domain/${opts.domid}/domid`)) === undefined &&
      (await xs.tryRead(`/local/domain/${opts.domid}/name`)) === undefined
    ) {
      throw new Error(`domain ${opts.domid} does not exist in xenstore (create it first: xl create -p CONFIG)`);
    }
    const devid = opts.devid ?? 0;
    for (const kind of ['vfb', 'vkbd'] as const) {
      const p = await addDevice(xs, { kind, domid: opts.domid, devid });
      process.stdout.write(`domain ${opts.domid}: ${kind} ${devid} at ${p.backend}\n`);
    }
  } finally {
    xs.close();
  }
}
