// Finds every target under test/fuzz/targets/ and the corpus of each.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FuzzTarget } from './target';

export const TARGETS_DIR = path.join(__dirname, '..', 'targets');
export const CORPUS_DIR = path.join(__dirname, '..', 'corpus');

/** Every registered target, sorted by name; a file may export `target` or `targets`. */
export function loadTargets(): FuzzTarget[] {
  const out: FuzzTarget[] = [];
  for (const file of fs.readdirSync(TARGETS_DIR).sort()) {
    if (!/\.ts$/.test(file) || file.endsWith('.d.ts')) continue;
    const mod = require(path.join(TARGETS_DIR, file)) as { target?: FuzzTarget; targets?: FuzzTarget[] };
    const found = [...(mod.target ? [mod.target] : []), ...(mod.targets ?? [])];
    if (found.length === 0) throw new Error(`test/fuzz/targets/${file} exports no target or targets`);
    out.push(...found);
  }
  const names = new Set<string>();
  for (const t of out) {
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(t.name)) throw new Error(`fuzz target name ${JSON.stringify(t.name)} is not lower-case-words`);
    if (names.has(t.name)) throw new Error(`two fuzz targets are named ${t.name}`);
    names.add(t.name);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export function corpusDir(target: FuzzTarget): string {
  return path.join(CORPUS_DIR, target.name);
}

/** The corpus files of a target and its seeds(). */
export function loadCorpus(target: FuzzTarget): Uint8Array[] {
  const dir = corpusDir(target);
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  return [...files.map((f) => new Uint8Array(fs.readFileSync(path.join(dir, f)))), ...(target.seeds?.() ?? [])];
}
