// Node operations of the embedded xenstored, each one handler over a NodeView (the main
// store or a transaction). Semantics follow C xenstored (tools/xenstored/core.c).
// Handlers return the reply payload or throw failWith(errno); they never do I/O.

import { xerror } from '../../errors';
import {
  XENSTORE_PAYLOAD_MAX,
  type Perm,
  type XsErrno,
  formatPerms,
  parseExactStrings,
  parsePerms,
  parseStrings,
  parseWritePayload,
  stringsPayload,
} from '../wire';
import { type XsIdentity, accessFor, inheritPerms } from './perms';
import { type NodeView, type XsNode, baseName, childPath, parentOf } from './store';
import type { PendingEvent } from './transactions';

export const OK = stringsPayload('OK');

/** Abort the current request with an XS_ERROR reply carrying `errno`. */
export function failWith(errno: XsErrno, why: string): Error {
  return xerror('XS_E_REPLY', `${errno}: ${why}`, { errno });
}

/** Everything a handler needs: who asks, where nodes live, where events go. */
export interface OpContext {
  who: XsIdentity;
  view: NodeView;
  events: PendingEvent[];
  /** Turns a client path into an absolute one (relative paths, validation). */
  canonical(path: string, allowSpecial?: boolean): string;
}

type Need = 'read' | 'write' | 'owner';

function allowed(ctx: OpContext, perms: readonly Perm[], need: Need): boolean {
  const a = accessFor(ctx.who, perms);
  return need === 'read' ? a.read : need === 'write' ? a.write : a.owner;
}

/** The closest existing ancestor of a missing node (errno_from_parents in core.c). */
function closestExisting(view: NodeView, path: string): [string, XsNode] | undefined {
  for (let p = parentOf(path); p !== undefined; p = parentOf(p)) {
    const n = view.get(p);
    if (n) return [p, n];
  }
  return undefined;
}

/** The node, or ENOENT / EACCES exactly as xenstored chooses between them. */
function lookup(ctx: OpContext, path: string, need: Need): XsNode {
  const node = ctx.view.get(path);
  if (node) {
    if (!allowed(ctx, node.perms, need)) throw failWith('EACCES', path);
    return node;
  }
  const anc = closestExisting(ctx.view, path);
  if (anc && !allowed(ctx, anc[1].perms, need === 'read' ? 'read' : 'write')) throw failWith('EACCES', path);
  throw failWith('ENOENT', path);
}

/** Creates `path` and any missing parents; the caller has checked the existing ancestor. */
function createNode(ctx: OpContext, path: string, value: Buffer): XsNode {
  const parentPath = parentOf(path);
  if (parentPath === undefined) throw failWith('EINVAL', path);
  const parent = ctx.view.get(parentPath) ?? createNode(ctx, parentPath, Buffer.alloc(0));
  const node = { value, perms: inheritPerms(ctx.who, parent.perms), children: [] as string[] };
  ctx.view.put(path, node);
  ctx.view.put(parentPath, { ...parent, children: [...parent.children, baseName(path)] });
  return ctx.view.get(path)!;
}

function canCreate(ctx: OpContext, path: string): void {
  const anc = closestExisting(ctx.view, path);
  if (!anc) throw failWith('ENOENT', path);
  if (!allowed(ctx, anc[1].perms, 'write')) throw failWith('EACCES', path);
}

function onePath(ctx: OpContext, payload: Buffer, allowSpecial = false): string {
  return ctx.canonical(parseExactStrings(payload, 1)[0]!, allowSpecial);
}

// path \0  ->  raw value (no NUL)
export function opRead(ctx: OpContext, payload: Buffer): Buffer {
  return lookup(ctx, onePath(ctx, payload), 'read').value;
}

// path \0 value  ->  OK
export function opWrite(ctx: OpContext, payload: Buffer): Buffer {
  const req = parseWritePayload(payload);
  const path = ctx.canonical(req.path);
  const node = ctx.view.get(path);
  if (node) {
    lookup(ctx, path, 'write');
    ctx.view.put(path, { ...node, value: req.value });
  } else {
    canCreate(ctx, path);
    createNode(ctx, path, req.value);
  }
  ctx.events.push({ path, exact: false, perms: [ctx.view.get(path)!.perms] });
  return OK;
}

// path \0  ->  OK (an existing node is left alone)
export function opMkdir(ctx: OpContext, payload: Buffer): Buffer {
  const path = onePath(ctx, payload);
  if (ctx.view.get(path)) {
    lookup(ctx, path, 'write');
    return OK;
  }
  canCreate(ctx, path);
  const node = createNode(ctx, path, Buffer.alloc(0));
  ctx.events.push({ path, exact: false, perms: [node.perms] });
  return OK;
}

function removeTree(ctx: OpContext, path: string, node: XsNode): void {
  for (const name of node.children) {
    const child = childPath(path, name);
    const c = ctx.view.get(child);
    if (!c) continue;
    removeTree(ctx, child, c);
    ctx.events.push({ path: child, exact: true, perms: [c.perms] });
  }
  ctx.view.delete(path);
}

// path \0  ->  OK (recursive; ENOENT only when the parent is missing too)
export function opRm(ctx: OpContext, payload: Buffer): Buffer {
  const path = onePath(ctx, payload);
  if (path === '/') throw failWith('EINVAL', 'cannot remove /');
  const parentPath = parentOf(path)!;
  const parent = ctx.view.get(parentPath);
  const node = ctx.view.get(path);
  if (!node) {
    const anc = closestExisting(ctx.view, path);
    if (anc && !allowed(ctx, anc[1].perms, 'write')) throw failWith('EACCES', path);
    if (parent) return OK;
    throw failWith('ENOENT', path);
  }
  lookup(ctx, path, 'write');
  removeTree(ctx, path, node);
  if (parent) ctx.view.put(parentPath, { ...parent, children: parent.children.filter((n) => n !== baseName(path)) });
  ctx.events.push({ path, exact: false, perms: [node.perms] });
  return OK;
}

// path \0  ->  name \0 ...
export function opDirectory(ctx: OpContext, payload: Buffer): Buffer {
  const node = lookup(ctx, onePath(ctx, payload), 'read');
  const reply = stringsPayload(...node.children);
  if (reply.length > XENSTORE_PAYLOAD_MAX) throw failWith('E2BIG', 'directory listing too long');
  return reply;
}

// path \0 offset \0  ->  gencnt \0 name \0 ... [\0 when the list is complete]
export function opDirectoryPart(ctx: OpContext, payload: Buffer): Buffer {
  const [rawPath, rawOffset] = parseExactStrings(payload, 2) as [string, string];
  const node = lookup(ctx, ctx.canonical(rawPath), 'read');
  if (!/^[0-9]+$/.test(rawOffset)) throw failWith('EINVAL', 'bad offset');
  const all = stringsPayload(...node.children);
  const offset = Number(rawOffset);
  if (offset > all.length) throw failWith('EINVAL', 'offset past the end');
  const head = stringsPayload(String(node.generation));
  const room = XENSTORE_PAYLOAD_MAX - head.length - 1;
  let end = offset;
  while (end < all.length) {
    const nul = all.indexOf(0, end);
    if (nul + 1 - offset > room) break;
    end = nul + 1;
  }
  const done = end === all.length;
  return Buffer.concat([head, all.subarray(offset, end), done ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

// path \0  ->  perm \0 ...
export function opGetPerms(ctx: OpContext, payload: Buffer): Buffer {
  const node = lookup(ctx, onePath(ctx, payload, true), 'read');
  return stringsPayload(...formatPerms(node.perms));
}

// path \0 perm \0 perm \0 ...  ->  OK
export function opSetPerms(ctx: OpContext, payload: Buffer): Buffer {
  const [rawPath, ...rawPerms] = parseStrings(payload);
  if (rawPath === undefined || rawPerms.length === 0) throw failWith('EINVAL', 'SET_PERMS needs a path and perms');
  const path = ctx.canonical(rawPath, true);
  const perms = parsePerms(rawPerms);
  const node = lookup(ctx, path, 'owner');
  if (!ctx.who.privileged && perms[0]!.domid !== node.perms[0]?.domid) {
    throw failWith('EPERM', 'only privileged domains change the owner');
  }
  ctx.view.put(path, { ...node, perms });
  ctx.events.push({ path, exact: false, perms: [node.perms, perms] });
  return OK;
}
