import { strict as assert } from 'assert';
import { XenbusState, xenbusStateName, parseXenbusState } from '../../../shared/xenbus-state';

describe('shared/xenbus-state', () => {
  it('has the nine values of xenbus.h', () => {
    assert.deepEqual(
      [XenbusState.Unknown, XenbusState.Initialising, XenbusState.InitWait, XenbusState.Initialised, XenbusState.Connected],
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual([XenbusState.Closing, XenbusState.Closed, XenbusState.Reconfiguring, XenbusState.Reconfigured], [5, 6, 7, 8]);
  });

  it('names states for logs', () => {
    assert.equal(xenbusStateName(4), 'Connected');
    assert.equal(xenbusStateName(8), 'Reconfigured');
    assert.equal(xenbusStateName(9), 'Invalid(9)');
    assert.equal(xenbusStateName(-1), 'Invalid(-1)');
  });

  it('parses decimal node text 0..8', () => {
    for (let n = 0; n <= 8; n++) assert.equal(parseXenbusState(String(n)), n);
    assert.equal(parseXenbusState(' 4\n'), XenbusState.Connected);
    assert.equal(parseXenbusState('04'), XenbusState.Connected);
  });

  it('reads missing, out-of-range or garbage text as Unknown', () => {
    for (const s of [undefined, '', '9', '-1', '4x', '0x4', '1e0', '4.0', 'Connected', '99999']) {
      assert.equal(parseXenbusState(s), XenbusState.Unknown, JSON.stringify(s));
    }
  });
});
