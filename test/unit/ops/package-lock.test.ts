// package-lock.json must hold every platform's optional binaries (e.g. @swc/core-darwin-arm64),
// not only this machine's: a lock derived from an installed node_modules (npm/cli#4828,
// "lockfile drops optional dependencies for other platforms") makes `npm install` on a fresh
// clone add them back, leaving the tree dirty. Regenerate it with
// `npm install --package-lock-only`, which resolves from the registry, never from node_modules.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';

interface LockPackage {
  optionalDependencies?: Record<string, string>;
  optional?: boolean;
}

/** npm's lookup: node_modules/<name> beside the dependent, then in each ancestor. */
function resolves(packages: Record<string, LockPackage>, from: string, name: string): boolean {
  let base = from;
  for (;;) {
    if (packages[`${base ? `${base}/` : ''}node_modules/${name}`]) return true;
    if (!base) return false;
    const at = base.lastIndexOf('node_modules/');
    base = at <= 0 ? '' : base.slice(0, at - 1);
  }
}

describe('package-lock.json', function () {
  it('lists every optional dependency of every package (all platforms, so npm install leaves it unchanged)', function () {
    const lock = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package-lock.json'), 'utf8')) as {
      packages: Record<string, LockPackage>;
    };
    const missing: string[] = [];
    for (const [at, pkg] of Object.entries(lock.packages)) {
      for (const name of Object.keys(pkg.optionalDependencies ?? {})) {
        if (!resolves(lock.packages, at, name)) missing.push(`${at || '(root)'} -> ${name}`);
      }
    }
    assert.deepEqual(missing, [], 'regenerate with `npm install --package-lock-only` (see this file)');
  });
});
