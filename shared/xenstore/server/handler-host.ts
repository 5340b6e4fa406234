// What the per-operation handlers (handlers.ts) need of the engine that runs them, and what
// they hand back to it: the engine implements HandlerHost, so handlers never import the
// engine (no import cycle) and can be driven by a test double.

import type { XsMessage } from '../wire';
import type { RequestRef } from './accounts';
import type { ControlHost } from './control';
import type { XsServerConnection } from './connection';
import type { OpContext } from './operations';
import type { Quotas } from './quota';
import type { Store } from './store';
import type { PendingEvent, Transaction } from './transactions';

/** Something the engine must send after a request: a reply, a watch event, a close. */
export type Delivery =
  | { kind: 'message'; conn: XsServerConnection; message: XsMessage; ref?: RequestRef }
  | { kind: 'event'; conn: XsServerConnection; path: string; token: string; afterReply?: boolean; cause?: RequestRef }
  | { kind: 'close'; conn: XsServerConnection };

/** CONTROL requests go to the same host (control.ts). */
export interface HandlerHost extends ControlHost {
  readonly store: Store;
  readonly quotas: Quotas;
  /** The operation context of a request (its transaction, if txId names one of conn's). */
  context(conn: XsServerConnection, txId: number): OpContext & { tx?: Transaction };
  /** A path as the engine stores it (relative paths resolved against the domain's home). */
  canonical(conn: XsServerConnection, path: string, allowSpecial?: boolean): string;
  /** Watch events for these changes, appended to `out`. */
  fire(events: PendingEvent[], out: Delivery[]): void;
  newTransactionId(): number;
  isDomainIntroduced(domid: number): boolean;
  introduce(domid: number): Delivery[];
  release(domid: number): Delivery[];
  setTarget(domid: number, target: number): void;
}
