// The backend half of a xenbus device as a lifecycle table keyed by xenbus state, the shape
// of QEMU's XenDevOps (hw/xen/xen-legacy-backend.c: xen_be_check_state) with its quirks:
//   Initialising -> InitWait   when the toolstack has `online=1`: ops.init writes features
//   InitWait -> Connected      when the frontend is Initialised/Connected: ops.initialise binds
//   Connected                  frontend Connected: ops.connected (vfb re-asserts state 4 once)
//   any -> Closing/Closed      frontend Closing/Closed: ops.disconnect, mirror its state
//   Closed -> Initialising     frontend back to Initialising: the reset cycle (reboot, kexec)
//   toolstack teardown         `online=0` + state 5: disconnect, state 6 within 10 s (libxl)
//   domain gone                @releaseDomain and not introduced: disconnect, state 6

import { EventEmitter } from 'node:events';
import type { XsClient } from '../../shared/xenstore/client';
import type { Platform } from '../../shared/platform/types';
import { XenbusState, parseXenbusState, xenbusStateName } from '../../shared/xenbus-state';
import { Reconciler } from '../../shared/reconciler';
import { type LifecycleAction, lifecycleRow } from './xenbus-lifecycle';
import { errorCode } from '../../shared/errors';
import { RateLimitedLog, type Logger } from '../../shared/log';
import { PacedTask } from './paced-task';

export interface DeviceContext {
  readonly xs: XsClient;
  readonly platform: Platform;
  readonly domid: number;
  readonly devid: number;
  readonly backendPath: string;
  readonly frontendPath: string;
  readonly log: Logger;
}

/** What a device kind does at each step. Throwing from initialise leaves the device in InitWait. */
export interface BackendDeviceOps {
  readonly kind: string;
  init(ctx: DeviceContext): Promise<void>;
  initialise(ctx: DeviceContext): Promise<void>;
  connected?(ctx: DeviceContext): Promise<void>;
  disconnect(ctx: DeviceContext): Promise<void>;
  /** Re-write state Connected once after the frontend reaches Connected (the vfb quirk). */
  readonly reassertConnected?: boolean;
  /**
   * Nodes of our backend directory that answer one connection (request-update...): a backend
   * that retires removes them with `hotplug-status`, so none outlives it.
   */
  readonly connectionNodes?: readonly string[];
}

/**
 * Lifecycle passes a second that watch events (a guest rewriting its `state` node) can cost
 * us, and how many may come back to back; kicks beyond coalesce into the next pass.
 */
export const XENBUS_PASS_RATE = 50;
export const XENBUS_PASS_BURST = 20;
/** Wait after a failed connect before the next attempt; doubles per failure up to the max. */
export const CONNECT_RETRY_MIN_MS = 100;
export const CONNECT_RETRY_MAX_MS = 5000;

export interface XenbusDeviceStats {
  /** Lifecycle passes run. */
  passes: number;
  /** ops.initialise calls for a connect (not counting re-attaches). */
  connectAttempts: number;
  connectFailures: number;
}

/**
 * Drives one device. Every xenstore change schedules `reconcile()`, which reads both states
 * and takes at most the steps the table allows; reconcile runs one at a time.
 * Events: 'state' (XenbusState), 'connected', 'disconnected', 'removed'.
 */
export class XenbusBackendDevice extends EventEmitter {
  private state: XenbusState = XenbusState.Unknown;
  private bound = false;
  private reasserted = false;
  private connectedDone = false;
  readonly stats: XenbusDeviceStats = { passes: 0, connectAttempts: 0, connectFailures: 0 };
  private readonly reconciler = new Reconciler(
    () => this.step(),
    (e) => this.rlog.error('step', { err: e, code: errorCode(e) }, 'device step failed'),
  );
  private readonly pacer = new PacedTask(() => this.reconciler.kick(), { rate: XENBUS_PASS_RATE, burst: XENBUS_PASS_BURST });
  private readonly rlog: RateLimitedLog;
  private readonly watches: { close(): Promise<void> | void }[] = [];
  /** Connect failures in a row, and when the next attempt may run (performance.now()). */
  private failures = 0;
  private retryAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly ctx: DeviceContext,
    private readonly ops: BackendDeviceOps,
  ) {
    super();
    this.rlog = new RateLimitedLog(ctx.log);
  }

  /** Start driving the device at `backendPath` (its `frontend` node names the other end). */
  static async attach(
    xs: XsClient,
    platform: Platform,
    ops: BackendDeviceOps,
    where: { domid: number; devid: number; backendPath: string },
    log: Logger,
  ): Promise<XenbusBackendDevice> {
    const frontendPath = await xs.read(`${where.backendPath}/frontend`);
    const ctx: DeviceContext = {
      xs,
      platform,
      ...where,
      frontendPath,
      log: log.child({ dev: `${ops.kind}/${where.domid}/${where.devid}` }),
    };
    const dev = new XenbusBackendDevice(ctx, ops);
    await dev.start();
    return dev;
  }

  get xenbusState(): XenbusState {
    return this.state;
  }

  get isConnected(): boolean {
    return this.bound;
  }

  private async start(): Promise<void> {
    const { xs, backendPath, frontendPath } = this.ctx;
    for (const path of [backendPath, frontendPath, '@releaseDomain']) {
      const w = await xs.watch(path);
      w.on('event', () => this.reconcile());
      this.watches.push(w);
    }
    this.reconcile();
  }

  /**
   * Tear down our side (mappings, ports) without touching xenstore, and stop watching: a
   * backend started later re-attaches to the running frontend (the lifecycle's attach row).
   */
  async stop(): Promise<void> {
    this.halt();
    for (const w of this.watches.splice(0)) await w.close();
    await this.unbind('backend stopping');
  }

  /**
   * stop(), then leave xenstore saying no backend is connected (SIGTERM): the connection's
   * nodes and `hotplug-status` removed, and state InitWait (features published, nothing
   * bound). Not Closed: Linux fbfront/kbdfront close for good on a Closed backend and only
   * a guest reboot would bring them back, while on InitWait they stay Connected
   * (xen-fbfront.c xenfb_backend_changed), and a backend started later connects from there
   * (the table's InitWait rows). Under a toolstack teardown (online=0) or for a domain that
   * is gone the state becomes Closed, the answer libxl waits for; a device already Closing or
   * Closed keeps its state; a device the toolstack removed is left alone (writing its state
   * would create the node again).
   */
  async retire(): Promise<void> {
    await this.stop();
    const { xs, backendPath, domid } = this.ctx;
    const alive = await xs.isDomainIntroduced(domid).catch(() => true);
    const state = await xs.transaction(async (tx) => {
      const now = await tx.tryRead(`${backendPath}/state`);
      if (now === undefined) return undefined;
      for (const node of [...(this.ops.connectionNodes ?? []), 'hotplug-status']) await tx.rmIfExists(`${backendPath}/${node}`);
      const teardown = !alive || (await tx.tryRead(`${backendPath}/online`)) !== '1';
      const current = parseXenbusState(now);
      const next = teardown
        ? XenbusState.Closed
        : current === XenbusState.Closing || current === XenbusState.Closed
          ? current
          : XenbusState.InitWait;
      if (next !== current) await tx.write(`${backendPath}/state`, String(next));
      return next;
    });
    if (state === undefined) return;
    this.state = state;
    this.ctx.log.info({ state: xenbusStateName(state) }, 'retired: connection nodes removed');
  }

  reconcile(): void {
    this.pacer.kick();
  }

  private halt(): void {
    this.reconciler.stop();
    this.pacer.stop();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async setState(s: XenbusState): Promise<void> {
    const { xs, backendPath, log } = this.ctx;
    if (this.state !== s) log.info({ from: xenbusStateName(this.state), to: xenbusStateName(s) }, 'backend state');
    this.state = s;
    await xs.write(`${backendPath}/state`, String(s));
    this.emit('state', s);
  }

  private async unbind(reason: string): Promise<void> {
    if (!this.bound) return;
    this.bound = false;
    this.reasserted = false;
    this.connectedDone = false;
    try {
      await this.ops.disconnect(this.ctx);
    } catch (e) {
      this.ctx.log.error({ err: e }, 'disconnect failed');
    }
    this.ctx.log.info({ reason }, 'disconnected');
    this.emit('disconnected', reason);
  }

  /** One pass of the lifecycle table (xenbus-lifecycle.ts): read the inputs, run the row. */
  private async step(): Promise<void> {
    const { xs, backendPath, frontendPath, domid } = this.ctx;
    this.stats.passes++;
    const be = await xs.tryRead(`${backendPath}/state`);
    if (be !== undefined) this.state = parseXenbusState(be);
    const online = be !== undefined && (await xs.tryRead(`${backendPath}/online`)) === '1';
    const fe = parseXenbusState(be === undefined ? undefined : await xs.tryRead(`${frontendPath}/state`));
    const alive = be === undefined || (await xs.isDomainIntroduced(domid).catch(() => true));
    const row = lifecycleRow({ backend: be === undefined ? undefined : this.state, frontend: fe, online, alive });
    for (const action of row.actions) {
      if (!(await this.run(action, fe))) return;
    }
  }

  /** Runs one action; false ends the pass. */
  private async run(action: LifecycleAction, fe: XenbusState): Promise<boolean> {
    const { xs, backendPath, log } = this.ctx;
    switch (action.kind) {
      case 'remove':
        await this.unbind('backend node removed');
        this.halt();
        for (const w of this.watches.splice(0)) await w.close();
        this.emit('removed');
        return false;
      case 'unbind':
        await this.unbind(action.reason.replace('{frontend}', xenbusStateName(fe)));
        return true;
      case 'close':
        if (this.state !== XenbusState.Closed) await this.setState(XenbusState.Closed);
        return true;
      case 'mirror':
        if (this.state !== fe && this.state !== XenbusState.Closed) await this.setState(fe);
        return true;
      case 'reset':
        log.info({ frontend: xenbusStateName(fe) }, 'frontend reset: starting over');
        await this.setState(XenbusState.Initialising);
        this.reconciler.again();
        return true;
      case 'restart':
        await this.setState(XenbusState.Initialising);
        return true;
      case 'init':
        await this.ops.init(this.ctx);
        await xs.write(`${backendPath}/hotplug-status`, 'connected');
        await this.setState(XenbusState.InitWait);
        return true;
      case 'connect':
        return this.connect();
      case 'attach':
        return this.attach();
    }
  }

  /**
   * ops.initialise, backing off after failures: a guest that flaps its state with bad nodes
   * gets one attempt per CONNECT_RETRY_MIN_MS..CONNECT_RETRY_MAX_MS (doubling) and one
   * error line per RateLimitedLog interval; a change during the wait is looked at when it ends.
   */
  private async connect(): Promise<boolean> {
    const wait = this.retryAt - performance.now();
    if (wait > 0) {
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = undefined;
        this.reconcile();
      }, Math.ceil(wait));
      return false;
    }
    this.stats.connectAttempts++;
    try {
      await this.ops.initialise(this.ctx);
    } catch (e) {
      this.failures++;
      this.stats.connectFailures++;
      const retryInMs = Math.min(CONNECT_RETRY_MIN_MS * 2 ** Math.min(this.failures - 1, 16), CONNECT_RETRY_MAX_MS);
      this.retryAt = performance.now() + retryInMs;
      const details = { err: e, code: errorCode(e), failures: this.failures, retryInMs };
      this.rlog.error('connect', details, 'cannot connect to the frontend; waiting for it to change');
      await this.ops.disconnect(this.ctx).catch((d: unknown) => this.rlog.warn('undo', { err: d }, 'undoing the failed connect failed'));
      return false;
    }
    this.failures = 0;
    this.retryAt = 0;
    this.bound = true;
    await this.setState(XenbusState.Connected);
    this.emit('connected');
    return true;
  }

  private async attach(): Promise<boolean> {
    if (!this.bound) {
      // A restarted backend finds both ends Connected: bind again to the running guest.
      try {
        await this.ops.initialise(this.ctx);
        this.bound = true;
        this.emit('connected');
      } catch (e) {
        this.rlog.error('reattach', { err: e, code: errorCode(e) }, 'cannot re-attach to the running frontend');
        return false;
      }
    }
    if (this.ops.reassertConnected && !this.reasserted) {
      this.reasserted = true;
      await this.setState(XenbusState.Connected);
    }
    if (this.ops.connected && !this.connectedDone) {
      this.connectedDone = true;
      await this.ops.connected(this.ctx);
    }
    return true;
  }
}
