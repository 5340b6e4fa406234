// The watch daemon's configuration: flags, optionally a JSON file (`--config FILE`,
// e.g. /etc/xenvfb/watch.json), validated with errors that name the key. Which ports a
// domain's backend gets (the port policy) is decided here, purely.
//
//   {
//     "listen": "127.0.0.1",                       VNC (and web, metrics) address
//     "ports": { "policy": "base", "base": 5900 },  VNC port = base + domid (QEMU's -vnc :N)
//              | { "policy": "range", "from": 5900, "to": 5999 }   lowest free one
//     "web": { "base": 6080 },                     noVNC page at base + domid (omit: none)
//     "metrics": { "base": 9600 },                 Prometheus at base + domid (omit: none)
//     "spice": { "base": 5930, "passwordFile": "/etc/xenvfb/spice-password" },
//                                                  SPICE at base + domid (omit: none; without a
//                                                  password file "disableTicketing": true)
//     "passwordFile": "/etc/xenvfb/vnc-password",  "tlsCert": "...", "tlsKey": "...",
//     "security": "x509vnc,vnc",
//     "restart": { "limit": 5, "baseMs": 1000 },
//     "domains": { "7": { "vnc": "0.0.0.0:5990", "web": "0.0.0.0:6090", "passwordFile": "..." } }
//   }

import { xerror } from '../../../shared/errors';
import { formatHostPort, type HostPort } from '../args';

export interface DomainOverride {
  vnc?: HostPort;
  web?: HostPort;
  passwordFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  security?: string;
}

export interface WatchConfig {
  listen: string;
  ports: { policy: 'base'; base: number } | { policy: 'range'; from: number; to: number };
  web: { base: number } | null;
  metrics: { base: number } | null;
  spice: { base: number; passwordFile?: string; disableTicketing?: boolean } | null;
  passwordFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  security?: string;
  /** false: `--no-vnc-websocket` for every backend (RFB greeted at once; WebSocket only on `web`). */
  vncWebsocket?: boolean;
  restart: { limit: number; baseMs: number };
  domains: Map<number, DomainOverride>;
}

export const DEFAULT_WATCH_CONFIG: WatchConfig = {
  listen: '127.0.0.1',
  ports: { policy: 'base', base: 5900 },
  web: null,
  metrics: null,
  spice: null,
  restart: { limit: 5, baseMs: 1000 },
  domains: new Map(),
};

const MAX_DOMID = 0x7fef;

function bad(key: string, message: string): never {
  throw xerror('CFG_E_INVALID', `config: ${key}: ${message}`, { key });
}

function obj(v: unknown, key: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(key, 'expected an object');
  return v as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, key: string, allowed: string[]): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) bad(key ? `${key}.${k}` : k, `unknown key (expected one of ${allowed.join(', ')})`);
}

function port(v: unknown, key: string): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65535)
    bad(key, `expected a port from 1 to 65535, got ${JSON.stringify(v)}`);
  return v as number;
}

function str(v: unknown, key: string): string {
  if (typeof v !== 'string' || v === '') bad(key, 'expected a non-empty string');
  return v;
}

function hostPort(v: unknown, key: string): HostPort {
  const m = typeof v === 'string' ? /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(v) : null;
  if (!m) bad(key, `expected "HOST:PORT", got ${JSON.stringify(v)}`);
  return { host: m[1] ?? m[2]!, port: port(Number(m[3]), key) };
}

/** Validates a parsed JSON config on top of `base` (the flags). */
export function parseWatchConfig(json: unknown, base: WatchConfig = DEFAULT_WATCH_CONFIG): WatchConfig {
  const o = obj(json, '(top level)');
  onlyKeys(o, '', [
    'listen',
    'ports',
    'web',
    'metrics',
    'spice',
    'passwordFile',
    'tlsCert',
    'tlsKey',
    'security',
    'vncWebsocket',
    'restart',
    'domains',
  ]);
  const cfg: WatchConfig = { ...base, domains: new Map(base.domains) };
  if (o.listen !== undefined) cfg.listen = str(o.listen, 'listen');
  if (o.ports !== undefined) {
    const p = obj(o.ports, 'ports');
    if (p.policy === 'base') {
      onlyKeys(p, 'ports', ['policy', 'base']);
      cfg.ports = { policy: 'base', base: port(p.base, 'ports.base') };
    } else if (p.policy === 'range') {
      onlyKeys(p, 'ports', ['policy', 'from', 'to']);
      const from = port(p.from, 'ports.from');
      const to = port(p.to, 'ports.to');
      if (to < from) bad('ports.to', `${to} is below ports.from ${from}`);
      cfg.ports = { policy: 'range', from, to };
    } else bad('ports.policy', `expected "base" or "range", got ${JSON.stringify(p.policy)}`);
  }
  for (const k of ['web', 'metrics'] as const) {
    if (o[k] === undefined) continue;
    if (o[k] === null) cfg[k] = null;
    else {
      const w = obj(o[k], k);
      onlyKeys(w, k, ['base']);
      cfg[k] = { base: port(w.base, `${k}.base`) };
    }
  }
  if (o.spice === null) cfg.spice = null;
  else if (o.spice !== undefined) {
    const sp = obj(o.spice, 'spice');
    onlyKeys(sp, 'spice', ['base', 'passwordFile', 'disableTicketing']);
    cfg.spice = { base: port(sp.base, 'spice.base') };
    if (sp.passwordFile !== undefined) cfg.spice.passwordFile = str(sp.passwordFile, 'spice.passwordFile');
    if (sp.disableTicketing !== undefined) {
      if (typeof sp.disableTicketing !== 'boolean') bad('spice.disableTicketing', 'expected true or false');
      cfg.spice.disableTicketing = sp.disableTicketing;
    }
    if (!cfg.spice.passwordFile && !cfg.spice.disableTicketing) {
      bad('spice', 'SPICE needs "passwordFile" (the ticket), or "disableTicketing": true to accept clients without one');
    }
  }
  for (const k of ['passwordFile', 'tlsCert', 'tlsKey', 'security'] as const) if (o[k] !== undefined) cfg[k] = str(o[k], k);
  if (o.vncWebsocket !== undefined) {
    if (typeof o.vncWebsocket !== 'boolean') bad('vncWebsocket', 'expected true or false');
    cfg.vncWebsocket = o.vncWebsocket;
  }
  if (o.restart !== undefined) {
    const r = obj(o.restart, 'restart');
    onlyKeys(r, 'restart', ['limit', 'baseMs']);
    const limit = r.limit ?? cfg.restart.limit;
    const baseMs = r.baseMs ?? cfg.restart.baseMs;
    if (!Number.isInteger(limit) || (limit as number) < 0 || (limit as number) > 1000)
      bad('restart.limit', 'expected a count from 0 to 1000');
    if (!Number.isInteger(baseMs) || (baseMs as number) < 10 || (baseMs as number) > 600_000)
      bad('restart.baseMs', 'expected 10 to 600000 ms');
    cfg.restart = { limit: limit as number, baseMs: baseMs as number };
  }
  if (o.domains !== undefined) {
    for (const [id, v] of Object.entries(obj(o.domains, 'domains'))) {
      const key = `domains.${id}`;
      if (!/^\d{1,5}$/.test(id) || Number(id) < 1 || Number(id) > MAX_DOMID) bad(key, `expected a guest domain id from 1 to ${MAX_DOMID}`);
      const d = obj(v, key);
      onlyKeys(d, key, ['vnc', 'web', 'passwordFile', 'tlsCert', 'tlsKey', 'security']);
      const over: DomainOverride = {};
      if (d.vnc !== undefined) over.vnc = hostPort(d.vnc, `${key}.vnc`);
      if (d.web !== undefined) over.web = hostPort(d.web, `${key}.web`);
      for (const k of ['passwordFile', 'tlsCert', 'tlsKey', 'security'] as const)
        if (d[k] !== undefined) over[k] = str(d[k], `${key}.${k}`);
      cfg.domains.set(Number(id), over);
    }
  }
  checkFixedPorts(cfg);
  return cfg;
}

/** Two domains fixed to the same address would fight over it: refuse the config. */
function checkFixedPorts(cfg: WatchConfig): void {
  const seen = new Map<string, string>();
  for (const [domid, d] of cfg.domains) {
    for (const [what, at] of [['vnc', d.vnc] as const, ['web', d.web] as const]) {
      if (!at) continue;
      const k = formatHostPort(at);
      const key = `domains.${domid}.${what}`;
      if (seen.has(k)) bad(key, `${k} is already given to ${seen.get(k)}`);
      seen.set(k, key);
    }
  }
}

export interface DomainPorts {
  vnc: HostPort;
  web: HostPort | null;
  metrics: HostPort | null;
  spice: HostPort | null;
}

/**
 * The addresses of domain `domid`'s backend. `inUse` holds the VNC ports other backends of
 * this daemon have now (the range policy skips them). Errors say which setting to change.
 */
export function portsFor(cfg: WatchConfig, domid: number, inUse: ReadonlySet<number>): DomainPorts {
  const over = cfg.domains.get(domid);
  const at = (base: number, what: string): HostPort => {
    const p = base + domid;
    if (p > 65535)
      throw xerror(
        'CFG_E_INVALID',
        `domain ${domid}: ${what} base ${base} + domid is past port 65535; lower ${what}.base or fix the port in domains.${domid}`,
        { key: `${what}.base` },
      );
    return { host: cfg.listen, port: p };
  };
  let vnc = over?.vnc;
  if (!vnc && cfg.ports.policy === 'base') vnc = at(cfg.ports.base, 'ports');
  if (!vnc && cfg.ports.policy === 'range') {
    for (let p = cfg.ports.from; p <= cfg.ports.to && !vnc; p++) if (!inUse.has(p)) vnc = { host: cfg.listen, port: p };
    if (!vnc) {
      throw xerror(
        'CFG_E_INVALID',
        `domain ${domid}: every VNC port in ${cfg.ports.from}-${cfg.ports.to} is taken; widen ports.from/ports.to`,
        { key: 'ports.to' },
      );
    }
  }
  return {
    vnc: vnc!,
    web: over?.web ?? (cfg.web ? at(cfg.web.base, 'web') : null),
    metrics: cfg.metrics ? at(cfg.metrics.base, 'metrics') : null,
    spice: cfg.spice ? at(cfg.spice.base, 'spice') : null,
  };
}

/** Security flags of a domain's backend (a domain's own override wins). */
export function securityArgsFor(cfg: WatchConfig, domid: number): string[] {
  const over = cfg.domains.get(domid) ?? {};
  const args: string[] = [];
  const pick = <K extends 'passwordFile' | 'tlsCert' | 'tlsKey' | 'security'>(k: K) => over[k] ?? cfg[k];
  const flag = { passwordFile: '--password-file', tlsCert: '--tls-cert', tlsKey: '--tls-key', security: '--security' } as const;
  for (const k of ['passwordFile', 'tlsCert', 'tlsKey', 'security'] as const) {
    const v = pick(k);
    if (v) args.push(flag[k], v);
  }
  if (cfg.spice?.passwordFile) args.push('--spice-password-file', cfg.spice.passwordFile);
  if (cfg.spice?.disableTicketing) args.push('--spice-disable-ticketing');
  return args;
}
