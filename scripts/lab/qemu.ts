// Phase "boot": Xen 4.17 + the dom0 image under QEMU TCG (`-cpu qemu64,+svm`,
// `-kernel` the unzipped Xen, dom0 kernel and initramfs as multiboot modules). The serial
// port goes to a file the host parses; QEMU is killed on every path out.

import * as fs from 'node:fs';
import { spawn } from 'node:child_process';

export interface BootOptions {
  xen: string;
  dom0Kernel: string;
  dom0Image: string;
  serialLog: string;
  timeoutMs: number;
  /** QEMU memory and dom0's share: Node + a 190 MB initramfs need dom0_mem >= 512M (§5). */
  memoryMiB: number;
  dom0MemMiB: number;
  /**
   * Extra `NAME=value` words for dom0's kernel command line: the kernel hands unknown
   * `NAME=value` parameters to /init as environment variables (no commas, no dots).
   */
  dom0Env?: Record<string, string>;
  /**
   * Host loopback ports QEMU forwards to dom0's TCP ports (user networking, an e1000 NIC that
   * dom0 brings up as 10.0.2.15; `restrict=on`: dom0 reaches nothing outside). None: no NIC.
   */
  hostForwards?: { host: number; guest: number }[];
  /** Called with each complete serial line (progress display). */
  onLine?: (line: string) => void;
}

export interface BootResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  seconds: number;
}

export function qemuArgs(o: BootOptions): string[] {
  const xenCmdline = [
    'console=com1',
    'com1=115200,8n1',
    `dom0_mem=${o.dom0MemMiB}M,max:${o.dom0MemMiB}M`,
    'dom0_max_vcpus=1',
    'loglvl=all',
    'guest_loglvl=all',
    'noreboot',
    'console_timestamps=boot',
  ].join(' ');
  // -initrd: modules separated by commas, each followed by its own command line (no commas in it).
  const env = Object.entries(o.dom0Env ?? {}).map(([k, v]) => {
    if (!/^[A-Z][A-Z0-9_]*$/.test(k) || !/^[A-Za-z0-9_+:/-]*$/.test(v)) throw new Error(`dom0 env ${k}=${v}: not a plain word`);
    return ` ${k}=${v}`;
  });
  const modules = `${o.dom0Kernel} console=hvc0 earlyprintk=xen rdinit=/init${env.join('')},${o.dom0Image}`;
  const forwards = (o.hostForwards ?? []).map((f) => `,hostfwd=tcp:127.0.0.1:${f.host}-:${f.guest}`).join('');
  const nic = forwards ? `user,model=e1000,restrict=on${forwards}` : 'none';
  return [
    '-accel',
    'tcg',
    '-machine',
    'q35',
    '-cpu',
    'qemu64,+svm',
    '-m',
    String(o.memoryMiB),
    '-smp',
    '2',
    '-nographic',
    '-no-reboot',
    '-monitor',
    'none',
    '-serial',
    'stdio',
    '-nic',
    nic,
    '-kernel',
    o.xen,
    '-append',
    xenCmdline,
    '-initrd',
    modules,
  ];
}

/** Running QEMU processes, killed by the driver's SIGINT/SIGTERM/exit handlers. */
export const liveQemu = new Set<import('node:child_process').ChildProcess>();

export function bootXen(o: BootOptions): Promise<BootResult> {
  const t0 = Date.now();
  const out = fs.createWriteStream(o.serialLog);
  const qemu = spawn('qemu-system-x86_64', qemuArgs(o), { stdio: ['ignore', 'pipe', 'pipe'] });
  liveQemu.add(qemu);
  let timedOut = false;
  // Xen with 'noreboot' waits forever after a dom0 crash, and QEMU pauses on some errors.
  const timer = setTimeout(() => {
    timedOut = true;
    qemu.kill('SIGKILL');
  }, o.timeoutMs);
  let pending = '';
  qemu.stdout!.on('data', (d: Buffer) => {
    out.write(d);
    pending += d.toString('latin1');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const l of lines) o.onLine?.(l.replace(/\r+$/, ''));
  });
  qemu.stderr!.on('data', (d: Buffer) => out.write(d));
  return new Promise((resolve) => {
    qemu.on('exit', (exitCode, signal) => {
      clearTimeout(timer);
      liveQemu.delete(qemu);
      out.end(() => resolve({ exitCode, signal, timedOut, seconds: (Date.now() - t0) / 1000 }));
    });
  });
}
