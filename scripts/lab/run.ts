// `npm run lab:xen`: real Xen 4.17 under QEMU TCG, a stock Debian domU with the kernel's own
// xen-fbfront/xen-kbdfront, and `xenvfb backend` in dom0. Phases: fetch, build, boot, report.
// Exit 0 only if every check passed. Options (env): XENVFB_LAB_CACHE (cache dir),
// XENVFB_LAB_TIMEOUT (seconds for the boot phase, default 600), XENVFB_LAB_VERBOSE=1
// (echo the whole serial console), LAB_ONLY=<phase>[,<phase>] (run only these dom0 phases:
// stock, tsfront, xlvfb; default all), LAB_SKIP_TSFRONT=1 / LAB_SKIP_XLVFB=1 (leave one out).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { buildImages } from './build';
import { bootXen, liveQemu } from './qemu';
import { parseSerialLog } from './serial-log';
import { selectedPhases } from './phases';
import { takeLabLock } from './lock';
import { freeHostPort, hostGrab, parseHostGrabLine, sendResult, type HostGrabPorts } from './host-grab';
import { HOST_GRAB_PORTS } from './guest/dom0-watch';

const CACHE = process.env.XENVFB_LAB_CACHE ?? path.join(os.homedir(), '.cache/xenvfb/lab');
const TIMEOUT_S = Number(process.env.XENVFB_LAB_TIMEOUT ?? 600);
const VERBOSE = process.env.XENVFB_LAB_VERBOSE === '1';
const hostPhases: { name: string; seconds: number }[] = [];
async function phase<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const t0 = Date.now();
  console.log(`lab: == ${name}`);
  try {
    return await fn();
  } finally {
    hostPhases.push({ name, seconds: (Date.now() - t0) / 1000 });
  }
}

let releaseLock = (): void => undefined;
function killQemu(): void {
  for (const q of liveQemu) q.kill('SIGKILL');
  releaseLock();
}
process.on('exit', killQemu);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killQemu();
    process.exit(130);
  });
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

async function main(): Promise<number> {
  const phases = selectedPhases(process.env);
  if (phases.length === 0) throw new Error('no lab phase selected (LAB_ONLY / LAB_SKIP_*)');
  console.log(`lab: dom0 phases ${phases.join(', ')}`);
  releaseLock = takeLabLock(CACHE);
  const kver = await phase('fetch', () => {
    const out = execFileSync('bash', [path.join(__dirname, 'fetch.sh'), CACHE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    return out.trim().split('\n').pop()!;
  });
  const built = await phase('build', () => buildImages(CACHE, kver));
  for (const [k, v] of Object.entries(built.sizes)) console.log(`lab: size ${k} ${mb(v)}`);

  const serialLog = path.join(CACHE, 'serial.log');
  // The watch phase's SPICE check: dom0 asks (LAB HOST-GRAB), the host grabs through these forwards.
  const grabPorts: HostGrabPorts | undefined = phases.includes('watch')
    ? { vnc: await freeHostPort(), spice: await freeHostPort(), result: await freeHostPort() }
    : undefined;
  const hostForwards = grabPorts
    ? (['vnc', 'spice', 'result'] as const).map((k) => ({ host: grabPorts[k], guest: HOST_GRAB_PORTS[k] }))
    : undefined;
  const onGrab = (req: { domid: number; width: number; height: number }) => {
    console.log(`lab: host: grabbing domain ${req.domid} over SPICE and VNC (host ports ${JSON.stringify(grabPorts)})`);
    void hostGrab(grabPorts!, req.width, req.height).then(async (line) => {
      console.log(`lab: host: ${line.slice(0, 300)}`);
      await sendResult(grabPorts!.result, line);
    });
  };
  const boot = await phase('boot+checks', () =>
    bootXen({
      xen: path.join(CACHE, 'xen.elf'),
      dom0Kernel: path.join(CACHE, 'root/boot', `vmlinuz-${kver}`),
      dom0Image: built.dom0Image,
      serialLog,
      timeoutMs: TIMEOUT_S * 1000,
      memoryMiB: 2048,
      dom0MemMiB: 1024,
      // dom0's own deadline ends the run (with END and a diagnosis) before the host kills QEMU.
      dom0Env: { LAB_PHASES: phases.join('+'), LAB_DOM0_DEADLINE: String(Math.max(60, TIMEOUT_S - 30)) },
      ...(hostForwards ? { hostForwards } : {}),
      onLine: (l) => {
        if (VERBOSE || /LAB |Kernel panic|\(XEN\) .*(crash|Panic)/.test(l)) console.log(`  | ${l}`);
        const grab = grabPorts && parseHostGrabLine(l);
        if (grab) onGrab(grab);
      },
    }),
  );
  console.log(
    `lab: QEMU exit=${boot.exitCode} signal=${boot.signal} timedOut=${boot.timedOut} after ${boot.seconds.toFixed(1)} s; serial log ${serialLog}`,
  );

  const report = parseSerialLog(fs.readFileSync(serialLog, 'latin1'));
  console.log('\nlab: phases (host)');
  for (const p of hostPhases) console.log(`  ${p.name.padEnd(32)} ${p.seconds.toFixed(1)} s`);
  console.log(`lab: phases (dom0)${report.dom0InitAt !== undefined ? `, dom0 /init at uptime ${report.dom0InitAt} s` : ''}`);
  for (const p of report.phases) console.log(`  ${p.name.padEnd(32)} ${p.seconds.toFixed(1)} s`);
  console.log('\nlab: checks');
  let failed = 0;
  for (const c of report.checks) {
    if (c.status === 'FAIL') failed++;
    console.log(`  ${c.status} ${c.name}  ${c.detail.slice(0, 300)}`);
  }
  if (report.endCode === undefined) {
    failed++;
    console.log(
      `  FAIL lab-completed  dom0 never reached END (${boot.timedOut ? `timeout ${TIMEOUT_S} s` : 'QEMU exited'}) ${report.problems.join('; ')}`,
    );
  } else if (report.endCode !== 0 && failed === 0) {
    failed++;
    console.log(`  FAIL lab-completed  dom0 lab script exited ${report.endCode}`);
  }
  if (report.checks.length === 0) failed++;
  console.log(`\nlab: ${failed === 0 ? 'ALL PASS' : `${failed} FAILED`} (${report.checks.length} checks)`);
  return failed === 0 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`lab: ${e instanceof Error ? e.stack : String(e)}`);
      process.exit(2);
    },
  );
}
