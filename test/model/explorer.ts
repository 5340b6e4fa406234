// Exhaustive interleaving explorer for the dirty-tile protocol (docs/dirty-tiles.md §4),
// the TS twin of dirty-tiles.pml: 2 writers, the frontend switcher, the backend scanner,
// a small generation modulus (wrap), bounded ticks/scans. Paced (§4.7, the default): each
// scan is either a timer tick (asks for a switch whenever the active bitmap has marks) or a
// notify scan (late rule only), and the frontend has no timer unless frontendTimer. Every shared-memory access is
// one step. At every final state (no step enabled) the system is run on by the protocol's
// own rules (flush) and every writer's last pixel write must have been seen by the scanner.

export interface ProtocolVariant {
  /** Drain with one atomic exchange (else load, then store 0: two steps). */
  atomicDrain: boolean;
  /** Drain the inactive bitmap at every scan (else only when generation moved; v1). */
  drainEveryScan: boolean;
  /** After storing period_ms = 0, re-check both bitmaps (store-buffer pattern). */
  idleRecheck: boolean;
  /** mark: OR first, then load period_ms (else load period_ms, then OR). */
  markThenCheck: boolean;
  /** mark after the pixels are written (else before). */
  markAfterWrite: boolean;
  /** §4.7: a timer scan asks for a switch whenever the active bitmap has marks (r8). */
  paced: boolean;
  /** The frontend switches on its own timer (v1 frontends; ours only with a v1 backend). */
  frontendTimer: boolean;
}

export const CORRECT: ProtocolVariant = {
  atomicDrain: true,
  drainEveryScan: true,
  idleRecheck: true,
  markThenCheck: true,
  markAfterWrite: true,
  paced: true,
  frontendTimer: false,
};

/** Before r8: independent frontend switch timer and backend scan timer. */
export const V1_TIMERS: ProtocolVariant = { ...CORRECT, paced: false, frontendTimer: true };

export interface ModelBounds {
  marksPerWriter: number;
  switcherTicks: number;
  scans: number;
  idleAfter: number;
  genMod: number;
}

export interface ExploreResult {
  states: number;
  finals: number;
  /** A trace of step names to the first violation, or null. */
  violation: string[] | null;
}

// Flat state vector.
const ACTIVE = 0, GEN = 1, BM0 = 2, PERIOD = 4, FLAGS = 5, BE_EVT = 6, FE_EVT = 7; // prettier-ignore
const VER = 8,
  SEEN = 10,
  WPC = 12,
  WA = 14,
  WLEFT = 16; // per writer i: +i
const SWPC = 18, SWLEFT = 19, SCPC = 20, SCLEFT = 21, G = 22, A = 23, W = 24, TMP = 25; // prettier-ignore
const LASTG = 26, EMPTY = 27, IDLE = 28, REQ = 29, PENDING = 30, SIZE = 31; // prettier-ignore
const DONE = 99;
const SWITCH_NOW = 1;
const WOKE = 2;

type Op = 'write' | 'read' | 'or' | 'check';
type Step = [name: string, next: Int32Array];

function writerOps(v: ProtocolVariant): Op[] {
  const mark: Op[] = v.markThenCheck ? ['read', 'or', 'check'] : ['check', 'read', 'or'];
  return v.markAfterWrite ? ['write', ...mark] : [...mark, 'write'];
}

function wakeBackend(s: Int32Array): void {
  // TileScanner.wake(): clear bit 1; if it was set, publish period, ask for a switch
  const before = s[FLAGS];
  s[FLAGS] &= ~WOKE;
  if ((before & WOKE) === 0) return;
  s[IDLE] = 0;
  s[EMPTY] = 0;
  s[PERIOD] = 1;
  s[FLAGS] |= SWITCH_NOW;
  s[REQ] = 1;
  s[FE_EVT] = 1;
}

function afterDrain(s: Int32Array, tick: boolean): void {
  // report: the backend reads the pixels of the drained tiles now
  for (let i = 0; i < 2; i++) if (s[W] & (1 << i)) s[SEEN + i] = s[VER + i];
  const pending = s[BM0 + s[A]] !== 0;
  s[PENDING] = pending ? 1 : 0;
  if (s[G] !== s[LASTG]) s[REQ] = 0;
  else if (pending && !s[REQ]) request(s);
  // paced (§4.7): a timer scan asks whenever marks wait, even right after a switch, and
  // again when the frontend took the last request (bit 0 clear) whatever generation says
  if (tick && pending && (!s[REQ] || (s[FLAGS] & SWITCH_NOW) === 0)) request(s);
  s[LASTG] = s[G];
  s[EMPTY] = s[W] === 0 && !pending ? s[EMPTY] + 1 : 0;
}

function request(s: Int32Array): void {
  s[FLAGS] |= SWITCH_NOW;
  s[FE_EVT] = 1;
  s[REQ] = 1;
}

function scannerSteps(s: Int32Array, v: ProtocolVariant, b: ModelBounds, out: Step[]): void {
  const pc = s[SCPC];
  const go = (name: string, f: (n: Int32Array) => void): void => {
    const n = s.slice();
    f(n);
    out.push([name, n]);
  };
  if (pc === 0) {
    if (s[BE_EVT]) go('scanner: notify', (n) => ((n[BE_EVT] = 0), wakeBackend(n)));
    if (!s[IDLE] && s[SCLEFT] > 0) go('scanner: g = gen', (n) => ((n[SCLEFT] -= 1), (n[G] = n[GEN]), (n[SCPC] = 1)));
    return;
  }
  if (pc === 1) return go('scanner: a = active', (n) => ((n[A] = n[ACTIVE]), (n[SCPC] = 2)));
  if (pc === 2) {
    const x = BM0 + (s[A] ^ 1);
    if (!v.drainEveryScan && s[G] === s[LASTG]) return go('scanner: no drain', (n) => ((n[W] = 0), (n[SCPC] = 4)));
    if (v.atomicDrain) return go('scanner: w = xchg(inactive, 0)', (n) => ((n[W] = n[x]), (n[x] = 0), (n[SCPC] = 4)));
    return go('scanner: tmp = inactive', (n) => ((n[TMP] = n[x]), (n[SCPC] = 3)));
  }
  if (pc === 3) return go('scanner: inactive = 0', (n) => ((n[BM0 + (n[A] ^ 1)] = 0), (n[W] = n[TMP]), (n[SCPC] = 4)));
  if (pc === 4) {
    go('scanner: report, pending, late', (n) => (afterDrain(n, false), (n[SCPC] = n[EMPTY] >= b.idleAfter ? 5 : 0)));
    if (v.paced) go('scanner: report, pending, paced tick', (n) => (afterDrain(n, true), (n[SCPC] = n[EMPTY] >= b.idleAfter ? 5 : 0)));
    return;
  }
  if (pc === 5) return go('scanner: period = 0', (n) => ((n[PERIOD] = 0), (n[SCPC] = 6)));
  if (pc === 6) {
    return go('scanner: recheck, idle', (n) => {
      n[EMPTY] = 0;
      n[SCPC] = 0;
      if (v.idleRecheck && (n[BM0] | n[BM0 + 1]) !== 0) n[PERIOD] = 1;
      else n[IDLE] = 1;
    });
  }
}

function switcherSteps(s: Int32Array, v: ProtocolVariant, b: ModelBounds, out: Step[]): void {
  const pc = s[SWPC];
  const go = (name: string, f: (n: Int32Array) => void): void => {
    const n = s.slice();
    f(n);
    out.push([name, n]);
  };
  if (pc === 0) {
    if (v.frontendTimer && s[SWLEFT] > 0 && s[PERIOD] !== 0)
      go('switcher: tick, active ^= 1', (n) => ((n[SWLEFT] -= 1), (n[ACTIVE] ^= 1), (n[SWPC] = 1)));
    if (s[FE_EVT]) {
      go('switcher: notify, clear bit 0', (n) => {
        n[FE_EVT] = 0;
        const before = n[FLAGS];
        n[FLAGS] &= ~SWITCH_NOW;
        n[SWPC] = before & SWITCH_NOW ? 2 : 0;
      });
    }
    return;
  }
  if (pc === 1) return go('switcher: gen++', (n) => ((n[GEN] = (n[GEN] + 1) % b.genMod), (n[SWPC] = 0)));
  if (pc === 2) return go('switcher: answer, active ^= 1', (n) => ((n[ACTIVE] ^= 1), (n[SWPC] = 3)));
  if (pc === 3) return go('switcher: answer, gen++, notify', (n) => ((n[GEN] = (n[GEN] + 1) % b.genMod), (n[BE_EVT] = 1), (n[SWPC] = 0)));
}

function writerSteps(s: Int32Array, i: number, ops: Op[], out: Step[]): void {
  const pc = s[WPC + i];
  if (pc === DONE) return;
  const n = s.slice();
  const op = ops[pc];
  if (op === 'write') n[VER + i]++;
  else if (op === 'read') n[WA + i] = n[ACTIVE];
  else if (op === 'or') n[BM0 + n[WA + i]] |= 1 << i;
  else if (n[PERIOD] === 0) {
    const before = n[FLAGS];
    n[FLAGS] |= WOKE;
    if ((before & WOKE) === 0) n[BE_EVT] = 1;
  }
  if (pc + 1 < ops.length) n[WPC + i] = pc + 1;
  else if (--n[WLEFT + i] > 0) n[WPC + i] = 0;
  else n[WPC + i] = DONE;
  out.push([`writer ${i}: ${op}`, n]);
}

/** Run on by the protocol, one actor at a time, and check every last write was seen. */
function flushAndCheck(f: Int32Array, v: ProtocolVariant, b: ModelBounds): boolean {
  const s = f.slice();
  for (let round = 0; round < 8; round++) {
    if (s[BE_EVT]) {
      s[BE_EVT] = 0;
      wakeBackend(s);
    }
    let answered = false;
    if (s[FE_EVT]) {
      s[FE_EVT] = 0;
      const before = s[FLAGS];
      s[FLAGS] &= ~SWITCH_NOW;
      if (before & SWITCH_NOW) {
        s[ACTIVE] ^= 1;
        s[GEN] = (s[GEN] + 1) % b.genMod;
        s[BE_EVT] = 1;
        answered = true;
      }
    }
    // One switch per round: two would be no switch at all modulo genMod = 2.
    if (v.frontendTimer && !answered && s[PERIOD] !== 0) {
      s[ACTIVE] ^= 1;
      s[GEN] = (s[GEN] + 1) % b.genMod;
    }
    if (s[IDLE]) continue;
    s[G] = s[GEN];
    s[A] = s[ACTIVE];
    const x = BM0 + (s[A] ^ 1);
    s[W] = v.drainEveryScan || s[G] !== s[LASTG] ? s[x] : 0;
    if (v.drainEveryScan || s[G] !== s[LASTG]) s[x] = 0;
    afterDrain(s, v.paced);
    if (s[EMPTY] >= b.idleAfter) {
      s[PERIOD] = 0;
      s[EMPTY] = 0;
      if (v.idleRecheck && (s[BM0] | s[BM0 + 1]) !== 0) s[PERIOD] = 1;
      else s[IDLE] = 1;
    }
  }
  return s[SEEN] === s[VER] && s[SEEN + 1] === s[VER + 1];
}

export function explore(v: ProtocolVariant, b: ModelBounds): ExploreResult {
  const init = new Int32Array(SIZE);
  init[PERIOD] = 1;
  init[WLEFT] = init[WLEFT + 1] = b.marksPerWriter;
  init[SWLEFT] = b.switcherTicks;
  init[SCLEFT] = b.scans;
  const ops = writerOps(v);
  // DFS; parents kept for the counterexample trace.
  const parent = new Map<string, [string, string] | null>();
  const key = (s: Int32Array): string => s.join(',');
  const stack: Int32Array[] = [init];
  parent.set(key(init), null);
  let finals = 0;
  while (stack.length > 0) {
    const s = stack.pop()!;
    const out: Step[] = [];
    writerSteps(s, 0, ops, out);
    writerSteps(s, 1, ops, out);
    switcherSteps(s, v, b, out);
    scannerSteps(s, v, b, out);
    if (out.length === 0) {
      finals++;
      if (!flushAndCheck(s, v, b)) return { states: parent.size, finals, violation: trace(parent, key(s)) };
      continue;
    }
    for (const [name, n] of out) {
      const k = key(n);
      if (parent.has(k)) continue;
      parent.set(k, [name, key(s)]);
      stack.push(n);
    }
  }
  return { states: parent.size, finals, violation: null };
}

function trace(parent: Map<string, [string, string] | null>, k: string): string[] {
  const steps: string[] = [];
  for (let p = parent.get(k); p; p = parent.get(p[1])) steps.unshift(p[0]);
  return steps;
}
