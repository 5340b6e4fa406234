#!/usr/bin/env node
// `npm run build` (and the last step of `npm install`): transpiles every TypeScript source
// the `xenvfb` command runs into dist/ (same layout as the repository), copies the runtime
// files that are not TypeScript (the web console page), and writes dist/BUILD_STAMP last.
// scripts/bin/xenvfb.js then runs dist/ without loading a compiler: ts-node + typescript
// cost ~120 MB of RSS and seconds of start-up per process.
//
// Transpile only (typescript's transpileModule, one file at a time): type errors are
// `npm run typecheck`'s job, and an install must not fail on them.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
/** Folders holding what the command runs (tests, benches and the lab stay TypeScript). */
const SOURCE_DIRS = ['backend', 'frontend', 'shared', 'native', 'scripts'];
const SKIP_DIRS = new Set(['node_modules', 'build', 'bench', 'lab']);
/** Non-TypeScript files loaded at run time, relative to ROOT. */
const ASSET_DIRS = ['backend/web/page'];
const STAMP = 'BUILD_STAMP';

function walk(dir, onFile) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) walk(p, onFile);
    } else if (entry.isFile()) onFile(p);
  }
}

function isSource(file) {
  return file.endsWith('.ts') && !file.endsWith('.d.ts');
}

function build(outDir, root = ROOT) {
  const ts = require('typescript');
  const options = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: true,
    resolveJsonModule: true,
  };
  fs.rmSync(path.join(outDir, STAMP), { force: true });
  let count = 0;
  for (const dir of SOURCE_DIRS) {
    if (!fs.existsSync(path.join(root, dir))) continue;
    walk(path.join(root, dir), (file) => {
      if (!isSource(file)) return;
      const rel = path.relative(root, file);
      const out = ts.transpileModule(fs.readFileSync(file, 'utf8'), { fileName: rel, compilerOptions: options });
      const dest = path.join(outDir, rel.replace(/\.ts$/, '.js'));
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.writeFileSync(dest, out.outputText);
      count++;
    });
  }
  for (const dir of ASSET_DIRS) {
    if (fs.existsSync(path.join(root, dir))) fs.cpSync(path.join(root, dir), path.join(outDir, dir), { recursive: true });
  }
  // Written last: a build cut short leaves no stamp, and the command then ignores dist/.
  fs.writeFileSync(path.join(outDir, STAMP), `${JSON.stringify({ files: count, builtAt: new Date().toISOString() })}\n`);
  return count;
}

/**
 * True when `outDir` holds a complete build at least as new as every source it was built
 * from (an edited, added or checked-out source is newer: then the sources must run).
 */
function isFresh(outDir, root = ROOT) {
  let stampTime;
  try {
    stampTime = fs.statSync(path.join(outDir, STAMP)).mtimeMs;
  } catch {
    return false;
  }
  let fresh = true;
  for (const dir of SOURCE_DIRS) {
    if (!fresh) break;
    if (!fs.existsSync(path.join(root, dir))) continue;
    walk(path.join(root, dir), (file) => {
      if (fresh && (isSource(file) || file.includes(`${path.sep}page${path.sep}`)) && fs.statSync(file).mtimeMs > stampTime) fresh = false;
    });
  }
  return fresh;
}

module.exports = { build, isFresh, ROOT, STAMP };

if (require.main === module) {
  const outDir = path.resolve(process.argv[2] ?? path.join(ROOT, 'dist'));
  const started = Date.now();
  const n = build(outDir);
  process.stdout.write(`xenvfb: built ${n} files into ${path.relative(process.cwd(), outDir) || '.'} in ${Date.now() - started} ms\n`);
}
