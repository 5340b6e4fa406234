// XS_CONTROL commands of the embedded xenstored, the subset of C xenstored 4.17's
// (tools/xenstored/control.c) that makes sense without a database file or live update.
// Reply texts copy C's, checked against the real daemon with xenstore-control.

import { stringsPayload } from '../wire';
import { OK, failWith } from './operations';
import { type DomainUsage, Quotas } from './quota';

/** What the commands need from the engine. */
export interface ControlHost {
  readonly quotas: Quotas;
  log(line: string): void;
  setLogging(on: boolean): void;
  /** Usage of a domain, or undefined when it does not exist (ENOENT). */
  usage(domid: number): DomainUsage | undefined;
  /** True when every child a node names exists. */
  checkTree(): boolean;
}

type Command = (host: ControlHost, args: string[]) => Buffer;

/** C answers with the text plus a NUL; xenstore-control prints it. */
const text = (s: string): Buffer => stringsPayload(s);

const DECIMAL = /^[0-9]+$/;

// print <string>: writes the string to the daemon's log.
const print: Command = (host, args) => {
  if (args.length !== 1) throw failWith('EINVAL', 'print needs one string');
  host.log(args[0]!);
  return OK;
};

// log on|off
const log: Command = (host, args) => {
  if (args.length !== 1 || (args[0] !== 'on' && args[0] !== 'off')) throw failWith('EINVAL', 'log needs on or off');
  host.setLogging(args[0] === 'on');
  return OK;
};

// quota [set <name> <val>|<domid>]
const quota: Command = (host, args) => {
  if (args.length === 0) return text(host.quotas.formatSettings());
  if (args[0] === 'set') {
    const [, name, value] = args;
    if (args.length !== 3 || !DECIMAL.test(value!) || !host.quotas.set(name!, Number(value)))
      throw failWith('EINVAL', 'quota set <name> <value>');
    return OK;
  }
  if (args.length !== 1) throw failWith('EINVAL', 'quota [set <name> <val>|<domid>]');
  const domid = Number(/^[0-9]*/.exec(args[0]!)![0] || '0'); // C uses atoi(): "nodes" is domain 0
  const usage = host.usage(domid);
  if (!usage) throw failWith('ENOENT', `no domain ${domid}`);
  return text(Quotas.formatUsage(domid, usage));
};

// quota-soft [set <name> <val>]
const quotaSoft: Command = (host, args) => {
  if (args.length === 0) return text(host.quotas.formatSoft());
  const [sub, name, value] = args;
  if (sub !== 'set' || args.length !== 3 || !DECIMAL.test(value!) || !host.quotas.setSoft(name!, Number(value))) {
    throw failWith('EINVAL', 'quota-soft [set <name> <val>]');
  }
  return OK;
};

// check: C verifies its database; ours checks every child named by a node exists.
const check: Command = (host) => {
  if (!host.checkTree()) throw failWith('EIO', 'tree is inconsistent');
  return OK;
};

const COMMANDS: ReadonlyArray<[string, string, Command]> = [
  ['check', '', check],
  ['log', 'on|off', log],
  ['print', '<string>', print],
  ['quota', '[set <name> <val>|<domid>]', quota],
  ['quota-soft', '[set <name> <val>]', quotaSoft],
  ['help', '', (): Buffer => text(COMMANDS.map(([n, a]) => `${n}\t${a}\n`).join(''))],
];

// cmd \0 [arg \0]...  ->  OK or the command's text
export function runControl(host: ControlHost, cmd: string | undefined, args: string[]): Buffer {
  const entry = COMMANDS.find(([name]) => name === cmd);
  if (!entry) throw failWith('EINVAL', `unknown control command ${cmd ?? ''}`);
  return entry[2](host, args);
}
