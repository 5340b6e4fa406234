// `xenvfb install-hooks [--dry-run] [--root DIR]`: puts the toolstack glue where a Xen host
// looks for it, with this installation's paths filled in:
//   /etc/systemd/system/xenvfb-watch.service, xenvfb@.service   (scripts/systemd/)
//   /etc/libvirt/hooks/libxl                                    (scripts/hooks/libvirt-libxl-hook.sh)
//   /usr/local/sbin/xenvfb-dm, xenvfb-xl-create                 (scripts/hooks/)
//   /etc/default/xenvfb, /etc/xenvfb/watch.json                 (only when absent)
// A file there that is not ours (no "xenvfb:" marker) is never overwritten.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { XENVFB_BIN } from './children';
import { XENVFB_NODE_FLAGS } from '../../shared/node-flags';

const SOURCES = path.join(path.dirname(XENVFB_BIN), '..');

interface Planned {
  path: string;
  mode: number;
  content: string;
  /** Keep an existing file (configuration the admin owns). */
  keepExisting?: boolean;
}

const EXAMPLE_CONFIG = {
  listen: '127.0.0.1',
  ports: { policy: 'base', base: 5900 },
  web: { base: 6080 },
  restart: { limit: 5, baseMs: 1000 },
  domains: {},
};

function template(rel: string): string {
  const root = path.resolve(SOURCES, '..');
  return fs
    .readFileSync(path.join(SOURCES, rel), 'utf8')
    .replaceAll('@NODE@', process.execPath)
    .replaceAll('@NODE_FLAGS@', XENVFB_NODE_FLAGS.join(' '))
    .replaceAll('@XENVFB_BIN@', XENVFB_BIN)
    .replaceAll('@XENVFB_ROOT@', root);
}

export function plannedFiles(opts: { libvirt: boolean; systemd: boolean; xl: boolean }): Planned[] {
  const files: Planned[] = [];
  if (opts.systemd) {
    for (const unit of ['xenvfb-watch.service', 'xenvfb@.service']) {
      files.push({ path: `/etc/systemd/system/${unit}`, mode: 0o644, content: template(`systemd/${unit}`) });
    }
    files.push({
      path: '/etc/default/xenvfb',
      mode: 0o644,
      keepExisting: true,
      content:
        '# xenvfb: options of xenvfb-watch.service and xenvfb@.service (README, "On a Xen host").\n' +
        'XENVFB_WATCH_ARGS="--config /etc/xenvfb/watch.json"\nXENVFB_BACKEND_ARGS=""\n',
    });
    files.push({
      path: '/etc/xenvfb/watch.json',
      mode: 0o644,
      keepExisting: true,
      content: `${JSON.stringify(EXAMPLE_CONFIG, null, 2)}\n`,
    });
  }
  if (opts.libvirt) files.push({ path: '/etc/libvirt/hooks/libxl', mode: 0o755, content: template('hooks/libvirt-libxl-hook.sh') });
  if (opts.xl) {
    files.push({ path: '/usr/local/sbin/xenvfb-dm', mode: 0o755, content: template('hooks/xenvfb-dm.sh') });
    files.push({
      path: '/usr/local/sbin/xenvfb-xl-create',
      mode: 0o755,
      content: template('hooks/xl-create-vfb.sh').replace(
        'XENVFB=${XENVFB:-xenvfb}',
        `XENVFB=\${XENVFB:-"${process.execPath} ${XENVFB_BIN}"}`,
      ),
    });
  }
  return files;
}

export function runInstallHooks(opts: { dryRun?: boolean; root?: string; libvirt?: boolean; systemd?: boolean; xl?: boolean }): void {
  const root = path.resolve(opts.root ?? '/');
  const files = plannedFiles({ libvirt: opts.libvirt !== false, systemd: opts.systemd !== false, xl: opts.xl !== false });
  const say = (s: string) => process.stdout.write(`${s}\n`);
  let refused = 0;
  for (const f of files) {
    const at = path.join(root, f.path);
    const exists = fs.existsSync(at);
    if (exists && f.keepExisting) {
      say(`keep     ${at} (exists; yours)`);
      continue;
    }
    if (exists && !fs.readFileSync(at, 'utf8').includes('xenvfb:')) {
      say(`REFUSE   ${at}: exists and is not ours; merge ${f.path} by hand (see xenvfb install-hooks --dry-run)`);
      refused++;
      continue;
    }
    if (opts.dryRun) {
      say(`would write ${at} (mode ${f.mode.toString(8)}, ${f.content.length} bytes):`);
      for (const line of f.content.split('\n').filter((l) => l && !l.startsWith('#'))) say(`    ${line}`);
      continue;
    }
    fs.mkdirSync(path.dirname(at), { recursive: true });
    fs.writeFileSync(at, f.content, { mode: f.mode });
    fs.chmodSync(at, f.mode);
    say(`wrote    ${at}`);
  }
  if (!opts.dryRun) {
    say('next: systemctl daemon-reload && systemctl enable --now xenvfb-watch.service   (README, "On a Xen host")');
  }
  if (refused > 0) process.exitCode = 1;
}
