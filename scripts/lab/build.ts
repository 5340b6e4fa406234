// Phase "build" of the real-Xen lab: the domU image (stock Debian kernel + busybox
// initramfs that draws a known pattern and logs input) and the dom0 image (busybox, the
// Xen 4.17 toolstack, the kernel modules behind /dev/xen/*, Node and this repository).
// Layout: README.md "Real Xen lab"; the reason for each step is at the step.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as ts from 'typescript';
import { PNG } from 'pngjs';
import { patternFileName, patternFrame, patternPixel } from './pattern';

export interface BuildResult {
  dom0Image: string;
  domuKernel: string;
  domuImage: string;
  /** The domU that runs our TS frontend (`xenvfb guest`) and the native test: Node + repo. */
  domuNodeImage: string;
  sizes: Record<string, number>;
}

const REPO = path.resolve(__dirname, '..', '..');
const GUEST = path.join(__dirname, 'guest');
const LIBDIR = 'lib/x86_64-linux-gnu';
/** Modules for /dev/xen/{privcmd,evtchn,gntdev,gntalloc}, /proc/xen, /dev/input/event* and QEMU's e1000 NIC. */
const DOM0_MODULES = ['xen-privcmd', 'xenfs', 'xen-evtchn', 'xen-gntdev', 'xen-gntalloc', 'evdev', 'e1000'];
/** Geometries the domU can draw: fbfront's default mode and the lab's mode change (stride stays 3200). */
const PATTERNS = [
  { width: 800, height: 600, stride: 3200 },
  { width: 640, height: 480, stride: 3200 },
];
/** Repository parts dom0 needs to run `xenvfb backend` and the lab's own checks. */
const REPO_PARTS = [
  'package.json',
  'tsconfig.json',
  'shared',
  'backend',
  'frontend',
  'scripts',
  'native/index.ts',
  'native/build/Release',
  'test/lab',
  'test/helpers',
];
/** Modules the domU with our TS frontend needs: the Xen devices a guest has (no privcmd). */
const DOMU_NODE_MODULES = ['xen-evtchn', 'xen-gntdev', 'xen-gntalloc'];
/** Memory of that domU (MiB): Node + a ~140 MB initramfs, unpacked while its copy is still held. */
export const DOMU_NODE_MEM_MIB = 512;
/** The still image our TS frontend shows in the lab: the 800x600 lab pattern as a PNG. */
export const TSFRONT_IMAGE = '/pattern-800x600.png';
/**
 * node_modules never loaded in the lab: lint, format, browsers, fuzzing, and the compilers
 * (the image holds pre-transpiled JS and runs it with XENVFB_DIST, scripts/bin/xenvfb.js).
 */
const PRUNE = [
  'typescript',
  '@swc',
  'ts-node',
  '@types',
  'prettier',
  'eslint',
  '@eslint',
  '@eslint-community',
  '@typescript-eslint',
  'typescript-eslint',
  'playwright-core',
  'fast-check',
  'espree',
  '@humanfs',
  '@humanwhocodes',
];
const PRUNE_TYPESCRIPT =
  /^(tsserver.*|_tsc.*|_tsserver.*|typingsInstaller.*|_typingsInstaller.*|watchGuard.*|cs|de|es|fr|it|ja|ko|pl|pt-br|ru|tr|zh-cn|zh-tw)$/;

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
}

/** Shared libraries `bin` loads, resolved against the unpacked Debian root first. */
function lddDeps(bin: string, xenRoot: string): string[] {
  const out = sh('ldd', [bin], { env: { ...process.env, LD_LIBRARY_PATH: path.join(xenRoot, 'usr', LIBDIR) } });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    if (line.includes('not found')) throw new Error(`${bin}: ${line.trim()}`);
    const m = /=>\s*(\S+)/.exec(line) ?? /^\s*(\/\S+)/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

function copyFile(src: string, dst: string, mode?: number): void {
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.copyFileSync(fs.realpathSync(src), dst);
  if (mode !== undefined) fs.chmodSync(dst, mode);
}

/** Copies binaries into `root` (at `dest`) with every library they load into /lib. */
function installBinaries(root: string, xenRoot: string, bins: { src: string; dest: string }[]): void {
  for (const { src, dest } of bins) {
    copyFile(src, path.join(root, dest), 0o755);
    // Debian's node carries its debug info: stripped it is 12 MB smaller, in both images.
    if (src === process.execPath) sh('strip', [path.join(root, dest)]);
    for (const lib of lddDeps(src, xenRoot)) {
      const at = lib.includes('ld-linux') ? path.join(root, 'lib64', path.basename(lib)) : path.join(root, LIBDIR, path.basename(lib));
      if (!fs.existsSync(at)) copyFile(lib, at, 0o755);
    }
  }
}

function installBusybox(root: string): void {
  const bb = sh('sh', ['-c', 'command -v busybox']).trim();
  copyFile(bb, path.join(root, 'bin/busybox'), 0o755);
  for (const applet of sh(bb, ['--list']).split('\n').filter(Boolean)) {
    const link = path.join(root, 'bin', applet);
    if (!fs.existsSync(link)) fs.symlinkSync('busybox', link);
  }
  for (const d of [
    'proc',
    'sys',
    'dev',
    'run',
    'tmp',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'etc',
    'root',
    'var/lib/xen',
    'var/log/xen',
    'var/lock',
  ]) {
    fs.mkdirSync(path.join(root, d), { recursive: true });
  }
  fs.symlinkSync('../run', path.join(root, 'var/run'));
  fs.symlinkSync('/bin/busybox', path.join(root, 'usr/bin/env')); // for #!/usr/bin/env node scripts
}

function cpioArchive(root: string, out: string, gzip: boolean): void {
  const pipe = gzip ? '| gzip -1' : '';
  sh('sh', ['-c', `cd "${root}" && find . -print0 | sort -z | cpio --null -o -H newc --quiet -R 0:0 ${pipe} > "${out}"`]);
}

function dirSize(p: string): number {
  return Number(sh('du', ['-sb', p]).split('\t')[0]);
}

/** gzip'd ELF vmlinux from the xz bzImage: `xl create` loads it in 6.7 s instead of 11.2 s (§5). */
function domuKernel(cache: string, kver: string): string {
  const out = path.join(cache, `vmlinux-${kver}.gz`);
  if (fs.existsSync(out)) return out;
  const vmlinuz = path.join(cache, 'root/boot', `vmlinuz-${kver}`);
  const off = fs.readFileSync(vmlinuz).indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (off < 0) throw new Error(`${vmlinuz}: no xz payload`);
  sh('sh', ['-c', `tail -c +${off + 1} "${vmlinuz}" | xz -dc --single-stream | gzip -1 > "${out}.tmp" && mv "${out}.tmp" "${out}"`]);
  return out;
}

function buildDomu(work: string, cache: string, kver: string): string {
  const root = path.join(work, 'domu-root');
  const xenRoot = path.join(cache, 'root');
  installBusybox(root);
  copyFile(path.join(GUEST, 'domu-init.sh'), path.join(root, 'init'), 0o755);
  sh('gcc', ['-static', '-Os', '-s', '-o', path.join(root, 'fbmode'), path.join(GUEST, 'fbmode.c')]);
  copyFile(path.join(xenRoot, 'lib/modules', kver, 'kernel/drivers/input/evdev.ko'), path.join(root, 'lib/modules/evdev.ko'));
  installBinaries(root, xenRoot, [{ src: path.join(xenRoot, 'usr/bin/xenstore'), dest: 'bin/xenstore' }]);
  for (const tool of ['read', 'write']) fs.symlinkSync('xenstore', path.join(root, `bin/xenstore-${tool}`));
  for (const p of PATTERNS)
    fs.writeFileSync(path.join(root, patternFileName(p.width, p.height, p.stride)), patternFrame(p.width, p.height, p.stride));
  const image = path.join(work, 'domu.cpio.gz');
  cpioArchive(root, image, true);
  return image;
}

/**
 * Every .ts of the copied tree gets a .js twin (the tree is then an XENVFB_DIST tree), so
 * neither domain loads a compiler: ts-node + typescript + swc took 20-40 s to start under TCG.
 */
function transpileTree(dir: string): number {
  let n = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules') n += transpileTree(p);
    else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const out = ts.transpileModule(fs.readFileSync(p, 'utf8'), {
        fileName: p,
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, resolveJsonModule: true },
      });
      fs.writeFileSync(p.replace(/\.ts$/, '.js'), out.outputText);
      n++;
    }
  }
  return n;
}

/** Libraries the native addons load (ours, and e.g. @swc/core's librt): dom0 has only what we copy. */
function nativeAddonLibs(root: string, dir: string): void {
  const addons = sh('find', [dir, '-name', '*.node', '-type', 'f']).split('\n').filter(Boolean);
  for (const addon of addons) {
    for (const lib of lddDeps(addon, '/nonexistent')) {
      const at = lib.includes('ld-linux') ? path.join(root, 'lib64', path.basename(lib)) : path.join(root, LIBDIR, path.basename(lib));
      if (!fs.existsSync(at)) copyFile(lib, at, 0o755);
    }
  }
}

function installRepo(root: string): void {
  const dest = path.join(root, 'opt/xenvfb');
  for (const part of REPO_PARTS) {
    const src = path.join(REPO, part);
    if (fs.existsSync(src)) fs.cpSync(src, path.join(dest, part), { recursive: true, dereference: true });
  }
  fs.rmSync(path.join(dest, 'native/build/Release/obj.target'), { recursive: true, force: true });
  fs.rmSync(path.join(dest, 'native/build/Release/.deps'), { recursive: true, force: true });
  transpileTree(dest);
  const nm = path.join(dest, 'node_modules');
  // The real directory: a worktree's node_modules is often a symlink to another checkout's,
  // and copying the link would make the pruning below delete packages from that checkout.
  fs.cpSync(fs.realpathSync(path.join(REPO, 'node_modules')), nm, { recursive: true });
  if (fs.lstatSync(nm).isSymbolicLink() || fs.realpathSync(nm) !== path.join(fs.realpathSync(dest), 'node_modules')) {
    throw new Error(`${nm} is not a copy: refusing to prune it`);
  }
  for (const p of PRUNE) fs.rmSync(path.join(nm, p), { recursive: true, force: true });
  for (const f of fs.existsSync(path.join(nm, 'typescript/lib')) ? fs.readdirSync(path.join(nm, 'typescript/lib')) : []) {
    if (PRUNE_TYPESCRIPT.test(f)) fs.rmSync(path.join(nm, 'typescript/lib', f), { recursive: true, force: true });
  }
  nativeAddonLibs(root, dest);
}

/** The lab pattern (pattern.ts) as an RGB PNG: `xenvfb guest --workload still --image` draws it 1:1. */
function patternPng(width: number, height: number): Buffer {
  const png = new PNG({ width, height, colorType: 2, inputHasAlpha: true });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = patternPixel(x, y, width, height);
      const o = (y * width + x) * 4;
      png.data[o] = (p >> 16) & 0xff;
      png.data[o + 1] = (p >> 8) & 0xff;
      png.data[o + 2] = p & 0xff;
      png.data[o + 3] = 0xff;
    }
  }
  return PNG.sync.write(png, { colorType: 2 });
}

function copyModules(root: string, xenRoot: string, kver: string, modules: readonly string[]): void {
  for (const m of modules) {
    const found = sh('find', [path.join(xenRoot, 'lib/modules', kver), '-name', `${m}.ko`])
      .trim()
      .split('\n')[0];
    if (!found) throw new Error(`module ${m}.ko not in ${kver}`);
    copyFile(found, path.join(root, 'lib/modules', `${m}.ko`));
  }
}

/** The domU for our TS frontend: busybox, xenstore-read, the guest's Xen modules, Node and the repo. */
function buildDomuNode(work: string, cache: string, kver: string): string {
  const root = path.join(work, 'domu-node-root');
  const xenRoot = path.join(cache, 'root');
  installBusybox(root);
  copyFile(path.join(GUEST, 'domu-node-init.sh'), path.join(root, 'init'), 0o755);
  installBinaries(root, xenRoot, [
    { src: path.join(xenRoot, 'usr/bin/xenstore'), dest: 'bin/xenstore' },
    { src: process.execPath, dest: 'usr/bin/node' },
  ]);
  for (const tool of ['read', 'write']) fs.symlinkSync('xenstore', path.join(root, `bin/xenstore-${tool}`));
  copyModules(root, xenRoot, kver, DOMU_NODE_MODULES);
  fs.writeFileSync(path.join(root, TSFRONT_IMAGE.slice(1)), patternPng(800, 600));
  installRepo(root);
  // gzip'd: it travels inside dom0's initramfs, whose unpacked copy must fit beside the archive.
  const image = path.join(work, 'domu-node.cpio.gz');
  cpioArchive(root, image, true);
  return image;
}

function buildDom0(work: string, cache: string, kver: string, domuImage: string, domuNodeImage: string, kernel: string): string {
  const root = path.join(work, 'dom0-root');
  const xenRoot = path.join(cache, 'root');
  const xenBin = path.join(xenRoot, 'usr/lib/xen-4.17/bin');
  installBusybox(root);
  copyFile(path.join(GUEST, 'dom0-init.sh'), path.join(root, 'init'), 0o755);
  // The real daemons, not the /usr/sbin wrapper scripts (they need /sys/hypervisor checks and bash).
  installBinaries(root, xenRoot, [
    ...['xl', 'xenstored', 'xenconsoled', 'xen-init-dom0'].map((b) => ({ src: path.join(xenBin, b), dest: `usr/sbin/${b}` })),
    { src: path.join(xenRoot, 'usr/bin/xenstore'), dest: 'usr/bin/xenstore' },
    { src: path.join(xenBin, 'xenstore-control'), dest: 'usr/bin/xenstore-control' },
    { src: process.execPath, dest: 'usr/bin/node' },
  ]);
  for (const tool of ['read', 'write', 'ls', 'list', 'rm', 'chmod', 'exists', 'watch'])
    fs.symlinkSync('xenstore', path.join(root, `usr/bin/xenstore-${tool}`));
  // Without libgcc_s, xl aborts at exit: "libgcc_s.so.1 must be installed for pthread_cancel to work" (§3).
  const libgcc = path.join(root, LIBDIR, 'libgcc_s.so.1');
  if (!fs.existsSync(libgcc)) copyFile(`/${LIBDIR}/libgcc_s.so.1`, libgcc);
  copyModules(root, xenRoot, kver, DOM0_MODULES);
  copyFile(kernel, path.join(root, 'boot/domu-vmlinux.gz'));
  copyFile(domuImage, path.join(root, 'boot/domu.cpio.gz'));
  copyFile(domuNodeImage, path.join(root, 'boot/domu-node.cpio.gz'));
  // libxl's device model for `vfb = [...]` domains (tools/libs/light/libxl_dm.c): our stand-in.
  fs.mkdirSync(path.join(root, 'usr/sbin'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'usr/sbin/xenvfb-dm'),
    '#!/bin/sh\nexport XENVFB_DIST=/opt/xenvfb\nexec /usr/bin/node /opt/xenvfb/scripts/hooks/xl-device-model.js "$@"\n',
    { mode: 0o755 },
  );
  fs.mkdirSync(path.join(root, 'etc/xen'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/xen/xl.conf'), 'autoballoon="off"\n');
  fs.writeFileSync(
    path.join(root, 'etc/xen/domu.cfg'),
    [
      'name = "labguest"',
      'type = "pv"',
      'kernel = "/boot/domu-vmlinux.gz"',
      'ramdisk = "/boot/domu.cpio.gz"',
      'memory = 128',
      'vcpus = 1',
      'extra = "console=hvc0 rdinit=/init"',
      'on_poweroff = "destroy"',
      'on_crash = "destroy"',
      '',
    ].join('\n'),
  );
  const cfg = (lines: string[]) =>
    [...lines, 'type = "pv"', 'kernel = "/boot/domu-vmlinux.gz"', 'vcpus = 1', 'on_poweroff = "destroy"', 'on_crash = "destroy"', ''].join(
      '\n',
    );
  // Our TS frontend (`xenvfb guest`) in a domU: the device nodes are written by the lab, as for labguest.
  fs.writeFileSync(
    path.join(root, 'etc/xen/domu-node.cfg'),
    cfg([
      'name = "labnode"',
      'ramdisk = "/boot/domu-node.cpio.gz"',
      `memory = ${DOMU_NODE_MEM_MIB}`,
      // The kernel's built-in xen-fbfront / xen-kbdfront would bind vfb/0 and vkbd/0 first.
      'extra = "console=hvc0 rdinit=/init initcall_blacklist=xenfb_init,xenkbd_init"',
    ]),
  );
  // The stock domU through libxl's own vfb path: libxl writes the nodes and spawns the device model.
  fs.writeFileSync(
    path.join(root, 'etc/xen/domu-xlvfb.cfg'),
    cfg([
      'name = "labxlvfb"',
      'ramdisk = "/boot/domu.cpio.gz"',
      'memory = 128',
      'extra = "console=hvc0 rdinit=/init"',
      "vfb = [ 'vnc=0,sdl=0' ]",
      'device_model_version = "qemu-xen"',
      'device_model_override = "/usr/sbin/xenvfb-dm"',
    ]),
  );
  // The watch phase (dom0-watch.ts): two stock domUs through the same xl path, served by `xenvfb watch`.
  for (const [i, name] of ['labw1', 'labw2'].entries()) {
    fs.writeFileSync(
      path.join(root, `etc/xen/domu-watch${i + 1}.cfg`),
      cfg([
        `name = "${name}"`,
        'ramdisk = "/boot/domu.cpio.gz"',
        'memory = 128',
        'extra = "console=hvc0 rdinit=/init"',
        "vfb = [ 'vnc=0,sdl=0' ]",
        'device_model_version = "qemu-xen"',
        'device_model_override = "/usr/sbin/xenvfb-dm"',
      ]),
    );
  }
  fs.mkdirSync(path.join(root, 'etc/xenvfb'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'etc/xenvfb/watch.json'),
    `${JSON.stringify({ listen: '127.0.0.1', ports: { policy: 'base', base: 5900 }, spice: { base: 5930, disableTicketing: true } }, null, 2)}\n`,
  );
  installRepo(root);
  const image = path.join(work, 'dom0.cpio');
  cpioArchive(root, image, false); // uncompressed: unpacking a 150 MB gzip under TCG costs more than loading it (§6)
  return image;
}

export function buildImages(cache: string, kver: string): BuildResult {
  const work = path.join(cache, 'build');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const kernel = domuKernel(cache, kver);
  const domuImage = buildDomu(work, cache, kver);
  const domuNodeImage = buildDomuNode(work, cache, kver);
  const dom0Image = buildDom0(work, cache, kver, domuImage, domuNodeImage, kernel);
  const sizes = {
    'dom0.cpio': fs.statSync(dom0Image).size,
    'domu.cpio.gz': fs.statSync(domuImage).size,
    'domu-node.cpio.gz': fs.statSync(domuNodeImage).size,
    '/opt/xenvfb (domU)': dirSize(path.join(work, 'domu-node-root/opt/xenvfb')),
    'domu vmlinux.gz': fs.statSync(kernel).size,
    '/opt/xenvfb': dirSize(path.join(work, 'dom0-root/opt/xenvfb')),
    '/opt/xenvfb/node_modules': dirSize(path.join(work, 'dom0-root/opt/xenvfb/node_modules')),
    node: fs.statSync(process.execPath).size,
  };
  return { dom0Image, domuKernel: kernel, domuImage, domuNodeImage, sizes };
}
