// `xenvfb guest`: a simulated guest. Prints one JSON line per input event it receives on
// stdout ({"event":"input",...}) and {"event":"ready"} once its devices are published.

import { openPlatform } from './platform';
import { DemoGuest } from '../../frontend/demo-guest';
import { createLogger } from '../../shared/log';
import type { WorkloadName } from '../../frontend/workloads';

export async function runGuestCommand(opts: { domid: number; simDir: string; workload: WorkloadName; image?: string }): Promise<void> {
  const log = createLogger({ name: `guest-${opts.domid}` });
  const platform = await openPlatform(opts.domid, opts.simDir);
  const guest = await DemoGuest.start(platform, {
    workload: opts.workload,
    ...(opts.image ? { image: opts.image } : {}),
    log,
    onInput: (ev) => process.stdout.write(`${JSON.stringify({ event: 'input', ...ev })}\n`),
  });
  process.stdout.write(`${JSON.stringify({ event: 'ready', domid: opts.domid, width: guest.vfb.width, height: guest.vfb.height })}\n`);
  const stop = async () => {
    await guest.stop().catch(() => undefined);
    await platform.close().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
