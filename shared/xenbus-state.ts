// xenbus device states, as held (in decimal) by each end's `state` node.
// Source: xen/include/public/io/xenbus.h (`enum xenbus_state`). There are nine values,
// 0..8; Reconfiguring/Reconfigured are used only by a few device classes.

export enum XenbusState {
  Unknown = 0,
  Initialising = 1,
  InitWait = 2,
  Initialised = 3,
  Connected = 4,
  Closing = 5,
  Closed = 6,
  Reconfiguring = 7,
  Reconfigured = 8,
}

const STATE_NAMES: readonly string[] = [
  'Unknown',
  'Initialising',
  'InitWait',
  'Initialised',
  'Connected',
  'Closing',
  'Closed',
  'Reconfiguring',
  'Reconfigured',
];

/** Name of a state for logs; numbers outside the enum read as `Invalid(n)`. */
export function xenbusStateName(n: number): string {
  return Number.isInteger(n) && n >= 0 && n < STATE_NAMES.length ? STATE_NAMES[n]! : `Invalid(${n})`;
}

/**
 * Parse a `state` node's text. The other end controls it, so anything that is not a
 * decimal 0..8 (missing node, empty, garbage, out of range) reads as Unknown, which is
 * how xenbus_read_driver_state() treats a node it cannot parse.
 */
export function parseXenbusState(s: string | undefined): XenbusState {
  if (s === undefined) return XenbusState.Unknown;
  const t = s.trim();
  if (!/^[0-9]{1,3}$/.test(t)) return XenbusState.Unknown;
  const n = Number(t);
  return n < STATE_NAMES.length ? (n as XenbusState) : XenbusState.Unknown;
}
