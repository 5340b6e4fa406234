// Per-domain quotas as C xenstored 4.17 keeps them (tools/xenstored/core.c, domain.c;
// defaults and names from its `quota` control command, checked against the real daemon).
// They apply to unprivileged connections only, except path-max which limits every path.

import { XENSTORE_REL_PATH_MAX } from '../wire';

/** Defaults of C xenstored 4.17 (`xenstore-control quota` on a fresh daemon). */
export const QUOTA_NODES_PER_DOMAIN = 1000; // ENOSPC
export const QUOTA_WATCHES_PER_DOMAIN = 128; // E2BIG
export const QUOTA_TRANSACTIONS_PER_DOMAIN = 10; // ENOSPC
export const QUOTA_OUTSTANDING_PER_DOMAIN = 20; // reported only
export const QUOTA_TRANSACTION_NODES = 1024; // ENOSPC
export const QUOTA_MEMORY_PER_DOMAIN = 2621440; // reported only
export const QUOTA_MEMORY_SOFT = 2097152; // reported only
export const QUOTA_NODE_SIZE = 2048; // ENOSPC when the record size reaches it
export const QUOTA_PATH_MAX = XENSTORE_REL_PATH_MAX; // EINVAL
export const QUOTA_PERMISSIONS_PER_NODE = 5; // ENOSPC

export type QuotaName =
  'nodes' | 'watches' | 'transactions' | 'outstanding' | 'transaction-nodes' | 'memory' | 'node-size' | 'path-max' | 'permissions';

/** `quota` command rows, in C's order, with C's descriptions. */
const HARD: ReadonlyArray<[QuotaName, number, string]> = [
  ['nodes', QUOTA_NODES_PER_DOMAIN, 'Nodes per domain'],
  ['watches', QUOTA_WATCHES_PER_DOMAIN, 'Watches per domain'],
  ['transactions', QUOTA_TRANSACTIONS_PER_DOMAIN, 'Transactions per domain'],
  ['outstanding', QUOTA_OUTSTANDING_PER_DOMAIN, 'Outstanding requests per domain'],
  ['transaction-nodes', QUOTA_TRANSACTION_NODES, 'Max. number of accessed nodes per transaction'],
  ['memory', QUOTA_MEMORY_PER_DOMAIN, 'Total Xenstore memory per domain (error level)'],
  ['node-size', QUOTA_NODE_SIZE, 'Max. size of a node'],
  ['path-max', QUOTA_PATH_MAX, 'Max. length of a node path'],
  ['permissions', QUOTA_PERMISSIONS_PER_NODE, 'Max. number of permissions per node'],
];

/** What one domain uses, as `quota <domid>` reports it. */
export interface DomainUsage {
  nodes: number;
  watches: number;
  transactions: number;
  outstanding: number;
  memory: number;
}

const row = (name: string, width: number, value: number, text?: string): string =>
  `${name.padEnd(width)}: ${String(value).padStart(8)}${text ? ` ${text}` : ''}\n`;

export class Quotas {
  private readonly hard = new Map<QuotaName, number>(HARD.map(([n, v]) => [n, v]));
  private softMemory = QUOTA_MEMORY_SOFT;

  get(name: QuotaName): number {
    return this.hard.get(name)!;
  }

  /** False for an unknown name (C answers EINVAL). */
  set(name: string, value: number): boolean {
    if (!this.hard.has(name as QuotaName)) return false;
    this.hard.set(name as QuotaName, value);
    return true;
  }

  setSoft(name: string, value: number): boolean {
    if (name !== 'memory') return false;
    this.softMemory = value;
    return true;
  }

  /** `quota` with no argument (C's format: name padded to 17, value right-aligned in 8). */
  formatSettings(): string {
    return `Quota settings:\n${HARD.map(([n, , text]) => row(n, 17, this.get(n), text)).join('')}`;
  }

  formatSoft(): string {
    return `Quota settings:\n${row('memory', 17, this.softMemory, 'Total Xenstore memory per domain (warning level)')}`;
  }

  static formatUsage(domid: number, u: DomainUsage): string {
    const names: Array<keyof DomainUsage> = ['nodes', 'watches', 'transactions', 'outstanding', 'memory'];
    return `Domain ${domid}:\n${names.map((n) => row(n, 16, u[n])).join('')}`;
  }
}
