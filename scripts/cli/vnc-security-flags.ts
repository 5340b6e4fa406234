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

export interface VncSecurityFlags {
  passwordFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  security?: SecurityTypeName[];
}

export const VNC_SECURITY_HELP = {
  passwordFile: `VNC password: first line of <file> (or set ${VNC_PASSWORD_ENV}); only 8 bytes count`,
  tlsCert: 'PEM certificate for the X509 VeNCrypt types (with --tls-key)',
  tlsKey: 'PEM private key for --tls-cert',
  security: `offered security types in order, from ${SECURITY_TYPE_NAMES.join(',')} (default: none; with a password: x509vnc if a certificate is given, tlsvnc, vnc)`,
};

/** commander parser for --security. */
export function parseSecurityFlag(value: string): SecurityTypeName[] {
  try {
    return parseSecurityTypes(value);
  } catch (e) {
    throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
  }
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
  return args;
}
