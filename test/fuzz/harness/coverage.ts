// Block coverage from V8 itself (the inspector's Profiler precise coverage, what c8 reads):
// after a batch of inputs, the bytes of the target's source files that ran. takePreciseCoverage
// resets the counters, so each call sees only the input just run. No instrumentation and
// no native fuzzer: @jazzer.js/core's prebuilt addon needs glibc 2.38 (Debian 12 has 2.36)
// and building it from source downloads toolchains, so it cannot install here.

import * as inspector from 'node:inspector';

export class BlockCoverage {
  private readonly session = new inspector.Session();

  private post<T>(method: string, params: object = {}): Promise<T> {
    return new Promise((resolve, reject) => this.session.post(method, params, (err, res) => (err ? reject(err) : resolve(res as T))));
  }

  async start(): Promise<void> {
    this.session.connect();
    await this.post('Profiler.enable');
    await this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  /**
   * The source bytes of the target's files (`covers`) that ran since the last call, one
   * map entry per file. V8 merges a block into its parent when their counts are equal, so
   * which ranges it lists depends on how often each ran; bytes do not: a range with a
   * count marks its bytes, a nested range with count 0 clears them (ranges come parent
   * first).
   */
  async take(covers: readonly string[]): Promise<Map<string, Uint8Array>> {
    const res = await this.post<inspector.Profiler.TakePreciseCoverageReturnType>('Profiler.takePreciseCoverage');
    const out = new Map<string, Uint8Array>();
    for (const script of res.result) {
      if (!covers.some((c) => script.url.includes(`/${c}`))) continue;
      const size = Math.max(0, ...script.functions.flatMap((f) => f.ranges.map((r) => r.endOffset)));
      const ran = new Uint8Array(size);
      for (const fn of script.functions) {
        for (const r of fn.ranges) ran.fill(r.count > 0 ? 1 : 0, r.startOffset, r.endOffset);
      }
      out.set(script.url, ran);
    }
    return out;
  }

  stop(): void {
    this.session.disconnect();
  }
}

/** Everything covered so far, per file. */
export class CoverageMap {
  private readonly files = new Map<string, Uint8Array>();

  /** Whether `taken` ran a byte not covered yet. */
  isFresh(taken: Map<string, Uint8Array>): boolean {
    for (const [url, ran] of taken) {
      const have = this.files.get(url);
      for (let i = 0; i < ran.length; i++) if (ran[i] && !have?.[i]) return true;
    }
    return false;
  }

  add(taken: Map<string, Uint8Array>): void {
    for (const [url, ran] of taken) {
      const have = this.files.get(url);
      const merged = new Uint8Array(Math.max(ran.length, have?.length ?? 0));
      if (have) merged.set(have);
      for (let i = 0; i < ran.length; i++) merged[i] = merged[i]! | ran[i]!;
      this.files.set(url, merged);
    }
  }

  /** Covered bytes / bytes of the files seen, as a percentage. */
  percent(): number {
    let covered = 0;
    let total = 0;
    for (const ran of this.files.values()) {
      total += ran.length;
      for (const b of ran) covered += b;
    }
    return total === 0 ? 0 : (covered / total) * 100;
  }
}
