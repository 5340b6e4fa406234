// The still pictures every server is fed: the same pixels as PNG (xenvfb's still workload)
// and as binary PPM (the LibVNCServer peer, peer-xroot for Xvnc, and the pixel check).
// Made once per size into the cache; the name carries a version to bump when a recipe changes.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PNG } from 'pngjs';

export const PICTURE_NAMES = ['photo', 'text', 'noise'] as const;
export type PictureName = (typeof PICTURE_NAMES)[number];

export interface Picture {
  name: PictureName;
  width: number;
  height: number;
  png: string;
  ppm: string;
  /** RGB bytes, row-major, no padding. */
  rgb: Buffer;
}

const RECIPE_VERSION = 1;
/** A fixed seed: ImageMagick's plasma is the same picture for the same seed and version. */
const PLASMA_SEED = 14;
const NOISE_SEED = 0x5eed;
/** Part of every Debian system (package base-files), so the text picture needs no download. */
const TEXT_SOURCE = '/usr/share/common-licenses/GPL-3';

function convert(args: string[]): void {
  const r = spawnSync('convert', args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`bench:peers: ImageMagick convert failed: ${r.stderr?.trim() || r.error?.message} (apt-get install imagemagick)`);
  }
}

/** Text in columns of a monospace font, black on white under a blue title bar: an editor or a terminal. */
function textArgs(width: number, height: number, out: string): string[] {
  const source = fs.existsSync(TEXT_SOURCE) ? TEXT_SOURCE : path.join(__dirname, '..', '..', '..', 'README.md');
  const lines = fs.readFileSync(source, 'utf8').split('\n');
  const lineHeight = 16;
  const perColumn = Math.floor((height - 40) / lineHeight);
  const columnWidth = 640;
  const args = ['-size', `${width}x${height}`, 'xc:white', '-fill', '#3465a4', '-draw', `rectangle 0,0 ${width - 1},23`];
  args.push('-font', 'DejaVu-Sans', '-pointsize', '13', '-fill', 'white', '-annotate', '+8+17', `${path.basename(source)} - bench:peers`);
  args.push('-font', 'DejaVu-Sans-Mono', '-pointsize', '13', '-fill', '#202020');
  for (let c = 0, x = 8; x < width; c++, x += columnWidth) {
    const chunk = lines.slice(c * perColumn, (c + 1) * perColumn).join('\n');
    args.push('-annotate', `+${x}+44`, chunk);
  }
  args.push('-depth', '8', '-strip', '-define', 'png:color-type=2', out);
  return args;
}

/** Uniform RGB noise from a xorshift32 generator: the same bytes everywhere, no ImageMagick needed. */
export function noiseRgb(width: number, height: number, seed = NOISE_SEED): Buffer {
  const out = Buffer.alloc(width * height * 3);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
}

export function writePpm(file: string, width: number, height: number, rgb: Buffer): void {
  fs.writeFileSync(file, Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`, 'latin1'), rgb]));
}

/** A binary PPM (P6, maxval 255) as width, height and RGB bytes. */
export function parsePpm(bytes: Buffer): { width: number; height: number; rgb: Buffer } {
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(bytes.subarray(0, 64).toString('latin1'));
  if (!m) throw new Error('not a binary PPM (P6, maxval 255)');
  const width = Number(m[1]);
  const height = Number(m[2]);
  const rgb = bytes.subarray(m[0].length);
  if (rgb.length < width * height * 3) throw new Error(`PPM ${width}x${height} is truncated`);
  return { width, height, rgb: rgb.subarray(0, width * height * 3) };
}

function pngFromRgb(file: string, width: number, height: number, rgb: Buffer): void {
  const png = new PNG({ width, height, colorType: 2 });
  for (let i = 0, o = 0; i < rgb.length; i += 3, o += 4) {
    png.data[o] = rgb[i]!;
    png.data[o + 1] = rgb[i + 1]!;
    png.data[o + 2] = rgb[i + 2]!;
    png.data[o + 3] = 255;
  }
  fs.writeFileSync(file, PNG.sync.write(png, { colorType: 2 }));
}

/** The picture, made if its files are not in `dir` yet. */
export function makePicture(name: PictureName, width: number, height: number, dir: string): Picture {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${name}-${width}x${height}-v${RECIPE_VERSION}`);
  const png = `${base}.png`;
  const ppm = `${base}.ppm`;
  if (!fs.existsSync(png) || !fs.existsSync(ppm)) {
    const tmpPng = `${base}.tmp${process.pid}.png`;
    if (name === 'noise') {
      const rgb = noiseRgb(width, height);
      pngFromRgb(tmpPng, width, height, rgb);
    } else if (name === 'photo') {
      convert(
        ['-size', `${width}x${height}`, '-seed', String(PLASMA_SEED), 'plasma:fractal', '-blur', '0x1', '-depth', '8', '-strip'].concat([
          '-define',
          'png:color-type=2',
          tmpPng,
        ]),
      );
    } else {
      convert(textArgs(width, height, tmpPng));
    }
    // The PPM is decoded from the PNG, so both files hold exactly the same pixels.
    const decoded = PNG.sync.read(fs.readFileSync(tmpPng));
    const rgb = Buffer.alloc(width * height * 3);
    for (let i = 0, o = 0; o < rgb.length; i += 4, o += 3) {
      rgb[o] = decoded.data[i]!;
      rgb[o + 1] = decoded.data[i + 1]!;
      rgb[o + 2] = decoded.data[i + 2]!;
    }
    writePpm(ppm, width, height, rgb);
    fs.renameSync(tmpPng, png);
  }
  const { rgb } = parsePpm(fs.readFileSync(ppm));
  return { name, width, height, png, ppm, rgb };
}
