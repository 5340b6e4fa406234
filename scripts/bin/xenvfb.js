#!/usr/bin/env node
// Entry point of the `xenvfb` command. By default it runs the TypeScript sources through
// ts-node (transpile only, with swc; `npm test` type-checks the whole tree). With
// XENVFB_DIST=<dir> it runs the pre-transpiled JavaScript tree in <dir> instead (same
// layout as the repository, a .js for every .ts: what `npm run build:dist` or the Xen
// lab's image build produce): no compiler is loaded at start, which matters on slow hosts
// (under QEMU TCG, loading ts-node + typescript + swc took 20-40 s).
'use strict';
const path = require('node:path');
const fail = (err) => {
  process.stderr.write(`xenvfb: ${err && err.message ? err.message : String(err)}\n`);
  process.exit(1);
};
const dist = process.env.XENVFB_DIST;
if (dist) {
  require(path.resolve(dist, 'scripts/cli/main.js')).main(process.argv).catch(fail);
} else {
  require('ts-node').register({
    transpileOnly: true,
    // swc transpiles per file in native code: much faster process start than tsc's emitter.
    swc: true,
    project: path.join(__dirname, '..', '..', 'tsconfig.json'),
  });
  require('../cli/main').main(process.argv).catch(fail);
}
