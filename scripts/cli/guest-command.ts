// `xenvfb guest`: a guest running our frontends, simulated (--sim-dir) or inside a real Xen
// domU (no sim dir: evtchn, gntalloc pages shared by grant-fb, xenstore over /dev/xen/xenbus). Prints one JSON line per input event it receives on
// stdout ({"event":"input",...}) and {"event":"ready"} once its devices are published.
// SIGUSR1 switches the framebuffer mode (RESIZE_CYCLE) and prints {"event":"resized",...}.

import { openPlatform } from './platform';
import { DemoGuest } from '../../frontend/demo-guest';
import { createLogger } from '../../shared/log';
import { errorCode } from '../../shared/errors';
import type { WorkloadName } from '../../frontend/workloads';
import type { Rect } from '../../shared/region';
import { stopOnSignals } from './process-life';

export async function runGuestCommand(opts: {
  domid: number;
  simDir?: string;
  workload: WorkloadName;
  image?: string;
  replayFile?: string;
  dirtyTiles?: boolean;
  grantFb?: boolean;
}): Promise<void> {
  const log = createLogger({ name: `guest-${opts.domid}` });
  const platform = await openPlatform(opts.domid, opts.simDir);
  const guest = await DemoGuest.start(platform, {
    workload: opts.workload,
    ...(opts.image ? { image: opts.image } : {}),
    ...(opts.replayFile ? { replayFile: opts.replayFile } : {}),
    log,
    vfb: { dirtyTiles: opts.dirtyTiles !== false, grantFb: opts.grantFb !== false },
    onInput: (ev) => process.stdout.write(`${JSON.stringify({ event: 'input', ...ev })}\n`),
    // XENVFB_GUEST_LOG_DAMAGE=1: every rect the workload draws, with the time (tests compare
    // what the backend saw with what the guest drew).
    ...(process.env.XENVFB_GUEST_LOG_DAMAGE === '1'
      ? { onDamage: (r: Rect) => process.stdout.write(`${JSON.stringify({ event: 'damage', t: Date.now(), ...r })}\n`) }
      : {}),
  });
  // A connection of our own only to notice the host going away (the simulator stopped),
  // open before 'ready': a host gone right after 'ready' must find it listening.
  const lifeline = await platform.xenstore();
  lifeline.once('close', () => {
    process.stderr.write(`xenvfb guest: the xenstore connection closed; stopping (domain ${platform.domid})\n`);
    void guest
      .stop()
      .catch(() => undefined)
      .then(() => process.exit(1));
  });
  process.stdout.write(`${JSON.stringify({ event: 'ready', domid: platform.domid, width: guest.vfb.width, height: guest.vfb.height })}\n`);
  // SIGUSR1: the next mode of the cycle, like a user running xrandr / fbset in the guest.
  const modes = resizeCycle(guest.vfb.width, guest.vfb.height);
  let mode = 0;
  process.on('SIGUSR1', () => {
    const next = modes[(mode + 1) % modes.length]!;
    try {
      guest.resize(next.width, next.height);
      mode = (mode + 1) % modes.length;
      process.stdout.write(`${JSON.stringify({ event: 'resized', ...next })}\n`);
    } catch (e) {
      process.stdout.write(
        `${JSON.stringify({ event: 'resize-failed', ...next, code: errorCode(e), reason: e instanceof Error ? e.message : String(e) })}\n`,
      );
    }
  });
  stopOnSignals(async () => {
    lifeline.removeAllListeners('close');
    await guest.stop().catch(() => undefined);
    await platform.close().catch(() => undefined);
    return 0;
  });
}

/** Modes SIGUSR1 cycles through, starting after the initial one: initial -> 640x480 -> 1024x768 -> initial. */
export function resizeCycle(width: number, height: number): Array<{ width: number; height: number }> {
  return [
    { width, height },
    { width: 640, height: 480 },
    { width: 1024, height: 768 },
  ];
}
