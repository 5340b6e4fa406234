import { CORRECT, explore } from '/work/main/test/model/explorer';
const b = { marksPerWriter: 2, switcherTicks: 3, scans: 4, idleAfter: 1, genMod: 2 };
for (const [name, v] of Object.entries({ correct: CORRECT, nonatomic: { ...CORRECT, atomicDrain: false }, v1drain: { ...CORRECT, drainEveryScan: false }, norecheck: { ...CORRECT, idleRecheck: false }, checkFirst: { ...CORRECT, markThenCheck: false }, markBeforeWrite: { ...CORRECT, markAfterWrite: false }, v1: {...CORRECT, drainEveryScan:false, idleRecheck:false} })) {
  const t = Date.now(); const r = explore(v, b); console.log(name, r.states, r.finals, Date.now()-t, 'ms', r.violation ? r.violation.join(' | ') : 'OK');
}
