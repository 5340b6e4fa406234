// Thin wrappers over the dom0 command-line tools the lab drives (xl, xenstore-*), and the
// hand-written vfb/vkbd device nodes (what libxl would write, without a device model).

import { execFile } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export function run(cmd: string, args: string[], timeoutMs = 60_000, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 124) : 0;
      resolve({
        code,
        stdout: String(stdout),
        stderr: String(stderr) + (err && typeof err.code !== 'number' ? `\n${err.message}` : ''),
        ms: Date.now() - t0,
      });
    });
  });
}

export async function xsRead(path: string): Promise<string | undefined> {
  const r = await run('xenstore-read', [path], 10_000);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

export async function xsWrite(...pairs: string[]): Promise<void> {
  const r = await run('xenstore-write', pairs, 10_000);
  if (r.code !== 0) throw new Error(`xenstore-write ${pairs.join(' ')}: ${r.stderr.trim()}`);
}

export async function xsChmod(path: string, ...perms: string[]): Promise<void> {
  const r = await run('xenstore-chmod', [path, ...perms], 10_000);
  if (r.code !== 0) throw new Error(`xenstore-chmod ${path}: ${r.stderr.trim()}`);
}

/** Polls until `test` accepts the node's value; returns the value or undefined on timeout. */
export async function waitNode(path: string, test: (v: string | undefined) => boolean, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await xsRead(path);
    if (test(v)) return v ?? '';
    if (Date.now() > deadline) return undefined;
    await sleep(200);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export const backendPath = (kind: 'vfb' | 'vkbd', domid: number): string => `/local/domain/0/backend/${kind}/${domid}/0`;
export const frontendPath = (kind: 'vfb' | 'vkbd', domid: number): string => `/local/domain/${domid}/device/${kind}/0`;

/**
 * Writes what a toolstack writes for one vfb + vkbd pair (tools/libs/light/libxl_device.c,
 * libxl__device_generic_add), in an order found safe in the lab: create each dir, chmod it, then its children in one write (one
 * transaction), so the guest never probes a half-written, unreadable device. Also writes
 * libxl's /libxl/<domid>/device copies so that `xl destroy` runs its teardown handshake.
 */
export async function writeDeviceNodes(domid: number, width: number, height: number): Promise<void> {
  for (const kind of ['vfb', 'vkbd'] as const) {
    const be = backendPath(kind, domid);
    const fe = frontendPath(kind, domid);
    const extra = kind === 'vfb' ? ['videoram', '4'] : ['feature-abs-pointer', '1'];
    await xsWrite(be, '');
    await xsChmod(be, 'n0', `r${domid}`);
    await xsWrite(
      `${be}/frontend`,
      fe,
      `${be}/frontend-id`,
      String(domid),
      `${be}/online`,
      '1',
      `${be}/state`,
      '1',
      `${be}/width`,
      String(width),
      `${be}/height`,
      String(height),
      ...extra.map((v, i) => (i % 2 ? v : `${be}/${v}`)),
    );
    await xsWrite(fe, '');
    await xsChmod(fe, `n${domid}`, 'r0');
    await xsWrite(`${fe}/backend`, be, `${fe}/backend-id`, '0', `${fe}/state`, '1');
    const lx = `/libxl/${domid}/device/${kind}/0`;
    await xsWrite(`${lx}/frontend`, fe, `${lx}/backend`, be);
  }
}
