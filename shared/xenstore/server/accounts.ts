// Per-domain accounting, as C xenstored keeps it in `struct domain` (tools/xenstored/
// domain.c; 4.17 counts some of these per connection, later releases per domain through
// ACC_WATCH, ACC_TRANS, ACC_OUTST, ACC_MEM). Every connection of a domain shares one
// account, so opening more connections never buys more quota. Nodes are counted by the
// store (owner = first perm), the rest here.

export class DomainAccount {
  /** Watches of all the domain's connections (quota `watches`). */
  watches = 0;
  /** Bytes of watch paths and tokens (C charges strlen(path) + strlen(token) to memory). */
  watchBytes = 0;
  /** Open transactions of all the domain's connections (quota `transactions`). */
  transactions = 0;
  /**
   * Requests whose reply, or a watch event they caused, is still queued (quota
   * `outstanding`, C's nboutstanding): at the quota the domain's requests are not read.
   */
  outstanding = 0;
  /** Bytes of replies and events queued for the domain's connections, 16-byte headers included (C: len + sizeof(hdr)). */
  queuedBytes = 0;
  /** Events dropped because the domain was at its memory quota (C only logs; we count). */
  droppedEvents = 0;
  /** Events dropped after waiting `event-timeout` ms in a queue (C check_event_timeout). */
  expiredEvents = 0;
  /** Duplicate events dropped because an identical one was still queued (C's send_event). */
  duplicateEvents = 0;
  /** Set while the hard memory quota is exceeded, so the log says so once, as C does. */
  memoryReported = false;
  /** When the memory quota was last logged (ms): C logs a crossing at most every 10 s. */
  memoryLoggedAt = -Infinity;

  constructor(readonly domid: number) {}
}

/**
 * A request of an unprivileged domain that queued output: it counts as outstanding until
 * its reply and every watch event it caused have left their queues (C keeps the request's
 * buffered_data on ref_list until pend.ref.event_cnt drops to 0).
 */
export class RequestRef {
  /** Events this request caused that are still queued somewhere. */
  events = 0;
  private replyQueued = true;

  constructor(private account: DomainAccount | undefined) {
    if (account) account.outstanding++;
  }

  /** The reply left the queue (written, or dropped with its connection). */
  replyDone(): void {
    this.replyQueued = false;
    this.settle();
  }

  /** One of its events left a queue (written or dropped). */
  eventDone(): void {
    this.events--;
    this.settle();
  }

  private settle(): void {
    if (this.replyQueued || this.events > 0 || !this.account) return;
    this.account.outstanding--;
    this.account = undefined;
  }
}
