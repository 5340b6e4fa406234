// Fixed sequences around watches and malformed payloads for the differential test (issue
// 15): re-watching, one path with several tokens, removal of watched subtrees, watches
// and transactions, depth, the special watches, and payloads of the wrong shape. Each
// sequence works under its own top node so a difference stays local to it.

import { XsType, stringsPayload, writePayload } from '../../shared/xenstore/wire';
import type { Step } from './differential-script';

const s = (...strings: string[]): Buffer => stringsPayload(...strings);
const raw = (text: string): Buffer => Buffer.from(text, 'latin1');

class Steps {
  readonly list: Step[] = [];
  private nextSlot = 1000;

  add(conn: number, type: number, payload: Buffer, label: string, extra: Partial<Step> = {}): this {
    this.list.push({ conn, type, payload, label, ...extra });
    return this;
  }
  write = (conn: number, path: string, value: string, txSlot?: number): this =>
    this.add(conn, XsType.XS_WRITE, writePayload(path, value), `write ${path}`, txSlot !== undefined ? { txSlot } : {});
  read = (conn: number, path: string, txSlot?: number): this =>
    this.add(conn, XsType.XS_READ, s(path), `read ${path}`, txSlot !== undefined ? { txSlot } : {});
  rm = (conn: number, path: string, txSlot?: number): this =>
    this.add(conn, XsType.XS_RM, s(path), `rm ${path}`, txSlot !== undefined ? { txSlot } : {});
  mkdir = (conn: number, path: string, txSlot?: number): this =>
    this.add(conn, XsType.XS_MKDIR, s(path), `mkdir ${path}`, txSlot !== undefined ? { txSlot } : {});
  watch = (conn: number, path: string, token: string): this => this.add(conn, XsType.XS_WATCH, s(path, token), `watch ${path} ${token}`);
  unwatch = (conn: number, path: string, token: string): this =>
    this.add(conn, XsType.XS_UNWATCH, s(path, token), `unwatch ${path} ${token}`);
  /** Starts a transaction on `conn`; returns its slot. */
  start(conn: number): number {
    const slot = this.nextSlot++;
    this.add(conn, XsType.XS_TRANSACTION_START, s(''), `start tx${slot}`, { startsSlot: slot });
    return slot;
  }
  end = (conn: number, slot: number, commit = true): this =>
    this.add(conn, XsType.XS_TRANSACTION_END, s(commit ? 'T' : 'F'), `${commit ? 'commit' : 'abort'} tx${slot}`, { txSlot: slot });
}

const A = 0;
const B = 1;
const C = 2;

/** Issue 15 item 9a, step by step (every step drained) and pipelined on one connection. */
function rewatch(t: Steps): void {
  t.write(A, '/rw/w', 'x').watch(A, '/rw/w', 'tok1').watch(A, '/rw/w', 'tok1').watch(A, '/rw/w', 'tok2').rm(B, '/rw/w');
  t.write(A, '/rw/p', 'x').watch(A, '/rw/p', 'tok1').watch(A, '/rw/p', 'tok1');
  t.add(A, XsType.XS_WATCH, s('/rw/p', 'tok2'), 'watch /rw/p tok2 + rm /rw/p in one write', {
    pipelined: [{ type: XsType.XS_RM, payload: s('/rw/p') }],
  });
  // Two writes in one go: the second event is identical to the first, still queued.
  t.watch(A, '/rw/q', 'q');
  t.add(A, XsType.XS_WRITE, writePayload('/rw/q/y', '1'), 'write /rw/q/y twice in one write', {
    pipelined: [{ type: XsType.XS_WRITE, payload: writePayload('/rw/q/y', '2') }],
  });
  t.add(A, XsType.XS_WRITE, writePayload('/rw/q/y', '3'), 'write /rw/q/y and /rw/q/z in one write', {
    pipelined: [{ type: XsType.XS_WRITE, payload: writePayload('/rw/q/z', '4') }],
  });
  // Unwatch and watch again: one registration event each time, no stale events.
  t.unwatch(A, '/rw/q', 'q').watch(A, '/rw/q', 'q').write(B, '/rw/q/y', '5');
}

function tokens(t: Steps): void {
  t.mkdir(C, '/tk').watch(A, '/tk', 'one').watch(A, '/tk', 'two').watch(B, '/tk', 'one').watch(A, '/tk/a', 'one');
  t.write(C, '/tk/a', 'v').write(C, '/tk/b', 'v');
  t.unwatch(A, '/tk', 'one').write(C, '/tk/a', 'w').unwatch(A, '/tk', 'one').unwatch(B, '/tk', 'two');
  t.add(A, XsType.XS_RESET_WATCHES, s(''), 'reset watches').write(C, '/tk/a', 'x');
}

function subtrees(t: Steps): void {
  t.write(C, '/st/a/b/c/d', 'v').write(C, '/st/a/x', 'v');
  t.watch(A, '/st', 'top').watch(B, '/st/a/b/c', 'mid').watch(B, '/st/a/b/c/d', 'leaf').watch(C, '/st/a/x/none', 'below');
  t.watch(A, '/st/other', 'other');
  t.rm(C, '/st/a/b').rm(C, '/st/a').rm(C, '/st/a').rm(C, '/st/zz/yy');
  t.write(C, '/st/a/b/c/d', 'again').rm(B, '/st');
}

function transactions(t: Steps): void {
  t.mkdir(C, '/tx').write(C, '/tx/b', 'v').watch(A, '/tx', 'w').watch(B, '/tx/c', 'c');
  const t1 = t.start(B);
  t.read(B, '/tx/b', t1).write(B, '/tx/a', '1', t1).write(B, '/tx/a', '2', t1).read(B, '/tx/missing', t1);
  t.write(B, '/tx/c', '1', t1).write(B, '/tx/b', '2', t1).rm(B, '/tx/c', t1).mkdir(B, '/tx/d/e', t1);
  t.end(B, t1);
  const t2 = t.start(B);
  t.write(B, '/tx/a', 'aborted', t2).end(B, t2, false);
  const t3 = t.start(C);
  t.rm(C, '/tx/d', t3).write(C, '/tx/d', 'back', t3).end(C, t3);
  // A WATCH sent with a transaction id (C looks the transaction up first).
  const t4 = t.start(A);
  t.add(A, XsType.XS_WATCH, s('/tx/a', 'in-tx'), 'watch /tx/a with a tx id', { txSlot: t4 });
  t.write(A, '/tx/a', 'tx-write', t4).end(A, t4);
  t.add(A, XsType.XS_WATCH, s('/tx/a', 'bad-tx'), 'watch with an unknown tx id', { rawTxId: 77777 });
  // A conflicting transaction fires nothing.
  const t5 = t.start(B);
  t.read(B, '/tx/a', t5).write(B, '/tx/e', '1', t5).write(C, '/tx/a', 'conflict').end(B, t5);
}

function depthAndSpecial(t: Steps): void {
  t.write(C, '/dp/a/b', 'v');
  t.add(A, XsType.XS_WATCH, s('/dp', 'd1', '1'), 'watch /dp with depth 1 (C 4.17 has no WATCHDEPTH)');
  t.write(C, '/dp/a/b/c', 'v');
  t.watch(A, '@introduceDomain', 'intro').watch(A, '@releaseDomain', 'rel').watch(B, '@releaseDomain', 'rel');
  t.watch(A, '@introduceDomain', 'intro').watch(B, '@bogus', 'b').unwatch(A, '@introduceDomain', 'intro');
  t.add(A, XsType.XS_GET_PERMS, s('@releaseDomain'), 'perms @releaseDomain');
  t.add(A, XsType.XS_SET_PERMS, s('@releaseDomain', 'n0', 'r5'), 'set_perms @releaseDomain');
  t.add(A, XsType.XS_SET_PERMS, s('@bogus', 'n0'), 'set_perms @bogus');
  t.add(A, XsType.XS_READ, s('@releaseDomain'), 'read @releaseDomain');
  t.watch(C, 'rel/path', 'relative').write(C, '/local/domain/0/rel/path', 'v');
  // The special events themselves: INTRODUCE/RELEASE work under the fakexen shim.
  t.add(B, XsType.XS_INTRODUCE, s('5', '0', '1'), 'introduce 5');
  t.add(B, XsType.XS_IS_DOMAIN_INTRODUCED, s('5'), 'is_domain_introduced 5');
  t.add(B, XsType.XS_INTRODUCE, s('5', '0', '1'), 'introduce 5 again');
  t.add(C, XsType.XS_INTRODUCE, s('6', '0', '1'), 'introduce 6');
  t.add(B, XsType.XS_RELEASE, s('5'), 'release 5');
  t.add(B, XsType.XS_RELEASE, s('5'), 'release 5 again');
  t.add(B, XsType.XS_RESUME, s('5'), 'resume released 5');
  t.add(B, XsType.XS_RESUME, s('6'), 'resume 6');
  t.add(B, XsType.XS_RELEASE, s('0'), 'release 0');
  t.add(B, XsType.XS_INTRODUCE, s('7', '0'), 'introduce with two arguments');
}

/** Payloads of the wrong shape; none that C 4.17 crashes on (see docs/xenstore.md). */
function malformed(t: Steps): void {
  const m = (type: number, payload: Buffer, what: string): Steps => t.add(A, type, payload, `malformed: ${what}`);
  m(XsType.XS_WATCH, s('/mf'), 'WATCH with one string');
  m(XsType.XS_WATCH, raw('/mf\0tok'), 'WATCH without the final NUL');
  m(XsType.XS_WATCH, s('/mf', 'tok', '1', 'x'), 'WATCH with four strings');
  m(XsType.XS_WATCH, s('', 'tok'), 'WATCH of an empty path');
  m(XsType.XS_UNWATCH, s('/mf'), 'UNWATCH with one string');
  m(XsType.XS_UNWATCH, s('/mf', 'tok', 'x'), 'UNWATCH with three strings');
  m(XsType.XS_TRANSACTION_END, raw('T'), 'TRANSACTION_END without NUL');
  t.add(A, XsType.XS_TRANSACTION_START, s('junk'), 'malformed: TRANSACTION_START with a payload', { startsSlot: 999 });
  m(XsType.XS_DIRECTORY_PART, s('/'), 'DIRECTORY_PART without offset');
  m(XsType.XS_DIRECTORY_PART, s('/', '0', 'x'), 'DIRECTORY_PART with three strings');
  m(XsType.XS_GET_DOMAIN_PATH, raw('0'), 'GET_DOMAIN_PATH without NUL');
  m(XsType.XS_IS_DOMAIN_INTRODUCED, Buffer.alloc(0), 'IS_DOMAIN_INTRODUCED empty');
  m(XsType.XS_SET_PERMS, Buffer.alloc(0), 'SET_PERMS empty');
  m(XsType.XS_WRITE, Buffer.alloc(0), 'WRITE empty');
  m(XsType.XS_WRITE, raw('/mf\0'), 'WRITE with an empty value');
  m(XsType.XS_GET_PERMS, s('/mf', 'x'), 'GET_PERMS with two strings, after a lookup of a missing node');
  // C reads these paths with onearg(): a bad shape answers the errno the last lookup left.
  t.read(A, '/mf/missing');
  m(XsType.XS_READ, raw('/mf'), 'READ without NUL after ENOENT');
  m(XsType.XS_DIRECTORY, s('/mf', 'x'), 'DIRECTORY with two strings');
  t.read(A, '/mf//bad');
  m(XsType.XS_READ, Buffer.alloc(0), 'READ empty after EINVAL');
  t.read(A, '/mf/missing');
}

export function watchScript(): Step[] {
  const t = new Steps();
  t.add(A, XsType.XS_MKDIR, s('/local'), 'mkdir /local');
  for (const part of [rewatch, tokens, subtrees, transactions, depthAndSpecial, malformed]) part(t);
  return t.list;
}
