// Drives test/helpers/spice-gi-client.py: spice-gtk's SpiceClientGLib through PyGObject, a
// SPICE client nobody here wrote, with its own protocol code and image decoders.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

const SCRIPT = path.join(__dirname, 'spice-gi-client.py');
/** Debian's python3 (a pyenv python3 earlier on PATH has no gi). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Why the GI client cannot run here, or null if it can. */
export function spiceGiMissing(): string | null {
  if (!fs.existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} not found (Debian package python3)`;
  const r = spawnSync(SYSTEM_PYTHON, ['-c', "import gi; gi.require_version('SpiceClientGLib', '2.0')"], { stdio: 'ignore' });
  if (r.status !== 0) return 'SpiceClientGLib typelib not found (Debian packages python3-gi gir1.2-spiceclientglib-2.0)';
  return null;
}

export type GiEvent = { event: string } & Record<string, unknown>;

export class SpiceGiClient {
  readonly events: GiEvent[] = [];
  readonly stderr: string[] = [];
  private waiters: (() => void)[] = [];
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spice-gi-'));

  private constructor(readonly child: ChildProcess) {
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        this.events.push(JSON.parse(l) as GiEvent);
      } catch {
        this.stderr.push(`stdout: ${l}`);
      }
      for (const w of this.waiters.splice(0)) w();
    });
    readline.createInterface({ input: child.stderr! }).on('line', (l) => this.stderr.push(l));
  }

  static start(host: string, port: number, password?: string): SpiceGiClient {
    const args = [SCRIPT, host, String(port), ...(password !== undefined ? [password] : [])];
    return new SpiceGiClient(
      spawn(SYSTEM_PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, G_MESSAGES_DEBUG: '' } }),
    );
  }

  /** The first event (from index `from`) that satisfies `pred`. */
  async waitFor(pred: (e: GiEvent) => boolean, timeoutMs = 15000, from = 0): Promise<GiEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.events.length; i++) if (pred(this.events[i]!)) return this.events[i]!;
      if (this.child.exitCode !== null) throw new Error(`GI client exited (${this.child.exitCode}): ${this.stderr.slice(-10).join('\n')}`);
      if (Date.now() > deadline) {
        throw new Error(
          `GI client: timed out; events ${JSON.stringify(this.events.slice(-10))}; stderr ${this.stderr.slice(-10).join('\n')}`,
        );
      }
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  send(cmd: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  /** The client's primary surface: width, height and B,G,R,X rows. */
  async dump(): Promise<{ width: number; height: number; stride: number; data: Buffer }> {
    const file = path.join(this.dir, `dump-${this.events.length}.raw`);
    const from = this.events.length;
    this.send({ cmd: 'dump', path: file });
    const e = await this.waitFor((ev) => (ev.event === 'dumped' && ev.path === file) || ev.event === 'error', 10000, from);
    if (e.event === 'error') throw new Error(`GI dump: ${String(e.message)}`);
    const data = fs.readFileSync(file);
    fs.rmSync(file);
    return { width: e.width as number, height: e.height as number, stride: e.stride as number, data };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.send({ cmd: 'quit' });
      const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
