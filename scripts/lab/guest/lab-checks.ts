// What every dom0 lab phase reports with (dom0-lab.ts, dom0-watch.ts): `LAB CHECK` and
// `LAB PHASE` lines on the serial console, the domUs' console logs, and the VNC screen
// compared with the lab pattern.

import * as fs from 'node:fs';
import type { RawRfbClient } from './rfb-raw-client';
import { firstMismatch } from '../pattern';
import { parseDomuLog, type DomuLog } from './domu-console';
import { sleep } from './xen-tools';

let failures = 0;

/** Checks that failed so far in this run. */
export function failureCount(): number {
  return failures;
}

export function check(name: string, ok: boolean, detail: string): boolean {
  if (!ok) failures++;
  console.log(`LAB CHECK ${name} ${ok ? 'PASS' : 'FAIL'} ${detail.replace(/\r/g, '').replace(/\n/g, ' | ')}`);
  return ok;
}

export async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    console.log(`LAB PHASE ${name} ${((Date.now() - t0) / 1000).toFixed(2)}`);
  }
}

/** xenconsoled's log of a domU's console (dom0-init.sh: --log=guest). */
export const consoleLog = (name: string): string => `/var/log/xen/console/guest-${name}.log`;

export function consoleText(name: string): string {
  const file = consoleLog(name);
  return fs.existsSync(file) ? fs.readFileSync(file, 'latin1') : '';
}

export function domuLogOf(name: string): DomuLog {
  return parseDomuLog(consoleText(name));
}

export async function waitDomuOf(name: string, test: (l: DomuLog) => boolean, timeoutMs: number): Promise<DomuLog | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const l = domuLogOf(name);
    if (test(l)) return l;
    if (Date.now() > deadline) return undefined;
    await sleep(200);
  }
}

/** Full-screen requests until the client's screen equals the pattern for width x height; null, or what differs. */
export async function screenMatches(vnc: RawRfbClient, width: number, height: number, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no update';
  while (Date.now() < deadline) {
    vnc.request(false);
    try {
      await vnc.nextUpdate(Math.max(1000, deadline - Date.now()));
    } catch (e) {
      last = String(e);
      continue;
    }
    if (vnc.width !== width || vnc.height !== height) {
      last = `client screen ${vnc.width}x${vnc.height}, want ${width}x${height}`;
    } else {
      const m = firstMismatch(vnc.pixels, width, height);
      if (!m) return null;
      last = `${m.count} pixels differ; first (${m.x},${m.y}) got ${m.got.toString(16)} want ${m.want.toString(16)}`;
    }
    await sleep(300);
  }
  return last;
}
