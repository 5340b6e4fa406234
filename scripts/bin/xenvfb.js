#!/usr/bin/env node
// Entry point of the `xenvfb` command. It runs compiled JavaScript when there is some:
// XENVFB_DIST=<dir> names a pre-transpiled tree (same layout as the repository: what
// `npm run build` writes to dist/, or the Xen lab's image build in place); without it, the
// repository's dist/ is used when its build is complete and newer than every source
// (scripts/build/build-dist.js). Otherwise, in a development tree, the TypeScript sources run
// through ts-node (transpile only, with swc; `npm test` type-checks). Compiled, no compiler
// is loaded: ts-node + typescript cost ~120 MB of RSS and seconds of start per process.
'use strict';
const path = require('node:path');
const fail = (err) => {
  process.stderr.write(`xenvfb: ${err && err.message ? err.message : String(err)}\n`);
  process.exit(1);
};
const root = path.join(__dirname, '..', '..');
let dist = process.env.XENVFB_DIST;
if (!dist) {
  const builtDir = path.join(root, 'dist');
  if (require('../build/build-dist.js').isFresh(builtDir)) {
    dist = builtDir;
    // Children (the demo's guest and backend, the watch daemon's backends) make the same choice.
    process.env.XENVFB_DIST = dist;
  }
}
if (process.env.XENVFB_DEBUG_START)
  process.stderr.write(`xenvfb: running ${dist ? `compiled code in ${dist}` : 'sources through ts-node'}\n`);
if (dist) {
  require(path.resolve(dist, 'scripts/cli/main.js')).main(process.argv).catch(fail);
} else {
  let tsNode;
  try {
    tsNode = require('ts-node');
  } catch {
    fail(new Error(`no compiled build in ${path.join(root, 'dist')} and ts-node is not installed: run \`npm run build\` in ${root}`));
  }
  tsNode.register({
    transpileOnly: true,
    // swc transpiles per file in native code: much faster process start than tsc's emitter.
    swc: true,
    project: path.join(root, 'tsconfig.json'),
  });
  require('../cli/main').main(process.argv).catch(fail);
}
