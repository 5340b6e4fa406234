// Model checks of the dirty-tile protocol: spin on dirty-tiles.pml (pending with the reason
// when spin or gcc is missing), and the TS exhaustive explorer (always runs). Both must
// pass on the protocol and find a counterexample for each mutant, so the check has teeth.

import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CORRECT, ModelBounds, ProtocolVariant, V1_TIMERS, explore } from './explorer';

const PML = path.join(__dirname, 'dirty-tiles.pml');

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function runSpin(defines: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-spin-'));
  try {
    execFileSync('spin', [...defines, '-a', PML], { cwd: dir, stdio: 'pipe' });
    execFileSync('gcc', ['-O2', '-DSAFETY', '-o', 'pan', 'pan.c'], { cwd: dir, stdio: 'pipe' });
    const r = spawnSync('./pan', ['-m200000'], { cwd: dir, encoding: 'utf8' });
    return r.stdout + r.stderr;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('dirty-tiles: model check', function () {
  this.timeout(180_000);

  describe('spin (test/model/dirty-tiles.pml)', () => {
    const missing = ['spin', 'gcc'].filter((c) => !have(c));
    before(function () {
      if (missing.length > 0) {
        console.log(`      pending: ${missing.join(', ')} not installed (npm run setup:test-deps)`);
        this.skip();
      }
    });

    const protocols: Array<[string, string[]]> = [
      ['the protocol (paced by the backend, r8)', []],
      ['a v1 guest (own switch timer) on our pacing backend', ['-DFE_TIMER']],
      ['v1 (independent switch and scan timers)', ['-DUNPACED', '-DFE_TIMER']],
      ['v1 with the v1 drain rule (safe only with a frontend timer)', ['-DUNPACED', '-DFE_TIMER', '-DV1_DRAIN']],
    ];
    for (const [name, defines] of protocols) {
      it(`${name}: errors: 0`, () => {
        const out = runSpin(defines);
        assert.match(out, /errors: 0\b/, out);
        const states = /(\d+) states, stored/.exec(out);
        console.log(`      spin ${defines.join(' ') || '(default)'}: ${states?.[1]} states stored, errors: 0`);
      });
    }

    for (const mutant of ['NONATOMIC_DRAIN', 'NO_RECHECK', 'CHECK_BEFORE_MARK', 'V1_DRAIN']) {
      it(`mutant ${mutant}: spin finds the lost mark`, () => {
        const out = runSpin([`-D${mutant}`]);
        assert.match(out, /assertion violated/, out);
        assert.doesNotMatch(out, /errors: 0\b/);
      });
    }
  });

  describe('TS exhaustive interleaving explorer', () => {
    const bounds: ModelBounds = { marksPerWriter: 1, switcherTicks: 2, scans: 3, idleAfter: 1, genMod: 2 };

    const protocols: Array<[string, ProtocolVariant, number]> = [
      ['the protocol (paced by the backend, no frontend timer, r8)', CORRECT, 5_000],
      ['a v1 guest (own switch timer) on our pacing backend', { ...CORRECT, frontendTimer: true }, 100_000],
      ['v1 (independent switch and scan timers)', V1_TIMERS, 100_000],
    ];
    for (const [name, variant, minStates] of protocols) {
      it(`${name}: no lost mark in any interleaving`, () => {
        const r = explore(variant, bounds);
        assert.equal(r.violation, null, r.violation?.join('\n'));
        assert.ok(r.states > minStates, `explored ${r.states}`);
        console.log(`      explorer: ${r.states} states, ${r.finals} final states, 0 violations`);
      });
    }

    it('v1 drain rule (only when generation moved) is still safe with a frontend timer and the idle re-check', () => {
      assert.equal(explore({ ...V1_TIMERS, drainEveryScan: false }, bounds).violation, null);
    });

    const mutants: Array<[string, Partial<ProtocolVariant>]> = [
      ['load-then-store drain', { atomicDrain: false }],
      ['no re-check after period_ms = 0', { idleRecheck: false }],
      ['period check before the OR', { markThenCheck: false }],
      ['mark before the pixel write', { markAfterWrite: false }],
      ['paced without r2 (drain only when generation moved)', { drainEveryScan: false }],
      ['DESIGN v1 as written', { ...V1_TIMERS, drainEveryScan: false, idleRecheck: false }],
    ];
    for (const [name, change] of mutants) {
      it(`mutant "${name}": a counterexample is found`, () => {
        const r = explore({ ...CORRECT, ...change }, bounds);
        assert.ok(r.violation !== null && r.violation.length > 0);
      });
    }
  });
});
