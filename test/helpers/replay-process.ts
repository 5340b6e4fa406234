// Runs `xenvfb replay FILE ...` as a child process, the way a user runs it, and waits for the
// lines it prints (VNC, SPICE, Control).

import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { XENVFB } from './demo-process';
import { stopChild } from './stop-child';

const CWD = path.resolve(__dirname, '../..');

export class ReplayProcess {
  readonly lines: string[] = [];
  stderr = '';

  private constructor(readonly child: ChildProcess) {
    readline.createInterface({ input: child.stdout! }).on('line', (l) => this.lines.push(l));
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  static start(args: string[], env: NodeJS.ProcessEnv = {}): ReplayProcess {
    return new ReplayProcess(
      spawn(process.execPath, [XENVFB, 'replay', ...args], {
        cwd: CWD,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
      }),
    );
  }

  /** The match of the first printed line matching `re`. */
  async waitFor(re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const l of this.lines) {
        const m = l.match(re);
        if (m) return m;
      }
      if (this.child.exitCode !== null) throw new Error(`replay exited ${this.child.exitCode}: ${this.stderr}${this.lines.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`replay: timed out waiting for ${re}; output: ${this.lines.join('\n')} ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    await stopChild(this.child, { graceMs: 5000 });
  }
}
