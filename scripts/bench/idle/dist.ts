// A pre-transpiled copy of the sources for XENVFB_DIST (scripts/bin/xenvfb.js): what a
// packaged install runs, without ts-node, typescript and swc in every process. Same layout
// as `npm run build:dist` (tsc into dist/), but transpile only (no type check): seconds
// instead of a minute. It must sit one level below the repository root, as dist/ does, so
// that node_modules and native/build resolve from it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const TREES = ['frontend', 'backend', 'shared', 'native', 'scripts'];
const SKIP = new Set(['node_modules', 'build', 'c', 'lab']);

function transpileDir(src: string, dest: string): number {
  let n = 0;
  fs.mkdirSync(dest, { recursive: true });
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const from = path.join(src, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP.has(entry.name)) n += transpileDir(from, path.join(dest, entry.name));
    } else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const out = ts.transpileModule(fs.readFileSync(from, 'utf8'), {
        fileName: from,
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, resolveJsonModule: true },
      });
      fs.writeFileSync(path.join(dest, entry.name.replace(/\.ts$/, '.js')), out.outputText);
      n++;
    } else if (entry.isFile()) {
      fs.copyFileSync(from, path.join(dest, entry.name)); // assets (the noVNC page) and .js files
    }
  }
  return n;
}

/** Transpile the sources into `<repo>/dist` and return that directory. */
export function buildDist(): { dir: string; files: number } {
  const dir = path.join(REPO_ROOT, 'dist');
  let files = 0;
  for (const tree of TREES) files += transpileDir(path.join(REPO_ROOT, tree), path.join(dir, tree));
  return { dir, files };
}
