// What bench:peers needs from the system: Debian packages (installed with apt-get when run
// as root, otherwise named in the error with the command to run) and three small C programs
// built with gcc into the cache directory, rebuilt when their source is newer.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { PeerName } from './servers';

/** Each package with what it is for; bench:peers asks only for those of the peers it runs. */
export const PACKAGES: ReadonlyArray<{ name: string; why: string; peers?: readonly PeerName[] }> = [
  { name: 'gcc', why: 'builds the client and the servers' },
  { name: 'libc6-dev', why: 'C headers for that build' },
  { name: 'pkg-config', why: 'finds the flags of libvncclient, libvncserver, x11' },
  { name: 'libvncserver-dev', why: 'libvncclient (the client) and libvncserver (the LibVNCServer peer)' },
  { name: 'imagemagick', why: 'convert: makes the pictures' },
  { name: 'fonts-dejavu-core', why: 'the font of the text picture' },
  { name: 'tigervnc-standalone-server', why: 'Xvnc, the TigerVNC peer', peers: ['tigervnc'] },
  { name: 'libx11-dev', why: 'Xlib for peer-xroot, which draws the picture in Xvnc', peers: ['tigervnc'] },
];

export function cacheDir(): string {
  return process.env.XENVFB_BENCH_CACHE ?? path.join(os.homedir(), '.cache', 'xenvfb', 'bench-peers');
}

function installed(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** What the host offers, for planInstall (probed by ensurePackages; a test passes its own). */
export interface HostProbe {
  installed(pkg: string): boolean;
  isRoot: boolean;
  hasApt: boolean;
}

function wantedBy(peers: readonly PeerName[]): string[] {
  return PACKAGES.filter((p) => !p.peers || p.peers.some((x) => peers.includes(x))).map((p) => p.name);
}

/**
 * Which of `names` are missing, and what to do: nothing, apt-get them (root with apt), or stop
 * with the command to run (the message a user sees).
 */
export function planPackages(
  names: readonly string[],
  host: HostProbe,
): { missing: string[]; command: string; action: 'none' | 'install' | 'ask' } {
  const missing = names.filter((n) => !host.installed(n));
  const command = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (missing.length === 0) return { missing, command, action: 'none' };
  return { missing, command, action: host.isRoot && host.hasApt ? 'install' : 'ask' };
}

/** planPackages for what the peers need. */
export function planInstall(peers: readonly PeerName[], host: HostProbe): ReturnType<typeof planPackages> {
  return planPackages(wantedBy(peers), host);
}

/** Install what the peers need and is missing (root + apt-get), or throw naming the command that would. */
export function ensurePackages(peers: readonly PeerName[], say: (line: string) => void, allowInstall = true): void {
  ensureDebianPackages(wantedBy(peers), say, allowInstall);
}

/**
 * Make sure Debian packages `names` are installed: apt-get the missing ones when root (with
 * apt-get update once on a fresh box), or throw with the command to run. Without dpkg, say
 * which names to look for and go on.
 */
export function ensureDebianPackages(names: readonly string[], say: (line: string) => void, allowInstall = true): void {
  if (spawnSync('dpkg-query', ['--version']).status !== 0) {
    say(`bench: no dpkg here; make sure these (Debian names) are installed: ${names.join(' ')}`);
    return;
  }
  const decided = planPackages(names, {
    installed,
    isRoot: allowInstall && process.getuid?.() === 0,
    hasApt: spawnSync('apt-get', ['--version']).status === 0,
  });
  if (decided.action === 'none') return;
  if (decided.action === 'ask') {
    throw new Error(`bench needs these Debian packages: ${decided.missing.join(' ')}. Install them with: sudo ${decided.command}`);
  }
  say(`bench: installing ${decided.missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...decided.missing], { stdio: 'inherit', env });
  let r = install();
  if (r.status !== 0) {
    // A fresh box has no package lists yet.
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    r = install();
  }
  if (r.status !== 0) throw new Error(`bench: "${decided.command}" failed (exit ${r.status}); run it by hand and look at its output`);
}

const SOURCES = path.join(__dirname, 'c');

/** The C programs and the pkg-config modules each links with. */
export const PROGRAMS = {
  client: { source: 'peer-client.c', pkg: 'libvncclient' },
  server: { source: 'peer-server.c', pkg: 'libvncserver' },
  xroot: { source: 'peer-xroot.c', pkg: 'x11' },
  latency: { source: 'latency-client.c', pkg: 'libvncclient' },
  session: { source: 'session-client.c', pkg: 'libvncclient' },
} as const;
export type ProgramName = keyof typeof PROGRAMS;

/** Build (if the binary is missing or older than its source) and return its path. */
export function buildProgram(name: ProgramName, binDir: string): string {
  const { source, pkg } = PROGRAMS[name];
  return compileC(path.join(SOURCES, source), pkg, binDir);
}

/**
 * gcc -O2 `src` against pkg-config module `pkg` into binDir (named after the source), unless
 * the binary is newer than the source and every header beside it; returns the binary's path.
 */
export function compileC(src: string, pkg: string, binDir: string): string {
  const dir = path.dirname(src);
  const bin = path.join(binDir, path.basename(src).replace(/\.c$/, ''));
  const newest = Math.max(
    fs.statSync(src).mtimeMs,
    ...fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.h'))
      .map((f) => fs.statSync(path.join(dir, f)).mtimeMs),
  );
  if (fs.existsSync(bin) && fs.statSync(bin).mtimeMs >= newest) return bin;
  fs.mkdirSync(binDir, { recursive: true });
  const pc = spawnSync('pkg-config', ['--cflags', '--libs', pkg], { encoding: 'utf8' });
  if (pc.error || pc.status !== 0) {
    throw new Error(`bench: pkg-config ${pkg} failed (${pc.stderr?.trim() || pc.error?.message}); is its -dev package installed?`);
  }
  const flags = pc.stdout.trim().split(/\s+/).filter(Boolean);
  const tmp = `${bin}.tmp${process.pid}`;
  const cc = spawnSync('gcc', ['-O2', '-Wall', '-o', tmp, src, ...flags], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) throw new Error(`bench: gcc ${path.basename(src)} failed:\n${cc.stderr || cc.error?.message}`);
  fs.renameSync(tmp, bin); // atomic: a concurrent run never executes half a file
  return bin;
}
