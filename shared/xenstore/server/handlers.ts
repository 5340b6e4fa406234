// One pure handler per xenstore request type (xs_wire.h `enum xsd_sockmsg_type`), each
// starting with its wire layout. Handlers return the reply payload or throw failWith();
// the watch events they fire go to `out`. Node operations live in operations.ts.

import { type XsMessage, parseExactStrings, parseTerminatedStrings, stringsPayload, XsType } from '../wire';
import type { Delivery, HandlerHost } from './handler-host';
import type { XsServerConnection } from './connection';
import { runControl } from './control';
import { failWith } from './fail';
import * as ops from './operations';
import { OK, type OpContext } from './operations';
import { Transaction } from './transactions';

export type Handler = (engine: HandlerHost, conn: XsServerConnection, msg: XsMessage, out: Delivery[]) => Buffer;

const DOMID_MAX = 0x7fef; // DOMID_FIRST_RESERVED - 1 (xen/include/public/xen.h)

function parseDomid(s: string | undefined): number {
  if (s === undefined || !/^[0-9]{1,5}$/.test(s) || Number(s) > DOMID_MAX) throw failWith('EINVAL', `bad domid ${s}`);
  return Number(s);
}

function requirePrivileged(conn: XsServerConnection): void {
  if (!conn.identity.privileged) throw failWith('EACCES', 'privileged operation');
}

const nodeOp =
  (op: (ctx: OpContext, payload: Buffer) => Buffer): Handler =>
  (engine, conn, msg, out) => {
    const ctx = engine.context(conn, msg.txId);
    const reply = op(ctx, msg.payload);
    if (!ctx.tx) engine.fire(ctx.events, out); // in a transaction they wait for commit
    return reply;
  };

// path \0 token \0 [depth \0]  ->  OK, then one immediate WATCH_EVENT
const onWatch: Handler = (engine, conn, msg, out) => {
  const args = parseTerminatedStrings(msg.payload);
  if (args.length < 2 || args.length > 3) throw failWith('EINVAL', 'WATCH needs path and token');
  const [rawPath, token, rawDepth] = args as [string, string, string | undefined];
  const path = engine.canonical(conn, rawPath, true);
  if (rawDepth !== undefined && !/^[0-9]{1,4}$/.test(rawDepth)) throw failWith('EINVAL', 'bad depth');
  if (conn.watches.has(path, token)) throw failWith('EEXIST', 'duplicate watch');
  // Counted per domain: more connections buy no more watches.
  if (conn.account && conn.account.watches >= engine.quotas.get('watches')) throw failWith('E2BIG', 'watches quota');
  const relative = !rawPath.startsWith('/') && !rawPath.startsWith('@');
  conn.addWatch({
    path,
    token,
    ...(relative ? { relativeTo: `/local/domain/${conn.identity.domid}` } : {}),
    ...(rawDepth !== undefined ? { depth: Number(rawDepth) } : {}),
  });
  // C fires it up front, not linked to the request (send_event(NULL, ...)).
  out.push({ kind: 'event', conn, path: rawPath, token, afterReply: true });
  return OK;
};

// path \0 token \0  ->  OK
const onUnwatch: Handler = (engine, conn, msg) => {
  const [rawPath, token] = parseExactStrings(msg.payload, 2) as [string, string];
  if (!conn.removeWatch(engine.canonical(conn, rawPath, true), token)) throw failWith('ENOENT', 'no such watch');
  return OK;
};

// \0  ->  OK
const onResetWatches: Handler = (_engine, conn) => {
  conn.clearWatches();
  conn.clearTransactions();
  return OK;
};

// \0 (tx_id 0)  ->  <decimal id> \0
const onTransactionStart: Handler = (engine, conn, msg) => {
  if (msg.txId !== 0) throw failWith('EBUSY', 'nested transaction');
  if (conn.account && conn.account.transactions >= engine.quotas.get('transactions')) throw failWith('ENOSPC', 'transactions quota');
  const limit = conn.account ? engine.quotas.get('transaction-nodes') : undefined;
  const tx = new Transaction(engine.newTransactionId(), engine.store, limit);
  conn.addTransaction(tx);
  return stringsPayload(String(tx.id));
};

// T \0 commit | F \0 abort  ->  OK, or EAGAIN (conflict), ENOSPC (nodes quota), ENOMEM (failed)
const onTransactionEnd: Handler = (engine, conn, msg, out) => {
  const [flag] = parseExactStrings(msg.payload, 1);
  if (flag !== 'T' && flag !== 'F') throw failWith('EINVAL', 'TRANSACTION_END needs T or F');
  const tx = conn.takeTransaction(msg.txId);
  if (!tx) throw failWith('ENOENT', `no transaction ${msg.txId}`);
  if (flag === 'F') return OK;
  // C do_transaction_end: a transaction that failed inside (e.g. hit transaction-nodes)
  // cannot commit; then the nodes quota of every domain it changed is checked against the
  // store as it is now, so concurrent transactions cannot each fill the quota.
  if (tx.failed) throw failWith('ENOMEM', 'transaction failed earlier');
  if (conn.account && tx.nodeCreated && tx.exceedsNodeQuota(engine.quotas.get('nodes'))) throw failWith('ENOSPC', 'nodes quota');
  if (tx.conflicts().length > 0) throw failWith('EAGAIN', 'transaction conflict');
  tx.apply();
  engine.fire(tx.commitEvents(), out);
  return OK;
};

// domid \0  ->  /local/domain/<domid> \0
const onGetDomainPath: Handler = (_e, _c, msg) => stringsPayload(`/local/domain/${parseDomid(parseExactStrings(msg.payload, 1)[0])}`);

// domid \0  ->  T \0 | F \0
const onIsIntroduced: Handler = (engine, _c, msg) =>
  stringsPayload(engine.isDomainIntroduced(parseDomid(parseExactStrings(msg.payload, 1)[0])) ? 'T' : 'F');

// domid \0 gfn \0 evtchn \0  ->  OK, fires @introduceDomain
const onIntroduce: Handler = (engine, conn, msg, out) => {
  requirePrivileged(conn);
  const args = parseTerminatedStrings(msg.payload);
  if (args.length < 3) throw failWith('EINVAL', 'INTRODUCE needs domid, gfn, evtchn');
  out.push(...engine.introduce(parseDomid(args[0])));
  return OK;
};

// domid \0  ->  OK, fires @releaseDomain and drops the domain's connections
const onRelease: Handler = (engine, conn, msg, out) => {
  requirePrivileged(conn);
  const domid = parseDomid(parseExactStrings(msg.payload, 1)[0]);
  if (domid === 0) throw failWith('EINVAL', 'cannot release dom0');
  out.push(...engine.release(domid));
  return OK;
};

// domid \0  ->  OK (clears a suspended domain's shutdown state; nothing to clear here)
const onResume: Handler = (engine, conn, msg) => {
  requirePrivileged(conn);
  const domid = parseDomid(parseExactStrings(msg.payload, 1)[0]);
  if (domid === 0) throw failWith('EINVAL', 'dom0 has no ring connection to resume'); // as C 4.17
  if (!engine.isDomainIntroduced(domid)) throw failWith('ENOENT', 'not introduced');
  return OK;
};

// domid \0 target-domid \0  ->  OK
const onSetTarget: Handler = (engine, conn, msg) => {
  requirePrivileged(conn);
  const [rawDomid, rawTarget] = parseExactStrings(msg.payload, 2);
  const domid = parseDomid(rawDomid);
  const target = parseDomid(rawTarget);
  if (!engine.isDomainIntroduced(domid)) throw failWith('ENOENT', `domain ${domid} not introduced`);
  if (!engine.isDomainIntroduced(target)) throw failWith('ENOENT', `target ${target} not introduced`);
  engine.setTarget(domid, target);
  return OK;
};

// cmd \0 [arg \0]...  ->  OK or text \0 (control.ts)
const onControl: Handler = (engine, conn, msg) => {
  requirePrivileged(conn);
  const [cmd, ...args] = parseTerminatedStrings(msg.payload);
  return runControl(engine, cmd, args);
};

export const HANDLERS: Partial<Record<number, Handler>> = {
  [XsType.XS_CONTROL]: onControl,
  [XsType.XS_DIRECTORY]: nodeOp(ops.opDirectory),
  [XsType.XS_READ]: nodeOp(ops.opRead),
  [XsType.XS_GET_PERMS]: nodeOp(ops.opGetPerms),
  [XsType.XS_WATCH]: onWatch,
  [XsType.XS_UNWATCH]: onUnwatch,
  [XsType.XS_TRANSACTION_START]: onTransactionStart,
  [XsType.XS_TRANSACTION_END]: onTransactionEnd,
  [XsType.XS_INTRODUCE]: onIntroduce,
  [XsType.XS_RELEASE]: onRelease,
  [XsType.XS_GET_DOMAIN_PATH]: onGetDomainPath,
  [XsType.XS_WRITE]: nodeOp(ops.opWrite),
  [XsType.XS_MKDIR]: nodeOp(ops.opMkdir),
  [XsType.XS_RM]: nodeOp(ops.opRm),
  [XsType.XS_SET_PERMS]: nodeOp(ops.opSetPerms),
  [XsType.XS_IS_DOMAIN_INTRODUCED]: onIsIntroduced,
  [XsType.XS_RESUME]: onResume,
  [XsType.XS_SET_TARGET]: onSetTarget,
  [XsType.XS_RESET_WATCHES]: onResetWatches,
  [XsType.XS_DIRECTORY_PART]: nodeOp(ops.opDirectoryPart),
};
