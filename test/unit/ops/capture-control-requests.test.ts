// The control-socket requests of live capture (protocol.ts) and of a replay
// (replay-protocol.ts): well-formed ones parse to typed requests, anything else is a
// CTL_E_REQUEST whose message names the field and what it takes.

import { strict as assert } from 'node:assert';
import { parseRequest } from '../../../backend/control/protocol';
import { parseReplayRequest } from '../../../backend/control/replay-protocol';
import { isXenvfbError } from '../../../shared/errors';

function rejects(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => isXenvfbError(e, 'CTL_E_REQUEST') && re.test(e.message));
}

describe('control requests: capture-start/stop/status and replay ops', () => {
  it('capture-start takes an absolute path and optional whole-number limits', () => {
    assert.deepEqual(parseRequest('{"id":3,"op":"capture-start","path":"/tmp/a.xvc","maxBytes":1000,"maxMs":5000}'), {
      id: 3,
      op: 'capture-start',
      path: '/tmp/a.xvc',
      maxBytes: 1000,
      maxMs: 5000,
    });
    assert.deepEqual(parseRequest('{"op":"capture-stop"}'), { id: null, op: 'capture-stop' });
    assert.deepEqual(parseRequest('{"op":"capture-stop","path":"/x"}'), { id: null, op: 'capture-stop', path: '/x' });
    assert.deepEqual(parseRequest('{"op":"capture-status"}'), { id: null, op: 'capture-status' });
    rejects(() => parseRequest('{"op":"capture-start"}'), /needs "path"/);
    rejects(() => parseRequest('{"op":"capture-start","path":"rel.xvc"}'), /absolute/);
    rejects(() => parseRequest('{"op":"capture-start","path":"/a\\u0000b"}'), /absolute file name/);
    rejects(() => parseRequest('{"op":"capture-start","path":"/a","maxBytes":-1}'), /"maxBytes" must be a whole number/);
    rejects(() => parseRequest('{"op":"capture-start","path":"/a","maxMs":1.5}'), /"maxMs" must be a whole number/);
    rejects(() => parseRequest('{"op":"capture-start","path":"/a","maxMs":"10"}'), /"maxMs"/);
  });

  it('replay ops: seek ms, speed x in range, resume is play, unknown ops listed', () => {
    assert.deepEqual(parseReplayRequest('{"id":1,"op":"seek","ms":1500.4}', 1000), { id: 1, op: 'seek', ms: 1500 });
    assert.deepEqual(parseReplayRequest('{"op":"speed","x":0.25}', 1000), { id: null, op: 'speed', x: 0.25 });
    assert.deepEqual(parseReplayRequest('{"op":"resume"}', 1000), { id: null, op: 'play' });
    assert.deepEqual(parseReplayRequest('{"op":"pause"}', 1000), { id: null, op: 'pause' });
    rejects(() => parseReplayRequest('{"op":"seek"}', 1000), /seek needs "ms"/);
    rejects(() => parseReplayRequest('{"op":"seek","ms":-5}', 1000), /seek needs "ms"/);
    rejects(() => parseReplayRequest('{"op":"speed","x":0}', 1000), /speed needs "x".*0\.001 to 1000/);
    rejects(() => parseReplayRequest('{"op":"speed","x":1e9}', 1000), /speed needs "x"/);
    rejects(() => parseReplayRequest('{"op":"capture-start"}', 1000), /unknown op "capture-start" \(a replay takes status, pause/);
    rejects(() => parseReplayRequest('[1]', 1000), /not a JSON object/);
    rejects(() => parseReplayRequest('nope', 1000), /not JSON/);
  });
});
