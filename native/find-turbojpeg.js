// Where is libjpeg-turbo's TurboJPEG API? Asked by binding.gyp at configure time:
//   node find-turbojpeg.js have|include|libs
// pkg-config (libturbojpeg, Debian libturbojpeg0-dev) first; without pkg-config or its .pc
// file, turbojpeg.h in the usual include directories with -lturbojpeg. `have` prints 1 or 0;
// with 0 the addon is built without native JPEG and the jpeg-js path is used. Set
// XENVFB_NO_TURBOJPEG_BUILD=1 to build without it on purpose.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function pkgConfig(args) {
  try {
    return execFileSync('pkg-config', [...args, 'libturbojpeg'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function find() {
  if (process.env.XENVFB_NO_TURBOJPEG_BUILD === '1') return null;
  const cflags = pkgConfig(['--cflags']);
  const libs = pkgConfig(['--libs']);
  if (cflags !== null && libs !== null) return { cflags, libs };
  const dirs = ['/usr/include', '/usr/local/include', '/opt/homebrew/include', '/opt/libjpeg-turbo/include'];
  const dir = dirs.find((d) => fs.existsSync(path.join(d, 'turbojpeg.h')));
  if (!dir) return null;
  const libDir = path.join(path.dirname(dir), 'lib');
  return { cflags: dir === '/usr/include' ? '' : `-I${dir}`, libs: `${fs.existsSync(libDir) ? `-L${libDir} ` : ''}-lturbojpeg` };
}

const found = find();
const what = process.argv[2];
if (what === 'have') console.log(found ? 1 : 0);
// gyp splits these on whitespace (<!@); include dirs without their -I.
else if (what === 'include')
  console.log(
    found
      ? found.cflags
          .split(/\s+/)
          .filter((f) => f.startsWith('-I'))
          .map((f) => f.slice(2))
          .join(' ')
      : '',
  );
else if (what === 'libs') console.log(found ? found.libs : '');
else {
  console.error('usage: node find-turbojpeg.js have|include|libs');
  process.exit(2);
}
