// The warning a backend prints when it lets anyone who can reach a non-loopback address
// take over a guest's console: no password, or TLS without one (anonymous TLS encrypts but
// does not authenticate).

import * as net from 'node:net';
import { resolveSecurity, SECURITY_TYPES, type VncSecurityOptions } from '../../backend/vnc/security/options';
import type { HostPort } from './args';

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  const h = host.toLowerCase();
  return h === '::1' || h.startsWith('::ffff:127.');
}

/** The line to print, or undefined when every listener is loopback or every type authenticates. */
export function unauthenticatedWarning(security: VncSecurityOptions, listeners: Array<{ flag: string; at: HostPort }>): string | undefined {
  const open = resolveSecurity(security).types.filter((t) => SECURITY_TYPES[t].auth === 'none');
  const exposed = listeners.filter((l) => !isLoopback(l.at.host));
  if (open.length === 0 || exposed.length === 0) return undefined;
  const where = exposed.map((l) => `${l.at.host}:${l.at.port} (${l.flag})`).join(', ');
  return (
    `warning: serving ${where} without authentication (security ${open.join(', ')}): anyone who can reach it controls the guest's ` +
    'console. Give a password with --password-file FILE (or XENVFB_VNC_PASSWORD) and a certificate with --tls-cert/--tls-key, ' +
    'or listen on 127.0.0.1.'
  );
}
