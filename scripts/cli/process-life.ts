// How xenvfb processes end together. A supervisor (the demo, `xenvfb watch`) gives each
// child the read end of a pipe as fd 3 and names it in XENVFB_PARENT_FD; the kernel closes
// the write end however the supervisor ends (exit, SIGHUP, SIGKILL, a crash), so the child
// sees end-of-file and stops cleanly. This needs no native code (prctl(PR_SET_PDEATHSIG)
// would deliver a signal instead, and only on Linux) and works across exec.
// Children of a supervisor also report to it with JSON lines on stdout (`event` field).

import * as fs from 'node:fs';
import * as net from 'node:net';

export const PARENT_FD_ENV = 'XENVFB_PARENT_FD';
/** The child's fd for the pipe (stdin, stdout, stderr come first). */
export const PARENT_FD = 3;
/** A directory the child removes when its supervisor is gone (the demo's own sim dir). */
export const REMOVE_ON_ORPHAN_ENV = 'XENVFB_REMOVE_ON_ORPHAN';

/** True when this process was started by a supervisor that reads its JSON events. */
export function isSupervised(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[PARENT_FD_ENV] !== undefined;
}

/** One JSON event line for the supervisor (nothing when run by hand). */
export function reportToSupervisor(event: string, fields: Record<string, unknown> = {}): void {
  if (isSupervised()) process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

/**
 * Calls `onGone` once when the supervisor is gone. The pipe does not keep this process
 * alive. No-op when not supervised.
 */
export function watchParent(onGone: () => void, env: NodeJS.ProcessEnv = process.env): void {
  const fd = Number(env[PARENT_FD_ENV]);
  if (!Number.isInteger(fd) || fd < 0) return;
  delete env[PARENT_FD_ENV]; // our own children get their own pipe, or none
  let fired = false;
  const fire = () => {
    if (fired) return;
    fired = true;
    onGone();
  };
  const pipe = new net.Socket({ fd, readable: true, writable: false });
  pipe.on('data', () => undefined);
  pipe.on('end', fire);
  pipe.on('close', fire);
  pipe.on('error', fire);
  pipe.unref();
}

/** Removes the directory named by REMOVE_ON_ORPHAN_ENV (after this process stopped using it). */
export function removeOrphanedDir(env: NodeJS.ProcessEnv = process.env): void {
  const dir = env[REMOVE_ON_ORPHAN_ENV];
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Stops on SIGINT, SIGTERM, SIGHUP (the terminal closed) and when the supervisor is gone,
 * once; `stop` resolves with the exit code. A stop that hangs is cut short after `graceMs`.
 */
export function stopOnSignals(stop: (why: string) => Promise<number>, graceMs = 5000): void {
  let stopping = false;
  const run = (why: string, orphaned: boolean) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), graceMs).unref();
    void stop(why)
      .catch(() => 1)
      .then((code) => {
        if (orphaned) removeOrphanedDir();
        process.exit(code);
      });
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => run(sig, false));
  // However this process ends (a crash too), an orphan removes what its supervisor owned.
  const supervisor = process.ppid;
  if (isSupervised()) process.once('exit', () => process.ppid !== supervisor && removeOrphanedDir());
  watchParent(() => run('parent gone', true));
}
