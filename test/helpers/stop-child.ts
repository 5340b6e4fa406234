// Stopping a child process in a test's cleanup without ever hanging the run.
//
// A cleanup hook that waits for 'exit' after SIGTERM waits forever if the child does not
// exit, and the child's pipes then keep mocha alive after its summary. xtigervncviewer does
// this now and then: its SIGTERM handler logs and calls exit(3) from inside the handler,
// which deadlocks when the signal lands while the viewer holds the stdio or malloc lock.

import type { ChildProcess } from 'node:child_process';

/** How the child ended: it had already exited, it exited on `signal`, or it took SIGKILL. */
export type StopOutcome = 'gone' | 'exited' | 'killed';

/** Sends `signal`, then SIGKILL after `graceMs`, and resolves once the child has exited. */
export async function stopChild(
  child: ChildProcess,
  { signal = 'SIGTERM', graceMs = 3000 }: { signal?: NodeJS.Signals; graceMs?: number } = {},
): Promise<StopOutcome> {
  if (child.exitCode !== null || child.signalCode !== null) return 'gone';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
  return killed ? 'killed' : 'exited';
}
