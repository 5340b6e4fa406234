// Node operations of the embedded xenstored, each one handler over a NodeView (the main
// store or a transaction). Semantics follow C xenstored (tools/xenstored/core.c).
// Handlers return the reply payload or throw failWith(errno); they never do I/O.

import {
  XENSTORE_PAYLOAD_MAX,
  XS_SPECIAL_PATHS,
  type Perm,
  formatPerms,
  parseExactStrings,
  parsePerms,
  parseTerminatedStrings,
  parseWritePayload,
  stringsPayload,
} from '../wire';
import { failWith } from './fail';
import { type XsIdentity, accessFor, inheritPerms } from './perms';
import type { Quotas } from './quota';
import { type NodeView, type XsNode, baseName, childPath, nodeRecordSize, parentOf } from './store';
import type { PendingEvent } from './transactions';

export const OK = stringsPayload('OK');

export { failWith };

/** Everything a handler needs: who asks, where nodes live, where events go. */
export interface OpContext {
  who: XsIdentity;
  view: NodeView;
  events: PendingEvent[];
  /** Turns a client path into an absolute one (relative paths, validation). */
  canonical(path: string, allowSpecial?: boolean): string;
  quotas: Quotas;
}

/** Quotas bind unprivileged connections only (C: domain_is_unprivileged). */
const limited = (ctx: OpContext): boolean => !ctx.who.privileged;

/** C write_node_raw: a record of node-size bytes or more is refused with ENOSPC. */
function checkNodeSize(ctx: OpContext, node: Omit<XsNode, 'generation'>): void {
  if (limited(ctx) && nodeRecordSize(node) >= ctx.quotas.get('node-size')) throw failWith('ENOSPC', 'node-size quota');
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

/** Access and quota checks before creating `path` (nothing is changed if one fails). */
function canCreate(ctx: OpContext, path: string, value: Buffer): void {
  const anc = closestExisting(ctx.view, path);
  if (!anc) throw failWith('ENOENT', path);
  const [ancPath, ancNode] = anc;
  if (!allowed(ctx, ancNode.perms, 'write')) throw failWith('EACCES', path);
  if (!limited(ctx)) return;
  let created = 0;
  let firstMissing = path;
  for (let p: string | undefined = path; p !== undefined && p !== ancPath; p = parentOf(p)) {
    created++;
    firstMissing = p;
  }
  if (ctx.view.ownedBy(ctx.who.domid) + created > ctx.quotas.get('nodes')) throw failWith('ENOSPC', 'nodes quota');
  checkNodeSize(ctx, { value, perms: inheritPerms(ctx.who, ancNode.perms), children: [] });
  checkNodeSize(ctx, { ...ancNode, children: [...ancNode.children, baseName(firstMissing)] });
}

function onePath(ctx: OpContext, payload: Buffer, allowSpecial = false): string {
  return ctx.canonical(parseExactStrings(payload, 1)[0]!, allowSpecial);
}

// path \0  ->  raw value (no NUL)
export function opRead(ctx: OpContext, payload: Buffer): Buffer {
  return lookup(ctx, onePath(ctx, payload), 'read').value;
}

const EMPTY = Buffer.alloc(0);

/**
 * A node value in memory of its own: a slice of Node's shared Buffer pool kept in the
 * store would keep its whole 8 KiB slab alive for as long as the node lives.
 */
function ownedValue(v: Buffer): Buffer {
  if (v.length === 0) return EMPTY;
  const own = Buffer.allocUnsafeSlow(v.length);
  v.copy(own);
  return own;
}

// path \0 value  ->  OK
export function opWrite(ctx: OpContext, payload: Buffer): Buffer {
  const parsed = parseWritePayload(payload);
  const req = { path: parsed.path, value: ownedValue(parsed.value) };
  const path = ctx.canonical(req.path);
  const node = ctx.view.get(path);
  if (node) {
    lookup(ctx, path, 'write');
    checkNodeSize(ctx, { ...node, value: req.value });
    ctx.view.put(path, { ...node, value: req.value });
  } else {
    canCreate(ctx, path, req.value);
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
  canCreate(ctx, path, Buffer.alloc(0));
  const node = createNode(ctx, path, Buffer.alloc(0));
  ctx.events.push({ path, exact: false, perms: [node.perms] });
  return OK;
}

function removeTree(ctx: OpContext, path: string, node: XsNode): void {
  for (const name of node.children) {
    const child = childPath(path, name);
    const c = ctx.view.get(child);
    // Only a transaction's view can name a child it does not have (C walk_node_tree:
    // "Child not found", the walk stops with EIO; what it removed so far stays removed).
    if (!c) throw failWith('EIO', `${child} is listed but missing in this transaction`);
    removeTree(ctx, child, c);
    ctx.events.push({ path: child, exact: true, perms: [c.perms] });
  }
  ctx.view.delete(path);
}

// path \0  ->  OK (recursive; ENOENT only when the parent is missing too)
// Inside a transaction the view mixes nodes frozen at first access with live ones, so a
// node can be there while its parent is not, or its parent may not list it. C rm_node()
// answers the first with EINVAL, changing nothing; the second with EIO after the subtree
// is already gone from the transaction (its events stay queued for the commit).
export function opRm(ctx: OpContext, payload: Buffer): Buffer {
  const path = onePath(ctx, payload);
  if (path === '/') throw failWith('EINVAL', 'cannot remove /');
  const parentPath = parentOf(path)!;
  const node = ctx.view.get(path);
  if (!node) {
    const anc = closestExisting(ctx.view, path);
    if (anc && !allowed(ctx, anc[1].perms, 'write')) throw failWith('EACCES', path);
    if (anc && anc[0] === parentPath) return OK;
    throw failWith('ENOENT', path);
  }
  lookup(ctx, path, 'write');
  const parent = ctx.view.get(parentPath);
  if (!parent) throw failWith('EINVAL', `${parentPath} is missing in this transaction`);
  removeTree(ctx, path, node);
  ctx.events.push({ path, exact: false, perms: [node.perms] });
  const name = baseName(path);
  if (!parent.children.includes(name)) throw failWith('EIO', `${parentPath} does not list ${name} in this transaction`);
  ctx.view.put(parentPath, { ...parent, children: parent.children.filter((n) => n !== name) });
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
  const node = lookup(ctx, onePath(ctx, payload), 'read'); // C 4.17: EINVAL for `@` nodes
  return stringsPayload(...formatPerms(node.perms));
}

// path \0 perm \0 perm \0 ...  ->  OK
// Order as C 4.17 do_set_perms: count, quota, perm letters (xs_strings_to_perms), then
// the node. C reads the domid with strtol and takes anything; we refuse domids that are
// not 0..65535 in decimal, after the node lookup (so a missing node is still ENOENT).
const PERM_SHAPE = /^[nrwb]./;

export function opSetPerms(ctx: OpContext, payload: Buffer): Buffer {
  const [rawPath, ...rawPerms] = parseTerminatedStrings(payload);
  if (rawPath === undefined || rawPerms.length === 0) throw failWith('EINVAL', 'SET_PERMS needs a path and perms');
  if (limited(ctx) && rawPerms.length > ctx.quotas.get('permissions')) throw failWith('ENOSPC', 'permissions quota');
  if (!rawPerms.every((r) => PERM_SHAPE.test(r))) throw failWith('EINVAL', 'bad permission');
  if (rawPath.startsWith('@')) return setSpecialPerms(ctx, rawPath, parsePerms(rawPerms));
  const path = ctx.canonical(rawPath);
  const node = lookup(ctx, path, 'owner');
  const perms = parsePerms(rawPerms);
  if (!ctx.who.privileged && perms[0]!.domid !== node.perms[0]?.domid) {
    throw failWith('EPERM', 'only privileged domains change the owner');
  }
  checkNodeSize(ctx, { ...node, perms });
  ctx.view.put(path, { ...node, perms });
  ctx.events.push({ path, exact: false, perms: [node.perms, perms] });
  return OK;
}

/** `@introduceDomain` / `@releaseDomain` carry perms that gate their watch events. */
function setSpecialPerms(ctx: OpContext, path: string, perms: Perm[]): Buffer {
  const node = (XS_SPECIAL_PATHS as readonly string[]).includes(path) ? ctx.view.get(path) : undefined;
  if (!node) throw failWith('EINVAL', `${path} is not a special node`);
  if (!allowed(ctx, node.perms, 'owner')) throw failWith('EACCES', path);
  ctx.view.put(path, { ...node, perms });
  return OK;
}
