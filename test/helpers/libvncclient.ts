// Builds the libvncclient test client (test/clients/fixtures/vncsnap.c) with gcc and
// pkg-config, and runs it. Tests that need it go pending with the reason the build gives.

import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';

const SOURCE = path.join(__dirname, '..', 'clients', 'fixtures', 'vncsnap.c');

/** Compile vncsnap into `dir`: its path, or the reason it cannot be built. */
export function buildVncSnap(dir: string): { bin: string } | { missing: string } {
  const pc = spawnSync('pkg-config', ['--cflags', '--libs', 'libvncclient'], { encoding: 'utf8' });
  if (pc.error || pc.status !== 0) {
    return { missing: `pkg-config libvncclient failed (apt-get install libvncserver-dev): ${pc.stderr || pc.error?.message}` };
  }
  const bin = path.join(dir, 'vncsnap');
  const cc = spawnSync('gcc', ['-O1', '-o', bin, SOURCE, ...pc.stdout.trim().split(/\s+/)], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) return { missing: `gcc failed: ${cc.stderr || cc.error?.message}` };
  return { bin };
}

/** Run a command to its end (killed after timeoutMs), with `env` added to ours; its exit code and stderr. */
export function runSnap(args: string[], timeoutMs = 20000, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** A binary PPM (P6, maxval 255) as width, height and RGB bytes. */
export function readPpm(bytes: Buffer): { width: number; height: number; rgb: Buffer } {
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(bytes.subarray(0, 64).toString('latin1'));
  if (!m) throw new Error('not a P6 PPM');
  return { width: Number(m[1]), height: Number(m[2]), rgb: bytes.subarray(m[0].length) };
}
