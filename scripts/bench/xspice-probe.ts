// Xspice (Debian xserver-xspice: Xorg with the spiceqxl driver) as a reference SPICE server for
// bench:spice. Findings on Debian bookworm (0.1.5+git20200331-3): `Xspice` and `Xorg -config
// /etc/X11/spiceqxl.xorg.conf` both abort at start with "resizing surface0 to 0" then
// "malloc(): corrupted top size": with FrameBufferSize, CommandBufferSize and SurfaceBufferSize
// left to their documented defaults the driver sizes surface 0 as 0 bytes. Given explicitly
// (16, 128, 128 MB, as the commented defaults say) and with NumHeads 1 (without it, a segfault
// right after the surface is sized) it starts and serves SPICE. It listens on every address (a
// config with SpiceAddr crashed in the one try made) for the second the probe runs. This probe starts
// it that way and checks that it answers a SPICE link; side-by-side figures also need an X
// client that draws a video-like workload into it, which this machine lacks (no gst-launch-1.0,
// ffmpeg, mpv), so the bench reports that instead of numbers.

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { SpiceChannel } from '../../shared/spice/constants';
import { linkBytes } from '../../test/unit/spice/helpers';

const DRIVER = '/usr/lib/xorg/modules/drivers/spiceqxl_drv.so';

function config(port: number): string {
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
    Virtual 1920 1080
    Modes "1920x1080"
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

/** One line saying what Xspice does on this machine, and why there are no side-by-side figures. */
export async function probeXspice(): Promise<string> {
  if (!fs.existsSync(DRIVER) || spawnSync('which', ['Xorg']).status !== 0) {
    return 'Xspice: not installed (Debian xserver-xspice); no side-by-side figures';
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xspice-'));
  const port = 5990 + Math.floor(Math.random() * 8);
  const display = `:${90 + Math.floor(Math.random() * 9)}`;
  fs.writeFileSync(path.join(dir, 'xspice.conf'), config(port));
  const x = spawn(
    'Xorg',
    ['-noreset', '-nolisten', 'tcp', '-logfile', path.join(dir, 'x.log'), '-config', path.join(dir, 'xspice.conf'), display],
    {
      stdio: 'ignore',
    },
  );
  try {
    let ok = false;
    for (let i = 0; i < 60 && !ok && x.exitCode === null && x.signalCode === null; i++) {
      await new Promise((r) => setTimeout(r, 250));
      ok = await answersLink(port, 500);
    }
    if (!ok) {
      return `Xspice: Xorg with spiceqxl ${x.exitCode !== null || x.signalCode !== null ? `exited (${x.exitCode ?? x.signalCode})` : 'did not answer a SPICE link'} (log ${dir}/x.log); no side-by-side figures`;
    }
    const player = ['gst-launch-1.0', 'ffplay', 'mpv'].find((p) => spawnSync('which', [p]).status === 0);
    return player
      ? `Xspice: runs with explicit buffer sizes and answers SPICE on ${port}; a video workload via ${player} is not wired up yet`
      : `Xspice: runs with explicit buffer sizes (the stock config aborts: "malloc(): corrupted top size" after ` +
          `"resizing surface0 to 0") and answers SPICE on ${port}, but no X client here can draw a video-like ` +
          `workload into it (no gst-launch-1.0, ffplay or mpv): no side-by-side figures`;
  } finally {
    x.kill('SIGTERM');
    setTimeout(() => fs.rmSync(dir, { recursive: true, force: true }), 1000).unref();
  }
}
