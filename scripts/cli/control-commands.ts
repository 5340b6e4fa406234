// `xenvfb status`, `clients`, `screenshot`, `disconnect`, `reload`: requests to the control
// socket of a running backend (control-paths.ts says where; root-only on a Xen host).

import * as fs from 'node:fs';
import type { Command } from 'commander';
import { controlRequest } from '../../backend/control/client';
import type { BackendStatus, ClientStatus } from '../../backend/control/status';
import { InvalidArgumentError } from 'commander';
import { parseDomid } from './args';
import { backendSocketPath, controlDir, domidsOfSockets } from './control-paths';
import { formatCaptureSummary } from './live-capture-command';

interface Where {
  simDir?: string;
  controlDir?: string;
}

function dirOf(opts: Where): string {
  return opts.controlDir ?? controlDir(opts.simDir);
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function parseClientId(v: string): number {
  if (!/^\d{1,9}$/.test(v)) throw new InvalidArgumentError(`expected a client id (a number from xenvfb clients), got "${v}"`);
  return Number(v);
}

function summary(s: BackendStatus): string[] {
  const g = s.geometry ? `${s.geometry.width}x${s.geometry.height} ${s.geometry.bitsPerPixel}bpp` : 'no framebuffer';
  const devs = s.devices.map((d) => `${d.kind}/${d.devid} ${d.backendState}/${d.frontendState ?? '-'}`).join(', ') || 'no devices';
  const servers = s.servers.map((v) => `${v.protocol} ${v.listen} (${v.clients} client${v.clients === 1 ? '' : 's'})`).join(', ');
  const lines = [
    `domain ${s.domid}: ${g}; ${devs}; ${servers}${s.web ? `; web http://${s.web}/` : ''}; pid ${s.pid}, up ${s.uptimeSeconds} s`,
  ];
  for (const d of s.devices) {
    if (d.tiles)
      lines.push(
        `  ${d.kind}/${d.devid} dirty tiles: ${d.tiles.scans} scans, ${d.tiles.timerTicks} timer ticks, ${d.tiles.tiles} tiles, ${d.tiles.rects} rects`,
      );
    else if (d.events) lines.push(`  ${d.kind}/${d.devid} UPDATE events: ${d.events.updates}`);
  }
  for (const c of s.clients) lines.push(`  ${clientLine(c)}`);
  if (s.capture) lines.push(`  capture ${formatCaptureSummary(s.capture)}`);
  return lines;
}

function clientLine(c: ClientStatus): string {
  const enc = c.encodings ? Object.keys(c.encodings).join(',') || '-' : '-';
  return `client ${c.id} ${c.protocol}${c.websocket ? '+websocket' : ''} ${c.peer}: ${c.fps} fps, ${c.bytesOut} bytes (${c.bytesPerSecond} B/s), encodings ${enc}`;
}

export function registerControlCommands(program: Command): void {
  const where = (cmd: Command) =>
    cmd
      .option('--sim-dir <dir>', 'the simulator directory (its control/ holds the sockets)')
      .option('--control-dir <dir>', 'directory of the control sockets (default /run/xenvfb, or XENVFB_CONTROL_DIR)');

  where(
    program
      .command('status')
      .description("a backend's devices, geometry, clients, rates and tile scans (every running backend without --domid)")
      .option('--domid <n>', 'only this domain', parseDomid)
      .option('--json', 'print JSON (an array of status objects)'),
  ).action(async (opts: Where & { domid?: number; json?: boolean }) => {
    const dir = dirOf(opts);
    const domids = opts.domid !== undefined ? [opts.domid] : domidsOfSockets(fs.existsSync(dir) ? fs.readdirSync(dir) : []);
    if (domids.length === 0) {
      if (opts.json) out('[]');
      else out(`no backend is running (no control socket in ${dir})`);
      return;
    }
    // One stale socket (a backend killed with SIGKILL) must not hide the others.
    const settled = await Promise.allSettled(
      domids.map((d) => controlRequest(backendSocketPath(dir, d), { op: 'status' }) as Promise<BackendStatus>),
    );
    if (opts.domid !== undefined && settled[0]!.status === 'rejected') throw settled[0]!.reason;
    const all = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (opts.json) out(JSON.stringify(all, null, 2));
    else for (const s of all) for (const l of summary(s)) out(l);
    settled.forEach((r, i) => {
      if (r.status === 'rejected') process.stderr.write(`domain ${domids[i]}: ${(r.reason as Error).message}\n`);
    });
  });

  where(
    program
      .command('clients')
      .description("a backend's connected clients: id, address, protocol, encodings, bytes, fps")
      .requiredOption('--domid <n>', 'the domain', parseDomid)
      .option('--json', 'print JSON'),
  ).action(async (opts: Where & { domid: number; json?: boolean }) => {
    const list = (await controlRequest(backendSocketPath(dirOf(opts), opts.domid), { op: 'clients' })) as ClientStatus[];
    if (opts.json) out(JSON.stringify(list, null, 2));
    else if (list.length === 0) out(`domain ${opts.domid}: no clients`);
    else for (const c of list) out(clientLine(c));
  });

  where(
    program
      .command('screenshot')
      .description("save a domain's screen as PNG")
      .requiredOption('--domid <n>', 'the domain', parseDomid)
      .requiredOption('-o, --output <file.png>', 'where to write the PNG'),
  ).action(async (opts: Where & { domid: number; output: string }) => {
    const r = (await controlRequest(backendSocketPath(dirOf(opts), opts.domid), { op: 'screenshot' }, 30_000)) as {
      width: number;
      height: number;
      png: string;
    };
    fs.writeFileSync(opts.output, Buffer.from(r.png, 'base64'));
    out(`${opts.output}: ${r.width}x${r.height}`);
  });

  where(
    program
      .command('disconnect')
      .description('close one client of a backend (ids from xenvfb clients)')
      .requiredOption('--domid <n>', 'the domain', parseDomid)
      .requiredOption('--client <id>', 'the client id', parseClientId),
  ).action(async (opts: Where & { domid: number; client: number }) => {
    await controlRequest(backendSocketPath(dirOf(opts), opts.domid), { op: 'disconnect', client: opts.client });
    out(`domain ${opts.domid}: client ${opts.client} disconnected`);
  });

  where(
    program
      .command('reload')
      .description("re-read a backend's password file and TLS certificate (new connections use them; clients stay)")
      .requiredOption('--domid <n>', 'the domain', parseDomid),
  ).action(async (opts: Where & { domid: number }) => {
    const r = (await controlRequest(backendSocketPath(dirOf(opts), opts.domid), { op: 'reload' })) as { reloaded: string[] };
    out(`domain ${opts.domid}: reloaded ${r.reloaded.join(', ') || 'nothing'}`);
  });
}
