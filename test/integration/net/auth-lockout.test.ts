// Issue 15 item 4, against a real VncServer with VNC authentication:
// (a) the bypass: 60 connections opened to the challenge, 59 answered wrong and the 60th
//     right, used to be accepted (the gate was looked at only before the challenge). Now at
//     most AUTH_MAX_PENDING_PER_HOST challenges are out per address and the gate is consulted
//     when each response is judged: responses are judged one at a time, each later than the last.
// (b) the lockout: after failures from 127.0.0.1 the owner was refused for 60 s. Now the
//     owner is only slowed: the right password is accepted after the current delay.

import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { vncAuthResponse } from '../../../backend/vnc/security/vnc-auth';
import { VncServer } from '../../../backend/vnc/server';
import { patternSurface, RecordingInput, TestDisplay } from '../../unit/vnc/helpers';
import { sleep } from './attack-helpers';

const PASSWORD = 'owner-pw';
const BASE_MS = 40;
const MAX_MS = 320;

type Outcome = 'ok' | 'failed' | 'busy' | 'refused';

interface Attempt {
  /** Resolves once the challenge came (or the connection was refused before one). */
  challenged: Promise<boolean>;
  /** Send the response; resolves with the verdict and how long it took. */
  answer(password: string): Promise<{ outcome: Outcome; ms: number }>;
}

/** RFB 3.8, security type VncAuth (2), up to the challenge. */
function attempt(port: number): Attempt {
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => undefined);
  let buf = Buffer.alloc(0);
  let wake: () => void = () => undefined;
  let closed = false;
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake();
  });
  sock.on('close', () => {
    closed = true;
    wake();
  });
  const until = async (n: number): Promise<boolean> => {
    while (buf.length < n && !closed) await new Promise<void>((r) => (wake = r));
    return buf.length >= n;
  };
  sock.once('connect', () => sock.write(Buffer.from('RFB 003.008\n\x02', 'latin1')));
  // version 12 | n=1 | type 2 | challenge 16, or SecurityResult 1 + reason
  const challenged = (async () => (await until(12 + 2 + 4)) && buf.readUInt32BE(14) !== 1)();
  return {
    challenged,
    answer: async (password) => {
      const t0 = performance.now();
      sock.write(vncAuthResponse(Buffer.from(password), buf.subarray(14, 30)));
      const ok = await until(30 + 4);
      const ms = performance.now() - t0;
      sock.destroy();
      if (!ok) return { outcome: 'refused', ms };
      return { outcome: buf.readUInt32BE(30) === 0 ? 'ok' : 'failed', ms };
    },
  };
}

describe('net: VNC-auth throttle (issue 15 item 4)', function () {
  this.timeout(30000);
  let server: VncServer;
  let port: number;

  beforeEach(async () => {
    server = new VncServer({
      display: new TestDisplay(patternSurface(64, 32)),
      input: new RecordingInput(),
      encode: 'sync',
      websocket: false,
      security: { password: PASSWORD, types: ['vnc'] },
      limits: { maxConnectionsPerAddress: 100, auth: { baseDelayMs: BASE_MS, maxDelayMs: MAX_MS } },
    });
    port = (await server.listen('127.0.0.1', 0)).port;
  });
  afterEach(() => server.close());

  it('60 connections to the challenge, 59 wrong answers then a right one: not accepted under one count', async () => {
    const attempts = Array.from({ length: 60 }, () => attempt(port));
    const got = await Promise.all(attempts.map((a) => a.challenged));
    const challenged = attempts.filter((_, i) => got[i]);
    const limit = server.limits.auth.maxPendingPerHost;
    const t0 = performance.now();
    const wrong = await Promise.all(challenged.slice(0, -1).map((a) => a.answer('guess')));
    const last = await challenged[challenged.length - 1]!.answer(PASSWORD);
    const total = performance.now() - t0;
    const times = wrong.map((w) => Math.round(w.ms)).sort((a, b) => a - b);
    console.log(
      `      ${challenged.length} of 60 got a challenge (limit ${limit}), ${60 - challenged.length} refused as busy; ` +
        `wrong answers judged after ${times.join('/')} ms; the right one after ${Math.round(last.ms)} ms (${last.outcome}); ${Math.round(total)} ms in all`,
    );
    assert.ok(challenged.length <= limit, `${challenged.length} challenges out at once`);
    assert.ok(
      wrong.every((w) => w.outcome === 'failed'),
      'every wrong answer failed',
    );
    // The right password is still accepted (never denied), but only after the delay its address earned.
    assert.equal(last.outcome, 'ok');
    const freeFailures = server.limits.auth.freeFailures;
    if (wrong.length >= freeFailures) assert.ok(last.ms >= BASE_MS * 0.9, `judged after ${last.ms} ms`);
  });

  it('after 20 failures from 127.0.0.1 the owner is slowed (at most the max delay), never refused', async () => {
    for (let i = 0; i < 20; i++) {
      const a = attempt(port);
      assert.ok(await a.challenged, `attempt ${i} got a challenge (no ban)`);
      assert.equal((await a.answer('guess')).outcome, 'failed');
    }
    const owner = attempt(port);
    assert.ok(await owner.challenged);
    const verdict = await owner.answer(PASSWORD);
    console.log(`      owner after 20 failures: ${verdict.outcome} after ${Math.round(verdict.ms)} ms (max delay ${MAX_MS} ms)`);
    assert.equal(verdict.outcome, 'ok');
    assert.ok(verdict.ms >= MAX_MS * 0.9 && verdict.ms < MAX_MS * 3, `${verdict.ms} ms`);
    // The success cleared the address: the next owner login is judged at once.
    await sleep(10);
    const again = attempt(port);
    assert.ok(await again.challenged);
    const quick = await again.answer(PASSWORD);
    assert.equal(quick.outcome, 'ok');
    assert.ok(quick.ms < MAX_MS, `${quick.ms} ms`);
  });
});
