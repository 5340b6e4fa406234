// Where control sockets live: XENVFB_CONTROL_DIR, else `control/` in the simulator's
// directory, else /run/xenvfb (root-only, like /run/xenstored). One socket per backend,
// domain-N.sock, and watch.sock for the watch daemon.

import * as os from 'node:os';
import * as path from 'node:path';
import { findSimDir } from './platform';

export const RUN_DIR = '/run/xenvfb';

export function controlDir(simDir?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.XENVFB_CONTROL_DIR) return path.resolve(env.XENVFB_CONTROL_DIR);
  const sim = findSimDir(simDir);
  return sim ? path.join(sim, 'control') : RUN_DIR;
}

export function backendSocketPath(dir: string, domid: number): string {
  return path.join(dir, `domain-${domid}.sock`);
}

export const WATCH_SOCKET = 'watch.sock';

/** The domids of the backend sockets in `dir` (domain-N.sock), sorted. */
export function domidsOfSockets(names: string[]): number[] {
  return names
    .map((n) => /^domain-(\d+)\.sock$/.exec(n)?.[1])
    .filter((d): d is string => d !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * The default control socket of `xenvfb replay --control` serving VNC on `vncPort`: in a
 * directory of this user's own under the temporary directory (a replay needs no root).
 */
export function replaySocketPath(vncPort: number, uid = process.getuid?.() ?? 0): string {
  return path.join(os.tmpdir(), `xenvfb-replay-${uid}`, `replay-${vncPort}.sock`);
}
