// A deterministic script of raw xenstore requests over three dom0 connections (A, B, C),
// built from a seeded PRNG without looking at any reply, so the same script can run
// against two daemons and their transcripts compared message by message.

import { XsType, stringsPayload, writePayload } from '../../shared/xenstore/wire';
import { prng } from '../helpers/prng';

export const CONN_COUNT = 3;

export interface Step {
  conn: number;
  type: number;
  payload: Buffer;
  /** Transaction slot to run in (its id is known only at run time); undefined = none. */
  txSlot?: number;
  /** A literal tx_id to send instead (bad ids). */
  rawTxId?: number;
  /** TRANSACTION_START: the slot whose id the reply defines. */
  startsSlot?: number;
  /** More requests sent in the same write on the same connection (no tx slots). */
  pipelined?: Array<{ type: number; payload: Buffer }>;
  label: string;
}

const NAMES = ['a', 'b', 'c'];
const BASE = '/d';

function allPaths(): string[] {
  const out = [BASE];
  let level = [BASE];
  for (let depth = 0; depth < 3; depth++) {
    level = level.flatMap((p) => NAMES.map((n) => `${p}/${n}`));
    out.push(...level);
  }
  return out;
}

const PATHS = allPaths();
const WATCH_PATHS = [...PATHS.slice(0, 13), '/', '@introduceDomain', '@releaseDomain'];
const BAD_PATHS = ['/d//a', '/d/a/', '/d/a b', '', '/d/\u00e9', 'rel/x', '@bogus'];
const PERM_SETS = [
  ['n0'],
  ['b0'],
  ['r0'],
  ['n0', 'r5'],
  ['w0', 'b7', 'n9'],
  ['b5'],
  ['r5', 'w0'],
  ['n7', 'b7'],
  ['x1'],
  ['r'],
  ['n0', 'q3'],
];
const VALUES = ['', 'v', 'hello world', 'with\nnewline', 'nul\0inside', '\u00e9t\u00e9', 'x'.repeat(300)];

const s = (...strings: string[]): Buffer => stringsPayload(...strings);

/** Fixed opening: limits and error cases that random choice would rarely hit. */
function preamble(): Step[] {
  const steps: Step[] = [];
  const add = (type: number, payload: Buffer, label: string, conn = 0): void => {
    steps.push({ conn, type, payload, label });
  };
  add(XsType.XS_DIRECTORY, s('/'), 'ls / (initial tree)');
  add(XsType.XS_GET_PERMS, s('/'), 'perms /');
  add(XsType.XS_DIRECTORY, s('/tool'), 'ls /tool');
  add(XsType.XS_READ, s('/local'), 'read /local');
  // C xenstored leaves /local to xen-init-dom0; create it so both trees agree from here on.
  add(XsType.XS_MKDIR, s('/local'), 'mkdir /local');
  add(XsType.XS_MKDIR, s('/big'), 'mkdir /big');
  for (let i = 0; i < 120; i++)
    add(XsType.XS_WRITE, writePayload(`/big/${'n'.repeat(30)}${String(i).padStart(4, '0')}`, ''), `write /big child ${i}`);
  add(XsType.XS_DIRECTORY, s('/big'), 'ls /big (listing > 4096 bytes: E2BIG)');
  add(XsType.XS_RM, s('/big'), 'rm /big (recursive)');
  add(XsType.XS_READ, s('/big'), 'read removed /big');
  // Path length: C xenstored 4.17 limits the part after /local/domain/<id>/ (or the whole
  // path elsewhere) to quota_max_path_len = XENSTORE_REL_PATH_MAX (its -M option).
  for (const [prefix, len] of [
    ['/', 2047],
    ['/', 2048],
    ['/', 3071],
    ['/local/domain/7/', 2048],
    ['/local/domain/7/', 2049],
    ['/local/domain/7/', 3040],
  ] as const) {
    const p = `${prefix}${'p'.repeat(len)}`;
    add(XsType.XS_WRITE, writePayload(p, 'x'), `write path of ${p.length} bytes (${prefix} + ${len})`);
    add(XsType.XS_RM, s(p), `rm that path`);
  }
  add(XsType.XS_WRITE, writePayload('/q', 'y'.repeat(2040)), 'write 2040-byte value');
  add(XsType.XS_WRITE, writePayload('/q', 'y'.repeat(4093)), 'write 4093-byte value (payload 4096)');
  add(XsType.XS_READ, s('/q'), 'read back the 4093-byte value');
  add(XsType.XS_RM, s('/q'), 'rm /q');
  add(XsType.XS_RM, s('/nope/deeper'), 'rm with missing parent (ENOENT)');
  add(XsType.XS_RM, s('/nope'), 'rm missing leaf under existing parent (OK)');
  add(XsType.XS_RM, s('/'), 'rm /');
  add(XsType.XS_WRITE, writePayload('/', 'x'), 'write /');
  add(XsType.XS_READ, s('/tool/xenstored'), 'read /tool/xenstored');
  add(XsType.XS_GET_DOMAIN_PATH, s('7'), 'get_domain_path 7');
  add(XsType.XS_GET_DOMAIN_PATH, s('abc'), 'get_domain_path abc');
  add(XsType.XS_IS_DOMAIN_INTRODUCED, s('0'), 'is_domain_introduced 0');
  add(XsType.XS_IS_DOMAIN_INTRODUCED, s('12'), 'is_domain_introduced 12');
  add(20, s('/'), 'type 20 (removed XS_RESTRICT)');
  add(99, s('/'), 'type 99 (unknown)');
  add(XsType.XS_WATCH_EVENT, s('/', 't'), 'WATCH_EVENT sent by a client');
  add(XsType.XS_ERROR, s('EINVAL'), 'ERROR sent by a client');
  add(XsType.XS_WATCH, s('/w', 'tok'), 'watch /w tok', 1);
  add(XsType.XS_WATCH, s('/w', 'tok'), 'duplicate watch (EEXIST)', 1);
  add(XsType.XS_WATCH, s('/w'), 'watch without token', 1);
  add(XsType.XS_UNWATCH, s('/w', 'other'), 'unwatch unknown token (ENOENT)', 1);
  add(XsType.XS_UNWATCH, s('/w', 'tok'), 'unwatch /w tok', 1);
  add(XsType.XS_TRANSACTION_END, s('T'), 'end with tx_id 0');
  steps.push({ conn: 0, type: XsType.XS_READ, payload: s('/'), rawTxId: 4242, label: 'read in unknown transaction 4242' });
  add(XsType.XS_SET_PERMS, s('/tool'), 'set_perms without perms');
  add(XsType.XS_WRITE, Buffer.from('/no-nul'), 'write payload without NUL');
  // Not here: READ of a path without its NUL. C xenstored 4.17 answers it, then dies on an
  // assertion (xenstored_core.c:2118 consider_message: `conn->in == NULL`) a few requests later.
  add(XsType.XS_WRITE, writePayload('/wide', ''), 'write /wide');
  add(XsType.XS_SET_PERMS, s('/wide', 'b70000', 'r65536'), 'set_perms with domids above 65535');
  add(XsType.XS_RM, s('/wide'), 'rm /wide');
  add(XsType.XS_MKDIR, s(BASE), `mkdir ${BASE}`);
  return steps;
}

/** `count` random steps after the preamble. */
export function differentialScript(seed: number, count: number): Step[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const steps = preamble();
  const openSlot: Array<number | undefined> = Array.from({ length: CONN_COUNT }, () => undefined);
  const watches: Array<Array<[string, string]>> = Array.from({ length: CONN_COUNT }, () => []);
  let nextSlot = 1;
  let nextToken = 1;

  for (let i = 0; i < count; i++) {
    const conn = Math.floor(rnd() * CONN_COUNT);
    const slot = openSlot[conn];
    const inTx = slot !== undefined && rnd() < 0.6 ? slot : undefined;
    const path = pick(PATHS);
    const r = rnd();
    const step = (type: number, payload: Buffer, label: string, extra: Partial<Step> = {}): void => {
      steps.push({
        conn,
        type,
        payload,
        label: `${label}${inTx !== undefined && extra.txSlot === undefined ? ` [tx${inTx}]` : ''}`,
        ...(inTx !== undefined ? { txSlot: inTx } : {}),
        ...extra,
      });
    };
    if (r < 0.2) step(XsType.XS_WRITE, writePayload(path, pick(VALUES)), `write ${path}`);
    else if (r < 0.33) step(XsType.XS_READ, s(path), `read ${path}`);
    else if (r < 0.38) step(XsType.XS_MKDIR, s(path), `mkdir ${path}`);
    else if (r < 0.45) step(XsType.XS_RM, s(path), `rm ${path}`);
    else if (r < 0.53) step(XsType.XS_DIRECTORY, s(path), `ls ${path}`);
    else if (r < 0.58) step(XsType.XS_GET_PERMS, s(path), `perms ${path}`);
    else if (r < 0.65) {
      const perms = pick(PERM_SETS);
      step(XsType.XS_SET_PERMS, s(path, ...perms), `set_perms ${path} ${perms.join(',')}`);
    } else if (r < 0.72) {
      const wpath = pick(WATCH_PATHS);
      const token = rnd() < 0.2 && watches[conn]!.length > 0 ? pick(watches[conn]!)[1] : `t${nextToken++}`;
      watches[conn]!.push([wpath, token]);
      steps.push({ conn, type: XsType.XS_WATCH, payload: s(wpath, token), label: `watch ${wpath} ${token}` });
    } else if (r < 0.75) {
      const w =
        watches[conn]!.length > 0 && rnd() < 0.8
          ? watches[conn]!.splice(Math.floor(rnd() * watches[conn]!.length), 1)[0]!
          : ['/d/zz', 'none'];
      steps.push({ conn, type: XsType.XS_UNWATCH, payload: s(w[0], w[1]), label: `unwatch ${w[0]} ${w[1]}` });
    } else if (r < 0.81) {
      if (slot === undefined) {
        openSlot[conn] = nextSlot;
        steps.push({ conn, type: XsType.XS_TRANSACTION_START, payload: s(''), startsSlot: nextSlot, label: `start tx${nextSlot}` });
        nextSlot++;
      } else {
        const commit = rnd() < 0.75;
        openSlot[conn] = undefined;
        steps.push({
          conn,
          type: XsType.XS_TRANSACTION_END,
          payload: s(commit ? 'T' : 'F'),
          txSlot: slot,
          label: `${commit ? 'commit' : 'abort'} tx${slot}`,
        });
      }
    } else if (r < 0.86) {
      const bad = pick(BAD_PATHS);
      const type = pick([XsType.XS_READ, XsType.XS_WRITE, XsType.XS_MKDIR, XsType.XS_RM, XsType.XS_DIRECTORY, XsType.XS_WATCH]);
      const payload = type === XsType.XS_WRITE ? writePayload(bad, 'v') : type === XsType.XS_WATCH ? s(bad, 'bad') : s(bad);
      step(type, payload, `type ${type} on bad path ${JSON.stringify(bad)}`);
    } else if (r < 0.9) {
      // A conflicting writer: another connection writes a node a transaction may have read.
      const other = (conn + 1) % CONN_COUNT;
      steps.push({
        conn: other,
        type: XsType.XS_WRITE,
        payload: writePayload(path, `c${i}`),
        label: `conflicting write ${path} from ${'ABC'[other]}`,
      });
    } else if (r < 0.93) {
      // Ids no daemon hands out here (small ones would hit another connection's
      // transaction on our server, whose ids are global, but not on C's per-connection ids).
      const rawTxId = pick([40000, 0x7fffffff, 0xffffffff]);
      steps.push({ conn, type: XsType.XS_READ, payload: s(path), rawTxId, label: `read ${path} in raw tx ${rawTxId}` });
    } else if (r < 0.96) {
      const domid = pick(['0', '1', '5', '32752', '65535', '-1', '']);
      step(XsType.XS_GET_DOMAIN_PATH, s(domid), `get_domain_path ${domid}`, { txSlot: undefined });
    } else {
      // rm of a subtree with watchers below it fires each watched descendant.
      step(XsType.XS_RM, s(pick(PATHS.slice(0, 4))), `rm subtree`);
    }
  }
  for (let conn = 0; conn < CONN_COUNT; conn++) {
    const slot = openSlot[conn];
    if (slot !== undefined)
      steps.push({ conn, type: XsType.XS_TRANSACTION_END, payload: s('T'), txSlot: slot, label: `final commit tx${slot}` });
  }
  return steps;
}
