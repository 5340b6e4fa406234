// `xenvfb sim --dir DIR`: the simulated hypervisor on its own, for running backends and
// guests by hand (or xenstore-utils with XENSTORED_PATH=DIR/xenstored/socket).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { SimHypervisor } from '../../shared/platform/sim/hypervisor';
import { addDevice } from '../../shared/platform/sim/toolstack';
import { XsClient } from '../../shared/xenstore/client';
import { createLogger } from '../../shared/log';
import { stopOnSignals } from './process-life';

export async function runSimCommand(opts: { dir: string; domain?: number[] }): Promise<void> {
  const dir = path.resolve(opts.dir);
  fs.mkdirSync(dir, { recursive: true });
  const log = createLogger({ name: 'sim' });
  const hv = await SimHypervisor.start({ dir, log });
  const xsPath = path.join(dir, 'xenstored', 'socket');
  const xs = await XsClient.connect({ path: xsPath });
  for (const domid of opts.domain ?? []) {
    if (domid === 0) continue;
    await hv.createDomain(domid, { name: `guest-${domid}`, memoryMiB: 64 });
    await addDevice(xs, { kind: 'vfb', domid, devid: 0 });
    await addDevice(xs, { kind: 'vkbd', domid, devid: 0 });
  }
  process.stdout.write(`xenvfb sim: xenstored on ${xsPath}\n`);
  for (const domid of opts.domain ?? []) {
    process.stdout.write(
      `  domain ${domid}: xenvfb guest --domid ${domid} --sim-dir ${dir}; xenvfb backend --domid ${domid} --sim-dir ${dir}\n`,
    );
  }
  stopOnSignals(async () => {
    xs.close();
    await hv.stop().catch(() => undefined);
    return 0;
  });
}
