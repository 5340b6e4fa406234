// The backend half of the xenbus lifecycle as a table: what one reconcile pass does, given
// the backend's `state` node, the frontend's `state` node, the toolstack's `online` flag and
// whether the domain is alive. Pure: xenbus-backend.ts reads the inputs and runs the actions.
// The shape of QEMU's XenDevOps driven by hw/xen/xen-legacy-backend.c (xen_be_check_state,
// xen_be_try_init / try_initialise / try_connected / frontend_changed), with libxl's
// teardown (tools/libs/light/libxl_device.c: online=0, state 5, wait for 6) and the states
// of xen/include/public/io/xenbus.h.

import { XenbusState } from '../../shared/xenbus-state';

export interface LifecycleInput {
  /** Our `state` node; undefined when the toolstack removed the backend directory. */
  readonly backend: XenbusState | undefined;
  readonly frontend: XenbusState;
  /** `online` = 1 (libxl writes 0 to ask for teardown). */
  readonly online: boolean;
  /** The domain is introduced to xenstored (not released / destroyed). */
  readonly alive: boolean;
}

/**
 * One step of a pass, run in order; a step that fails (only `connect` can) ends the pass.
 * - remove: the device directory is gone: unbind, stop watching, emit 'removed'.
 * - unbind: drop our side (mappings, ports) if bound; the logged reason ({frontend}: its state).
 * - close: write Closed (6) unless it is already.
 * - mirror: write the frontend's Closing/Closed unless already there or Closed.
 * - reset: write Initialising and look again (the frontend starts over: reboot, kexec).
 * - restart: write Initialising after the frontend reset under a connection (no second pass).
 * - init: ops.init (features), hotplug-status=connected, write InitWait.
 * - connect: ops.initialise (map, bind), write Connected; on failure undo and stop the pass.
 * - attach: with both ends Connected: bind again if a restarted backend is not bound, then
 *   re-assert Connected once (vfb) and run ops.connected once.
 */
export type LifecycleAction =
  | { readonly kind: 'remove' }
  | { readonly kind: 'unbind'; readonly reason: string }
  | { readonly kind: 'close' }
  | { readonly kind: 'mirror' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'restart' }
  | { readonly kind: 'init' }
  | { readonly kind: 'connect' }
  | { readonly kind: 'attach' };

type Match<T> = readonly T[] | 'any';

export interface LifecycleRow {
  readonly backend: Match<XenbusState | undefined>;
  readonly frontend: Match<XenbusState>;
  readonly online: Match<boolean>;
  readonly alive: Match<boolean>;
  readonly actions: readonly LifecycleAction[];
  /** Why, in a line: also the name of the row in logs and tests. */
  readonly why: string;
}

const S = XenbusState;
const ALL_STATES: readonly XenbusState[] = [
  S.Unknown,
  S.Initialising,
  S.InitWait,
  S.Initialised,
  S.Connected,
  S.Closing,
  S.Closed,
  S.Reconfiguring,
  S.Reconfigured,
];
const except = (...out: XenbusState[]): XenbusState[] => ALL_STATES.filter((s) => !out.includes(s));
const NOT_STARTED = [S.Unknown, S.Initialising];
const CLOSED = [S.Closing, S.Closed];
const ON = [true];

const unbind = (reason: string): LifecycleAction => ({ kind: 'unbind', reason });
const INIT: LifecycleAction = { kind: 'init' };
const CONNECT: LifecycleAction = { kind: 'connect' };
const ATTACH: LifecycleAction = { kind: 'attach' };

/** First matching row wins. Every input matches some row (the unit test checks all of them). */
export const LIFECYCLE_TABLE: readonly LifecycleRow[] = [
  {
    backend: [undefined],
    frontend: 'any',
    online: 'any',
    alive: 'any',
    actions: [{ kind: 'remove' }],
    why: 'toolstack removed the device',
  },
  {
    backend: 'any',
    frontend: 'any',
    online: 'any',
    alive: [false],
    actions: [unbind('domain released'), { kind: 'close' }],
    why: 'domain gone (@releaseDomain)',
  },
  {
    backend: except(S.Initialising),
    frontend: 'any',
    online: [false],
    alive: 'any',
    actions: [unbind('toolstack set online=0'), { kind: 'close' }],
    why: 'libxl teardown: online=0, answer Closed within 10 s',
  },
  {
    backend: 'any',
    frontend: CLOSED,
    online: 'any',
    alive: 'any',
    actions: [unbind('frontend {frontend}'), { kind: 'mirror' }],
    why: 'frontend Closing/Closed: disconnect and follow it',
  },
  {
    backend: CLOSED,
    frontend: [S.Unknown, S.Initialising, S.Initialised],
    online: 'any',
    alive: 'any',
    actions: [{ kind: 'reset' }],
    why: 'closed, frontend starts over (may have published its keys already)',
  },
  { backend: CLOSED, frontend: 'any', online: 'any', alive: 'any', actions: [], why: 'closed: wait for the frontend to start over' },
  {
    backend: [S.Connected],
    frontend: [S.Initialising],
    online: ON,
    alive: 'any',
    actions: [unbind('frontend went back to Initialising'), { kind: 'restart' }, INIT],
    why: 'frontend reset itself while connected: start over',
  },
  { backend: NOT_STARTED, frontend: 'any', online: [false], alive: 'any', actions: [], why: 'not online yet: wait for the toolstack' },
  {
    backend: NOT_STARTED,
    frontend: [S.Initialised],
    online: ON,
    alive: 'any',
    actions: [INIT, CONNECT],
    why: 'fresh device, frontend ready',
  },
  {
    backend: NOT_STARTED,
    frontend: [S.Connected],
    online: ON,
    alive: 'any',
    actions: [INIT, CONNECT, ATTACH],
    why: 'fresh device, frontend already connected (restarted backend)',
  },
  { backend: NOT_STARTED, frontend: 'any', online: ON, alive: 'any', actions: [INIT], why: 'fresh device: features, then InitWait' },
  {
    backend: [S.InitWait],
    frontend: [S.Initialised],
    online: ON,
    alive: 'any',
    actions: [CONNECT],
    why: 'frontend published its keys: connect',
  },
  {
    backend: [S.InitWait],
    frontend: [S.Connected],
    online: ON,
    alive: 'any',
    actions: [CONNECT, ATTACH],
    why: 'frontend Connected before us: connect',
  },
  { backend: [S.InitWait], frontend: 'any', online: ON, alive: 'any', actions: [], why: 'InitWait: wait for the frontend' },
  {
    backend: [S.Connected],
    frontend: [S.Connected],
    online: ON,
    alive: 'any',
    actions: [ATTACH],
    why: 'both Connected: bind if needed, re-assert once, connected once',
  },
  {
    backend: [S.Connected, S.Initialised, S.Reconfiguring, S.Reconfigured],
    frontend: 'any',
    online: ON,
    alive: 'any',
    actions: [],
    why: 'nothing to do in this state',
  },
];

function matches<T>(m: Match<T>, v: T): boolean {
  return m === 'any' || m.includes(v);
}

/** The first row of LIFECYCLE_TABLE that matches (there always is one). */
export function lifecycleRow(input: LifecycleInput): LifecycleRow {
  const row = LIFECYCLE_TABLE.find(
    (r) =>
      matches(r.backend, input.backend) &&
      matches(r.frontend, input.frontend) &&
      matches(r.online, input.online) &&
      matches(r.alive, input.alive),
  );
  if (!row) throw new Error(`xenbus lifecycle table has no row for ${JSON.stringify(input)}`);
  return row;
}

/** Every state, for tests that walk the whole table. */
export const XENBUS_STATES = ALL_STATES;
