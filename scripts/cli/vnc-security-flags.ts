// The VNC security flags shared by `xenvfb backend` and `xenvfb demo`: turned into
// VncSecurityOptions for the backend, or passed on to the backend child by the demo.

import * as path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { isXenvfbError } from '../../shared/errors';
import {
  parseSecurityTypes,
  resolveSecurity,
  SECURITY_TYPE_NAMES,
  type SecurityTypeName,
  type VncSecurityOptions,
} from '../../backend/vnc/security/options';
import { loadVncPassword, VNC_PASSWORD_ENV } from '../../backend/vnc/security/password-source';
import type { Logger } from '../../shared/log';
import {
  NET_HANDSHAKE_STAGE_MS,
  NET_MAX_CONNECTIONS,
  NET_MAX_CONNECTIONS_PER_ADDRESS,
  NET_SURFACE_WAIT_MS,
  type NetLimitsOptions,
} from '../../backend/net/limits';
import { AUTH_MAX_DELAY_MS } from '../../backend/auth/throttle';
import { SNIFF_WAIT_MS } from '../../backend/web/websocket/sniff';

export interface VncSecurityFlags {
  passwordFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  security?: SecurityTypeName[];
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
  handshakeTimeout?: number;
  surfaceWait?: number;
  authMaxDelay?: number;
}

export const VNC_SECURITY_HELP = {
  passwordFile: `VNC password: first line of <file> (or set ${VNC_PASSWORD_ENV}); only 8 bytes count`,
  tlsCert: 'PEM certificate for the X509 VeNCrypt types (with --tls-key)',
  tlsKey: 'PEM private key for --tls-cert',
  maxConnections: `clients (VNC and web) connected at once, all addresses (default ${NET_MAX_CONNECTIONS}); more are refused`,
  maxConnectionsPerAddress: `clients connected at once from one address (default ${NET_MAX_CONNECTIONS_PER_ADDRESS}); on a shared 127.0.0.1 every local user counts`,
  handshakeTimeout: `ms each stage before serving (version, security, VeNCrypt, TLS, ClientInit, HTTP head) may take (default ${NET_HANDSHAKE_STAGE_MS})`,
  surfaceWait: `ms a new client waits for the guest's framebuffer before it is closed with a reason (default ${NET_SURFACE_WAIT_MS})`,
  authMaxDelay: `longest delay, ms, before a password response from an address with recent failures is judged (default ${AUTH_MAX_DELAY_MS}; docs/security.md)`,
  security: `offered security types in order, from ${SECURITY_TYPE_NAMES.join(',')} (default: none; with a password: x509vnc if a certificate is given, tlsvnc, vnc)`,
};

/** --no-vnc-websocket (backend and demo): RFB only on the VNC port. */
export const VNC_NO_WEBSOCKET_HELP = `no WebSocket clients on the VNC port: greet RFB clients at once, not after a ${SNIFF_WAIT_MS} ms wait for an HTTP request (--web still serves noVNC)`;

/** commander parser for --security. */
export function parseSecurityFlag(value: string): SecurityTypeName[] {
  try {
    return parseSecurityTypes(value);
  } catch (e) {
    throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
  }
}

/** commander parser for the limit flags: a whole number of at least 1. */
export function parseLimitFlag(value: string): number {
  const n = Number(value);
  if (!/^\d{1,9}$/.test(value) || n < 1) throw new InvalidArgumentError(`expected a whole number of at least 1, got "${value}"`);
  return n;
}

/** The limit flags as VncServer / WebServer limits (unset flags keep the defaults of backend/net/limits.ts). */
export function netLimitsFromFlags(flags: VncSecurityFlags): NetLimitsOptions {
  return {
    maxConnections: flags.maxConnections,
    maxConnectionsPerAddress: flags.maxConnectionsPerAddress,
    handshakeStageMs: flags.handshakeTimeout,
    httpHeadMs: flags.handshakeTimeout,
    surfaceWaitMs: flags.surfaceWait,
    auth: { maxDelayMs: flags.authMaxDelay },
  };
}

/** The options for VncServer; checked now so a bad combination stops the command at once. */
export function vncSecurityFromFlags(flags: VncSecurityFlags, log?: Logger, env: NodeJS.ProcessEnv = process.env): VncSecurityOptions {
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  const security: VncSecurityOptions = {};
  const password = loadVncPassword(flags.passwordFile, env);
  if (password !== undefined) security.password = password;
  if (flags.tlsCert && flags.tlsKey) security.tls = { cert: flags.tlsCert, key: flags.tlsKey };
  if (flags.security) security.types = flags.security;
  try {
    resolveSecurity(security, log);
  } catch (e) {
    if (isXenvfbError(e)) throw new InvalidArgumentError(e.message);
    throw e;
  }
  return security;
}

/** The same flags for a child `xenvfb backend` (paths made absolute; the password stays in its file or env). */
export function vncSecurityArgs(flags: VncSecurityFlags): string[] {
  const args: string[] = [];
  if (flags.passwordFile) args.push('--password-file', path.resolve(flags.passwordFile));
  if (flags.tlsCert) args.push('--tls-cert', path.resolve(flags.tlsCert));
  if (flags.tlsKey) args.push('--tls-key', path.resolve(flags.tlsKey));
  if (flags.security) args.push('--security', flags.security.join(','));
  const limits: [string, number | undefined][] = [
    ['--max-connections', flags.maxConnections],
    ['--max-connections-per-address', flags.maxConnectionsPerAddress],
    ['--handshake-timeout', flags.handshakeTimeout],
    ['--surface-wait', flags.surfaceWait],
    ['--auth-max-delay', flags.authMaxDelay],
  ];
  for (const [flag, v] of limits) if (v !== undefined) args.push(flag, String(v));
  return args;
}
