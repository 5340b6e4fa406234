// Child processes of the demo and the watch daemon: `xenvfb <args>` run with this same
// Node and the flags of shared/node-flags.ts, their output relayed line by line, stopped with SIGTERM and then SIGKILL, and
// ending by themselves when this process is gone (process-life.ts).

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as net from 'node:net';
import * as readline from 'node:readline';
import { PARENT_FD, PARENT_FD_ENV } from './process-life';
import { XENVFB_NODE_FLAGS } from '../../shared/node-flags';

/**
 * The command's entry script: beside this file in the repository (and in the lab's in-place
 * transpiled tree), two levels up from dist/scripts/cli in a `npm run build` tree.
 */
export const XENVFB_BIN = [
  path.join(__dirname, '..', 'bin', 'xenvfb.js'),
  path.join(__dirname, '..', '..', '..', 'scripts', 'bin', 'xenvfb.js'),
].find((p) => fs.existsSync(p))!;

export function spawnXenvfb(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; onStdoutLine?: (line: string) => void; onStderrLine?: (line: string) => void },
): ChildProcess {
  // fd 3: the child's lifeline (process-life.ts); it sees EOF when this process is gone.
  const child = spawn(process.execPath, [...XENVFB_NODE_FLAGS, XENVFB_BIN, ...args], {
    env: { ...process.env, ...opts.env, [PARENT_FD_ENV]: String(PARENT_FD) },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const lifeline = child.stdio[3] as net.Socket;
  lifeline.on('error', () => undefined);
  lifeline.unref();
  if (opts.onStdoutLine) readline.createInterface({ input: child.stdout! }).on('line', opts.onStdoutLine);
  else child.stdout!.resume();
  if (opts.onStderrLine) readline.createInterface({ input: child.stderr! }).on('line', opts.onStderrLine);
  else child.stderr!.resume();
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
export function stopChild(child: ChildProcess | undefined, graceMs = 3000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
