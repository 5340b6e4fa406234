// The host's half of the lab's SPICE check (issue 11): when dom0 prints `LAB HOST-GRAB`, the
// host grabs that domain's screen over SPICE with spice-gtk (test/helpers/spice-gi.ts: a
// client nobody here wrote) and over VNC (the lab's Raw client), through the ports QEMU
// forwards to dom0 (qemu.ts), and writes `PASS|FAIL|SKIP detail` back to dom0, which prints
// the check. SPICE needs no client inside dom0 this way.

import * as net from 'node:net';
import { RawRfbClient } from './guest/rfb-raw-client';
import { firstMismatch } from './pattern';
import { SpiceGiClient, spiceGiMissing } from '../../test/helpers/spice-gi';

/** Host ports QEMU forwards to dom0's HOST_GRAB_PORTS (scripts/lab/guest/dom0-watch.ts). */
export interface HostGrabPorts {
  vnc: number;
  spice: number;
  result: number;
}

/** Parses dom0's request line; undefined for any other line. */
export function parseHostGrabLine(line: string): { domid: number; width: number; height: number } | undefined {
  const m = /LAB HOST-GRAB domid=(\d+) width=(\d+) height=(\d+)/.exec(line);
  return m ? { domid: Number(m[1]), width: Number(m[2]), height: Number(m[3]) } : undefined;
}

async function vncGrab(port: number, width: number, height: number): Promise<Uint32Array> {
  const vnc = await RawRfbClient.connect('127.0.0.1', port, 30_000);
  try {
    vnc.request(false);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      await vnc.nextUpdate(Math.max(1000, deadline - Date.now()));
      if (vnc.width === width && vnc.height === height) return vnc.pixels.slice();
    }
    throw new Error(`VNC screen ${vnc.width}x${vnc.height}, want ${width}x${height}`);
  } finally {
    vnc.close();
  }
}

/** The SPICE client's surface as 0x00RRGGBB, once it equals `want` (or the last one after 30 s). */
async function spiceGrab(
  port: number,
  want: Uint32Array,
  width: number,
  height: number,
): Promise<{ pixels: Uint32Array; diff: string | null }> {
  const client = SpiceGiClient.start('127.0.0.1', port);
  try {
    await client.waitFor((e) => e.event === 'mark', 30_000);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = await client.dump();
      const pixels = new Uint32Array(width * height);
      let diff: string | null = s.width === width && s.height === height ? null : `SPICE surface ${s.width}x${s.height}`;
      for (let y = 0; y < height && !diff; y++) {
        for (let x = 0; x < width; x++) {
          const o = y * s.stride + x * 4;
          pixels[y * width + x] = (s.data[o + 2]! << 16) | (s.data[o + 1]! << 8) | s.data[o]!;
          if (pixels[y * width + x] !== (want[y * width + x]! & 0xffffff) && !diff) {
            diff = `pixel (${x},${y}) SPICE ${pixels[y * width + x]!.toString(16)} VNC ${want[y * width + x]!.toString(16)}`;
          }
        }
      }
      if (!diff || Date.now() > deadline) return { pixels, diff };
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await client.stop();
  }
}

/** Grabs both screens and compares them with each other and with the lab pattern. */
export async function hostGrab(ports: HostGrabPorts, width: number, height: number): Promise<string> {
  const missing = spiceGiMissing();
  if (missing) return `SKIP no SPICE client on the host: ${missing}`;
  try {
    const vnc = await vncGrab(ports.vnc, width, height);
    const vncDiff = firstMismatch(vnc, width, height);
    const spice = await spiceGrab(ports.spice, vnc, width, height);
    const spiceDiff = firstMismatch(spice.pixels, width, height);
    const ok = !vncDiff && !spice.diff && !spiceDiff;
    return (
      `${ok ? 'PASS' : 'FAIL'} host spice-gtk grab ${spice.diff ? `differs from the VNC grab: ${spice.diff}` : 'equals the VNC grab'} ` +
      `(${width}x${height}); VNC grab ${vncDiff ? `${vncDiff.count} pixels off the pattern` : 'is the pattern pixel for pixel'}` +
      `${spiceDiff && !spice.diff ? `; SPICE ${spiceDiff.count} pixels off the pattern` : ''}`
    );
  } catch (e) {
    return `FAIL host grab: ${e instanceof Error ? e.message : String(e)}`.replace(/\n/g, ' | ');
  }
}

/** Writes the result line to dom0 (retried: the listener comes up as the request is printed). */
export async function sendResult(port: number, line: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.end(`${line.replace(/\n/g, ' ')}\n`, () => resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** A free TCP port on the host's loopback (for QEMU's hostfwd). */
export function freeHostPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
