// The xenbus lifecycle table over every input: each row is checked against the if-chain it
// replaced (transcribed below as a pure function, the behaviour the integration tests and
// the real-Xen lab were written against), and the rows that matter most by literal actions.

import { strict as assert } from 'node:assert';
import {
  LIFECYCLE_TABLE,
  XENBUS_STATES,
  lifecycleRow,
  type LifecycleAction,
  type LifecycleInput,
} from '../../../backend/devices/xenbus-lifecycle';
import { XenbusState as S, xenbusStateName } from '../../../shared/xenbus-state';

/** The pre-table XenbusBackendDevice.step(), with each side effect recorded instead of run. */
function ifChain(i: LifecycleInput): LifecycleAction[] {
  const out: LifecycleAction[] = [];
  if (i.backend === undefined) return [{ kind: 'remove' }];
  let state = i.backend;
  const fe = i.frontend;
  if (!i.alive) return [{ kind: 'unbind', reason: 'domain released' }, { kind: 'close' }];
  if (!i.online && state !== S.Initialising) return [{ kind: 'unbind', reason: 'toolstack set online=0' }, { kind: 'close' }];
  if (fe === S.Closing || fe === S.Closed) return [{ kind: 'unbind', reason: 'frontend {frontend}' }, { kind: 'mirror' }];
  if (state === S.Closed || state === S.Closing) {
    if (fe === S.Initialising || fe === S.Unknown || fe === S.Initialised) out.push({ kind: 'reset' });
    return out;
  }
  if (state === S.Connected && fe === S.Initialising) {
    out.push({ kind: 'unbind', reason: 'frontend went back to Initialising' }, { kind: 'restart' });
    state = S.Initialising;
  }
  if (state === S.Initialising || state === S.Unknown) {
    if (!i.online) return out;
    out.push({ kind: 'init' });
    state = S.InitWait;
  }
  if (state === S.InitWait) {
    if (fe !== S.Initialised && fe !== S.Connected) return out;
    out.push({ kind: 'connect' });
    state = S.Connected;
  }
  if (state === S.Connected && fe === S.Connected) out.push({ kind: 'attach' });
  return out;
}

function allInputs(): LifecycleInput[] {
  const inputs: LifecycleInput[] = [];
  for (const backend of [undefined, ...XENBUS_STATES]) {
    for (const frontend of XENBUS_STATES) {
      for (const online of [false, true]) {
        for (const alive of [false, true]) inputs.push({ backend, frontend, online, alive });
      }
    }
  }
  return inputs;
}

const show = (i: LifecycleInput): string =>
  `backend ${i.backend === undefined ? 'removed' : xenbusStateName(i.backend)}, frontend ${xenbusStateName(i.frontend)}, ` +
  `online ${i.online}, alive ${i.alive}`;

describe('xenbus backend lifecycle table', () => {
  const inputs = allInputs();

  it('has a row for all 360 inputs (backend removed or 0..8, frontend 0..8, online, alive)', () => {
    assert.equal(inputs.length, 10 * 9 * 2 * 2);
    for (const i of inputs) assert.doesNotThrow(() => lifecycleRow(i), show(i));
  });

  LIFECYCLE_TABLE.forEach((row, n) => {
    it(`row ${n}: ${row.why}`, () => {
      const mine = inputs.filter((i) => lifecycleRow(i) === row);
      assert.ok(mine.length > 0, 'the row is reachable (no earlier row shadows it)');
      for (const i of mine) assert.deepEqual(row.actions, ifChain(i), show(i));
    });
  });

  it('the rows that carry the protocol, by literal actions', () => {
    const actions = (i: LifecycleInput) => lifecycleRow(i).actions.map((a) => a.kind);
    const on = { online: true, alive: true };
    // Linux fbfront probe: Initialising -> InitWait, then Initialised -> Connected.
    assert.deepEqual(actions({ backend: S.Initialising, frontend: S.Initialising, ...on }), ['init']);
    assert.deepEqual(actions({ backend: S.InitWait, frontend: S.Initialised, ...on }), ['connect']);
    assert.deepEqual(actions({ backend: S.Connected, frontend: S.Connected, ...on }), ['attach']);
    // A backend restarted under a running guest binds again in one pass.
    assert.deepEqual(actions({ backend: S.Unknown, frontend: S.Connected, ...on }), ['init', 'connect', 'attach']);
    // libxl teardown answers Closed whatever the frontend does.
    assert.deepEqual(actions({ backend: S.Connected, frontend: S.Connected, online: false, alive: true }), ['unbind', 'close']);
    assert.deepEqual(actions({ backend: S.Closing, frontend: S.Initialising, online: false, alive: true }), ['unbind', 'close']);
    // Not yet online: the toolstack is still writing the device.
    assert.deepEqual(actions({ backend: S.Initialising, frontend: S.Initialised, online: false, alive: true }), []);
    // Reboot / kexec: Closed, then the frontend starts over.
    assert.deepEqual(actions({ backend: S.Closed, frontend: S.Initialising, ...on }), ['reset']);
    assert.deepEqual(actions({ backend: S.Closed, frontend: S.Connected, ...on }), []);
    assert.deepEqual(actions({ backend: S.Connected, frontend: S.Initialising, ...on }), ['unbind', 'restart', 'init']);
    // Domain gone wins over everything but a removed directory.
    assert.deepEqual(actions({ backend: S.Connected, frontend: S.Connected, online: true, alive: false }), ['unbind', 'close']);
    assert.deepEqual(actions({ backend: undefined, frontend: S.Connected, online: false, alive: false }), ['remove']);
  });
});
