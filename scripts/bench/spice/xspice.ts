// Xspice (Debian xserver-xspice: Xorg with the spiceqxl driver) as the reference SPICE server
// for bench:spice. Findings on Debian bookworm (0.1.5+git20200331-3): `Xspice` and `Xorg -config
// /etc/X11/spiceqxl.xorg.conf` both abort at start with "resizing surface0 to 0" then
// "malloc(): corrupted top size": with FrameBufferSize, CommandBufferSize and SurfaceBufferSize
// left to their documented defaults the driver sizes surface 0 as 0 bytes. Given explicitly
// (16, 128, 128 MB, as the commented defaults say) and with NumHeads 1 (without it, a segfault
// right after the surface is sized) it starts and serves SPICE. It listens on every address (a
// config with SpiceAddr crashed in the one try made) for as long as a bench row runs.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SpiceChannel } from '../../../shared/spice/constants';
import { linkBytes } from '../../../test/unit/spice/helpers';
import { spawnTracked, stopTracked, trackDir } from '../lib/processes';

export const XSPICE_DRIVER = '/usr/lib/xorg/modules/drivers/spiceqxl_drv.so';
const START_TRIES = 60;

function config(port: number, width: number, height: number): string {
  return `Section "Device"
  Identifier "XSPICE"
  Driver "spiceqxl"
  Option "SpicePort" "${port}"
  Option "SpiceDisableTicketing" "True"
  Option "FrameBufferSize" "16"
  Option "CommandBufferSize" "128"
  Option "SurfaceBufferSize" "128"
  Option "NumHeads" "1"
EndSection
Section "InputDevice"
  Identifier "XSPICE POINTER"
  Driver "xspice pointer"
EndSection
Section "InputDevice"
  Identifier "XSPICE KEYBOARD"
  Driver "xspice keyboard"
EndSection
Section "Monitor"
  Identifier "Configured Monitor"
EndSection
Section "Screen"
  Identifier "XSPICE Screen"
  Monitor "Configured Monitor"
  Device "XSPICE"
  DefaultDepth 24
  SubSection "Display"
    Virtual ${width} ${height}
    Modes "${width}x${height}"
  EndSubSection
EndSection
Section "ServerLayout"
  Identifier "XSPICE"
  Screen "XSPICE Screen"
  InputDevice "XSPICE KEYBOARD"
  InputDevice "XSPICE POINTER"
EndSection
Section "ServerFlags"
  Option "AutoAddDevices" "False"
EndSection
`;
}

/** Does a SPICE server answer a main-channel link on this port within `ms`? */
function answersLink(port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      clearTimeout(t);
      sock.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), ms);
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write(linkBytes({ type: SpiceChannel.MAIN })));
    sock.on('data', (d: Buffer) => done(d.subarray(0, 4).toString('latin1') === 'REDQ'));
  });
}

/** Why Xspice cannot run here, or undefined if it is installed. */
export function xspiceMissing(): string | undefined {
  if (!fs.existsSync(XSPICE_DRIVER) || spawnSync('which', ['Xorg']).status !== 0) {
    return 'Xspice is not installed (Debian xserver-xspice; bench:spice installs it when run as root)';
  }
  return undefined;
}

export interface RunningXspice {
  port: number;
  /** X display, as ":N". */
  display: string;
  /** The Xorg process: spice-server runs as threads inside it. */
  pid: number;
  stop(): Promise<void>;
}

/** Start Xspice at width x height with ticketing off, on a free port; resolves once it answers a SPICE link. */
export async function startXspice(width: number, height: number): Promise<RunningXspice> {
  const dir = trackDir(fs.mkdtempSync(path.join(os.tmpdir(), 'xspice-')));
  // X displays and SPICE ports from a range the tests do not use; a clash just fails this row.
  const port = 5990 + Math.floor(Math.random() * 8);
  const display = `:${90 + Math.floor(Math.random() * 9)}`;
  fs.writeFileSync(path.join(dir, 'xspice.conf'), config(port, width, height));
  const log = path.join(dir, 'x.log');
  const args = ['-noreset', '-nolisten', 'tcp', '-logfile', log, '-config', path.join(dir, 'xspice.conf'), display];
  const x = spawnTracked('Xorg', args, { stdio: 'ignore' });
  const gone = () => x.exitCode !== null || x.signalCode !== null;
  let ok = false;
  for (let i = 0; i < START_TRIES && !ok && !gone(); i++) {
    await new Promise((r) => setTimeout(r, 250));
    ok = await answersLink(port, 500);
  }
  if (!ok) {
    const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').slice(-5).join('\n  ') : '(no log)';
    await stopTracked(x);
    throw new Error(
      `Xspice (Xorg with spiceqxl) ${gone() ? `exited (${x.exitCode ?? x.signalCode})` : 'did not answer a SPICE link'}; its log ends:\n  ${tail}`,
    );
  }
  return {
    port,
    display,
    pid: x.pid!,
    stop: async () => {
      await stopTracked(x);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
