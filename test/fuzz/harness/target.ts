// What a fuzz target is. One small file per parser in test/fuzz/targets/ exports `target`
// (or `targets`); test/fuzz/targets.test.ts runs every one briefly in `npm test`, and
// `npm run fuzz -- --minutes N [--target NAME]` runs them long, coverage-guided. Seeds live
// in test/fuzz/corpus/<name>/ (any files; the long run adds the inputs that found new code).
// See test/fuzz/README.md.

import { isXenvfbError } from '../../../shared/errors';

export interface FuzzTarget {
  /** Also the corpus directory name: lower-case words joined by '-'. */
  readonly name: string;
  /** What untrusted bytes this parser meets, and from whom (a guest, a client...). */
  readonly description: string;
  /**
   * Feed one input. It must return, or throw an error that `expected` accepts; anything
   * else (a TypeError, a RangeError, an out-of-bounds read, a hang) is a finding.
   */
  run(input: Uint8Array): void;
  /** Errors hostile input may cause (default: our typed errors, XenvfbError). */
  expected?(e: unknown): boolean;
  /** Longest input the generators make (default 4096). */
  readonly maxLength?: number;
  /** Valid inputs to mutate, besides the corpus files (built by the codec's encoder). */
  seeds?(): Uint8Array[];
  /** Source files (repo-relative prefixes) whose coverage guides the long run. */
  readonly covers: readonly string[];
}

export function isExpected(target: FuzzTarget, e: unknown): boolean {
  return target.expected ? target.expected(e) : isXenvfbError(e);
}

/** One input's outcome: null when it was accepted or refused with an expected error. */
export function runOne(target: FuzzTarget, input: Uint8Array): Error | null {
  try {
    target.run(input);
    return null;
  } catch (e) {
    if (isExpected(target, e)) return null;
    return e instanceof Error ? e : new Error(String(e));
  }
}
