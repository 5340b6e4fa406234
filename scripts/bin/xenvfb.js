#!/usr/bin/env node
// Entry point of the `xenvfb` command: runs the TypeScript sources through ts-node
// (transpile only, with swc; `npm test` type-checks the whole tree).
'use strict';
const path = require('node:path');
require('ts-node').register({
  transpileOnly: true,
  // swc transpiles per file in native code: much faster process start than tsc's emitter.
  swc: true,
  project: path.join(__dirname, '..', '..', 'tsconfig.json'),
});
require('../cli/main').main(process.argv).catch((err) => {
  process.stderr.write(`xenvfb: ${err && err.message ? err.message : String(err)}\n`);
  process.exit(1);
});
