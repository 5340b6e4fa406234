// The frontend half of a xenbus device, as Linux drivers/xen/xenbus does it for fbfront and
// kbdfront: publish keys and go Initialised, Connected once the backend waits (InitWait) or
// is Connected, Closed when the backend closes. Unlike Linux, it then asks for a reset
// (Initialising) so a restarted backend can serve it again.

import { EventEmitter } from 'node:events';
import type { XsClient } from '../shared/xenstore/client';
import type { Platform } from '../shared/platform/types';
import { XenbusState, parseXenbusState, xenbusStateName } from '../shared/xenbus-state';
import type { Logger } from '../shared/log';
import { Reconciler } from '../shared/reconciler';
import { xerror } from '../shared/errors';

export interface FrontendContext {
  readonly xs: XsClient;
  readonly platform: Platform;
  readonly devid: number;
  readonly frontendPath: string;
  readonly backendPath: string;
  readonly backendId: number;
  readonly log: Logger;
}

export interface FrontendDeviceOps {
  readonly kind: string;
  /** Allocate and publish (page, event channel, features) in one transaction; return nodes. */
  connect(ctx: FrontendContext): Promise<Record<string, string>>;
  /** The backend reached Connected: read what it asks for (request-update, ...). */
  backendConnected?(ctx: FrontendContext): Promise<void>;
  disconnect(ctx: FrontendContext): Promise<void>;
}

/** Events: 'state' (ours), 'connected' (both ends Connected), 'disconnected'. */
export class XenbusFrontendDevice extends EventEmitter {
  private state: XenbusState = XenbusState.Unknown;
  private published = false;
  private backendConnectedDone = false;
  private readonly reconciler = new Reconciler(
    () => this.step(),
    (e) => this.ctx.log.error({ err: e }, 'frontend step failed'),
  );
  private watch: { close(): Promise<void> | void } | undefined;

  private constructor(
    readonly ctx: FrontendContext,
    private readonly ops: FrontendDeviceOps,
  ) {
    super();
  }

  static async open(xs: XsClient, platform: Platform, ops: FrontendDeviceOps, devid: number, log: Logger): Promise<XenbusFrontendDevice> {
    const frontendPath = `/local/domain/${platform.domid}/device/${ops.kind}/${devid}`;
    const backendPath = await xs.tryRead(`${frontendPath}/backend`);
    const backendIdText = await xs.tryRead(`${frontendPath}/backend-id`);
    if (backendPath === undefined || backendIdText === undefined || !/^\d+$/.test(backendIdText)) {
      throw xerror('DEV_E_CONFIG', `${frontendPath} has no backend/backend-id: the toolstack has not created this ${ops.kind} device`);
    }
    const ctx: FrontendContext = {
      xs,
      platform,
      devid,
      frontendPath,
      backendPath,
      backendId: Number(backendIdText),
      log: log.child({ dev: `${ops.kind}/${devid}` }),
    };
    const dev = new XenbusFrontendDevice(ctx, ops);
    // A previous incarnation of this guest may have left its state behind: start over.
    await dev.setState(XenbusState.Initialising);
    const watch = await xs.watch(`${backendPath}/state`);
    watch.on('event', () => dev.reconcile());
    dev.watch = watch;
    dev.reconcile();
    return dev;
  }

  get xenbusState(): XenbusState {
    return this.state;
  }

  private async setState(s: XenbusState): Promise<void> {
    if (this.state !== s) this.ctx.log.debug({ from: xenbusStateName(this.state), to: xenbusStateName(s) }, 'frontend state');
    this.state = s;
    await this.ctx.xs.write(`${this.ctx.frontendPath}/state`, String(s));
    this.emit('state', s);
  }

  reconcile(): void {
    this.reconciler.kick();
  }

  private async step(): Promise<void> {
    const { xs, backendPath } = this.ctx;
    const beText = await xs.tryRead(`${backendPath}/state`);
    const be = parseXenbusState(beText);
    if (be === XenbusState.Closing || be === XenbusState.Closed || beText === undefined) {
      if (this.published) {
        this.published = false;
        this.backendConnectedDone = false;
        await this.ops.disconnect(this.ctx);
        this.emit('disconnected');
      }
      if (this.state !== XenbusState.Closed && this.state !== XenbusState.Initialising) {
        await this.setState(XenbusState.Closed);
      }
      // Ask for a reset so the backend (restarted, or re-onlined) can serve us again.
      const online = (await xs.tryRead(`${backendPath}/online`)) === '1';
      if (be === XenbusState.Closed && online && this.state === XenbusState.Closed) await this.setState(XenbusState.Initialising);
      return;
    }
    if (this.state === XenbusState.Initialising || this.state === XenbusState.Closed) {
      // Backends write their features before InitWait (xenbus convention): read them then.
      if (be !== XenbusState.InitWait && be !== XenbusState.Connected) return;
      const nodes = await this.ops.connect(this.ctx);
      await xs.transaction(async (tx) => {
        for (const [k, v] of Object.entries(nodes)) await tx.write(`${this.ctx.frontendPath}/${k}`, v);
        await tx.write(`${this.ctx.frontendPath}/state`, String(XenbusState.Initialised));
      });
      this.state = XenbusState.Initialised;
      this.published = true;
      this.emit('state', this.state);
    }
    if (this.state === XenbusState.Initialised && (be === XenbusState.InitWait || be === XenbusState.Connected)) {
      await this.setState(XenbusState.Connected);
    }
    if (this.state === XenbusState.Connected && be === XenbusState.Connected && !this.backendConnectedDone) {
      this.backendConnectedDone = true;
      await this.ops.backendConnected?.(this.ctx);
      this.emit('connected');
    }
  }

  async close(): Promise<void> {
    this.reconciler.stop();
    await this.watch?.close();
    if (this.published) await this.ops.disconnect(this.ctx);
    this.published = false;
    // Best effort: closing after the xenstore connection (or the domain) is gone is normal.
    await this.setState(XenbusState.Closed).catch(() => undefined);
  }
}
