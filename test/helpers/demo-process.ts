// Runs `xenvfb demo` as a child process, the way a user runs it, and lets tests wait for
// lines it prints.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

export const XENVFB = path.join(__dirname, '..', '..', 'scripts', 'bin', 'xenvfb.js');

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A free TCP port on 127.0.0.1 (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A free TCP port in 5900..5999 (clients like gvnccapture only take display numbers). */
export async function freeVncPort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 5910 + ((process.pid + i * 7) % 90);
    const ok = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port in 5910..5999');
}

export class DemoProcess {
  readonly lines: string[] = [];
  readonly simDir: string;
  private listeners: (() => void)[] = [];
  private constructor(
    readonly child: ChildProcess,
    simDir: string,
  ) {
    this.simDir = simDir;
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      this.lines.push(l);
      for (const f of this.listeners.splice(0)) f();
    });
    readline.createInterface({ input: child.stderr! }).on('line', (l) => {
      if (process.env.XENVFB_TEST_VERBOSE) process.stderr.write(`[demo] ${l}\n`);
    });
  }

  /**
   * `env` is added to this process's environment. Without a `--spice` or `--no-spice` of its
   * own the demo gets `--no-spice`: its default SPICE port (5930) is one for the whole
   * machine, and a test that does not use SPICE must not fail because another demo has it.
   */
  static start(args: string[], env: NodeJS.ProcessEnv = {}): DemoProcess {
    const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
    const simDir = fs.mkdtempSync(path.join(base, 'xenvfb-test-'));
    const spice = args.some((a) => a === '--spice' || a === '--no-spice' || a.startsWith('--spice=')) ? [] : ['--no-spice'];
    const child = spawn(process.execPath, [XENVFB, 'demo', '--sim-dir', simDir, ...spice, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    return new DemoProcess(child, simDir);
  }

  get xenstoredPath(): string {
    return path.join(this.simDir, 'xenstored', 'socket');
  }

  /** Resolves with the match of the first line (from index `from`) matching `re`. */
  async waitFor(re: RegExp, timeoutMs = 30000, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.lines.length; i++) {
        const m = this.lines[i]!.match(re);
        if (m) return m;
      }
      if (this.child.exitCode !== null) throw new Error(`demo exited (${this.child.exitCode}); output:\n${this.lines.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; output:\n${this.lines.join('\n')}`);
      await new Promise<void>((r) => {
        this.listeners.push(r);
        setTimeout(r, 100);
      });
    }
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) {
      const exited = new Promise<number | null>((r) => this.child.once('exit', (code) => r(code)));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10000);
      const code = await exited;
      clearTimeout(timer);
      fs.rmSync(this.simDir, { recursive: true, force: true });
      return code;
    }
    fs.rmSync(this.simDir, { recursive: true, force: true });
    return this.child.exitCode;
  }
}
