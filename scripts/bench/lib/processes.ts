// Every process and directory a benchmark creates, so that all of them go away at the end,
// on an error, and on Ctrl-C. Each child runs in its own process group (detached), which is
// signalled as a whole: the xenvfb demo's guest and backend, Xvnc, a peer server.

import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const groups = new Set<ChildProcess>();
const dirs = new Set<string>();
let interrupted = false;

/** True once Ctrl-C / SIGTERM arrived: loops stop starting new work. */
export function isInterrupted(): boolean {
  return interrupted;
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone
  }
}

/** Start `cmd` in a new process group, remembered until it exits. */
export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts, detached: true });
  groups.add(child);
  child.once('exit', () => groups.delete(child));
  child.once('error', () => groups.delete(child));
  return child;
}

/** A directory removed (recursively) at cleanup. */
export function trackDir(dir: string): string {
  dirs.add(dir);
  return dir;
}

/** Call `onLine` for each line the child prints on `stream`. */
export function onLines(child: ChildProcess, stream: 'stdout' | 'stderr', onLine: (line: string) => void): void {
  const s = child[stream];
  if (s) readline.createInterface({ input: s }).on('line', onLine);
}

/** SIGTERM to the child's group, SIGKILL after `graceMs`; resolves once the leader is gone. */
export async function stopTracked(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (alive(child)) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      signalGroup(child, 'SIGTERM');
    });
  }
  signalGroup(child, 'SIGKILL'); // anything the leader left behind in its group
  groups.delete(child);
}

/** Stop every tracked child and remove every tracked directory. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...groups].map((c) => stopTracked(c)));
  removeDirs();
}

function removeDirs(): void {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

/**
 * Ctrl-C / SIGTERM: clean up, then exit 130 / 143. A second Ctrl-C kills at once. On any exit
 * path that skipped the async cleanup, the groups still get SIGKILL and the dirs are removed.
 */
export function installCleanupHandlers(say: (line: string) => void): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals, code: number) => {
    if (stopping) {
      for (const c of groups) signalGroup(c, 'SIGKILL');
      removeDirs();
      process.exit(code);
    }
    stopping = true;
    interrupted = true;
    say(`\n${signal}: stopping the servers and removing what this run created`);
    void cleanupAll().finally(() => process.exit(code));
  };
  process.on('SIGINT', () => onSignal('SIGINT', 130));
  process.on('SIGTERM', () => onSignal('SIGTERM', 143));
  process.on('exit', () => {
    for (const c of groups) signalGroup(c, 'SIGKILL');
    removeDirs();
  });
}
