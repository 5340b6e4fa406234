// SessionOutput (backend/net/session-output.ts): the one output path of a session.

import { strict as assert } from 'node:assert';
import { OUTPUT_ENTRY_OVERHEAD, SessionOutput } from '../../../backend/net/session-output';

function rig(maxHeld = 1000): { out: SessionOutput; writes: Buffer[]; full: { v: boolean }; overflows: number[] } {
  const writes: Buffer[] = [];
  const full = { v: false };
  const overflows: number[] = [];
  const out = new SessionOutput({
    write: (b) => writes.push(Buffer.from(b)),
    full: () => full.v,
    overflow: (n) => overflows.push(n),
    maxHeld,
  });
  return { out, writes, full, overflows };
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('net/session-output', () => {
  it('writes at once when free; corked writes leave as one write in order', () => {
    const r = rig();
    r.out.send(b('a'));
    r.out.cork();
    r.out.send(b('b'));
    r.out.send(b('c'));
    assert.equal(r.writes.length, 1);
    r.out.uncork();
    assert.deepEqual(r.writes.map(String), ['a', 'bc']);
    assert.equal(r.out.bytesOut, 3);
  });

  it('a keyed reply replaces the queued one with the same key; others stay in order', () => {
    const r = rig();
    r.out.cork();
    r.out.send(b('1'), 'ack');
    r.out.send(b('x'));
    r.out.send(b('2'), 'ack');
    r.out.send(b('y'), 'other');
    r.out.uncork();
    assert.deepEqual(r.writes.map(String), ['x2y']);
    assert.equal(r.out.coalesced, 1);
  });

  it('while the transport is full, replies wait; drained() sends them', () => {
    const r = rig();
    r.full.v = true;
    r.out.send(b('p'));
    assert.equal(r.writes.length, 0);
    assert.equal(r.out.blocked, true);
    r.full.v = false;
    r.out.drained();
    assert.deepEqual(r.writes.map(String), ['p']);
  });

  it('held output past the bound (bytes plus per-entry overhead) is an overflow, reported once; nothing more is written', () => {
    const r = rig(10 * (4 + OUTPUT_ENTRY_OVERHEAD));
    r.full.v = true;
    for (let i = 0; i < 10; i++) r.out.send(b('fenc'));
    assert.equal(r.overflows.length, 0, 'at the bound: still held');
    r.out.send(b('fenc'));
    assert.equal(r.overflows.length, 1, 'one past the bound');
    r.out.send(b('more'));
    r.full.v = false;
    r.out.drained();
    assert.equal(r.overflows.length, 1);
    assert.equal(r.writes.length, 0);
  });

  it('a keyed flood while full never overflows: only the latest is held', () => {
    const r = rig(200);
    r.full.v = true;
    for (let i = 0; i < 100_000; i++) r.out.send(b(`ack${i % 10}`), 'ack');
    assert.equal(r.overflows.length, 0);
    assert.equal(r.out.pendingBytes, 4 + OUTPUT_ENTRY_OVERHEAD);
    r.full.v = false;
    r.out.drained();
    assert.deepEqual(r.writes.map(String), ['ack9']);
  });

  it('hold(): earlier output goes first, output during the frame goes after it', () => {
    const r = rig();
    r.out.cork();
    r.out.send(b('before'));
    r.out.hold();
    r.out.send(b('during'));
    r.out.uncork();
    assert.deepEqual(r.writes.map(String), ['before']);
    r.out.frameDone(b('FRAME'));
    assert.deepEqual(r.writes.map(String), ['before', 'FRAMEduring']);
  });

  it('framePart(): the leading parts of a frame go out at once, ahead of what waits for the frame, then its rest', () => {
    const r = rig();
    r.out.send(b('before'));
    r.out.hold();
    r.out.send(b('reply'));
    r.out.framePart(b('F1'));
    r.out.framePart(new Uint8Array(0));
    r.out.framePart(b('F2'));
    assert.deepEqual(r.writes.map(String), ['before', 'F1', 'F2']);
    r.out.frameDone(b('F3'));
    assert.deepEqual(r.writes.map(String), ['before', 'F1', 'F2', 'F3reply']);
    assert.equal(r.out.bytesOut, 6 + 2 + 2 + 7);
  });

  it('release: bytes written alone hand their release to the transport; joined, coalesced or dropped bytes are released at once', () => {
    const released: string[] = [];
    const transport: Array<[string, (() => void) | undefined]> = [];
    const full = { v: false };
    const out = new SessionOutput({
      write: (bytes, release) => transport.push([String(Buffer.from(bytes)), release]),
      full: () => full.v,
      overflow: () => undefined,
      maxHeld: 100,
    });
    const rel = (name: string) => () => released.push(name);
    // Alone: the transport holds the bytes, so it gets the release and nothing is released yet.
    out.send(b('A'), undefined, rel('A'));
    assert.deepEqual(released, []);
    assert.equal(transport[0]![0], 'A');
    transport[0]![1]!();
    assert.deepEqual(released, ['A']);
    // Joined into one write: a copy was made, so each is released before the write.
    out.cork();
    out.send(b('B'), undefined, rel('B'));
    out.send(b('C'), undefined, rel('C'));
    out.uncork();
    assert.equal(transport[1]![0], 'BC');
    assert.equal(transport[1]![1], undefined);
    assert.deepEqual(released, ['A', 'B', 'C']);
    // Replaced by a newer reply with its key, and dropped on overflow: released, never written.
    full.v = true;
    out.send(b('k1'), 'k', rel('k1'));
    out.send(b('k2'), 'k', rel('k2'));
    assert.deepEqual(released.slice(3), ['k1']);
    out.send(Buffer.alloc(200), undefined, rel('big'));
    assert.deepEqual(released.slice(3), ['k1', 'k2', 'big']);
    out.send(b('late'), undefined, rel('late'));
    out.frameDone(b('frame'), rel('frame'));
    assert.deepEqual(released.slice(3), ['k1', 'k2', 'big', 'late', 'frame']);
    assert.equal(transport.length, 2);
  });

  it('finish() writes what is queued even while corked or full', () => {
    const r = rig();
    r.out.cork();
    r.full.v = true;
    r.out.send(b('bye'));
    r.out.finish();
    assert.deepEqual(r.writes.map(String), ['bye']);
  });
});
