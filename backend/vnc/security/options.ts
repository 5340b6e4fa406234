// Which RFB security types a server offers, from its options. Names follow TigerVNC's
// -SecurityTypes (lower-cased); numbers from rfbproto §7.1.2 and the VeNCrypt subtype table.

import { xerror } from '../../../shared/errors';
import { type Logger, silentLogger } from '../../../shared/log';
import { SecurityType } from '../messages';
import { VNC_AUTH_PASSWORD_MAX } from './vnc-auth';

/** VeNCrypt 0.2 subtypes (rfbproto §7.2.19, "VeNCrypt"). */
export const VeNCryptSubtype = {
  Plain: 256,
  TLSNone: 257,
  TLSVnc: 258,
  TLSPlain: 259,
  X509None: 260,
  X509Vnc: 261,
  X509Plain: 262,
} as const;

export type TlsKind = 'anon' | 'x509';
export type InnerAuth = 'none' | 'vnc' | 'plain';

/** The security types this server can be configured with. */
export const SECURITY_TYPE_NAMES = ['none', 'vnc', 'tlsnone', 'tlsvnc', 'tlsplain', 'x509none', 'x509vnc', 'x509plain'] as const;
export type SecurityTypeName = (typeof SECURITY_TYPE_NAMES)[number];

interface TypeInfo {
  /** The top-level RFB security type carrying it. */
  rfbType: number;
  /** VeNCrypt subtype number (TLS* and X509* only). */
  subtype?: number;
  tls?: TlsKind;
  auth: InnerAuth;
}

export const SECURITY_TYPES: Record<SecurityTypeName, TypeInfo> = {
  none: { rfbType: SecurityType.None, auth: 'none' },
  vnc: { rfbType: SecurityType.VncAuth, auth: 'vnc' },
  tlsnone: { rfbType: SecurityType.VeNCrypt, subtype: VeNCryptSubtype.TLSNone, tls: 'anon', auth: 'none' },
  tlsvnc: { rfbType: SecurityType.VeNCrypt, subtype: VeNCryptSubtype.TLSVnc, tls: 'anon', auth: 'vnc' },
  tlsplain: { rfbType: SecurityType.VeNCrypt, subtype: VeNCryptSubtype.TLSPlain, tls: 'anon', auth: 'plain' },
  x509none: { rfbType: SecurityType.VeNCrypt, subtype: VeNCryptSubtype.X509None, tls: 'x509', auth: 'none' },
  x509vnc: { rfbType: SecurityType.VeNCrypt, subtype: VeNCryptSubtype.X509Vnc, tls: 'x509', auth: 'vnc' },
  x509plain: { rfbType: SecurityType.VeNCrypt, subtype: VeNCryptSubtype.X509Plain, tls: 'x509', auth: 'plain' },
};

/** The security part of the VncServer options. */
export interface VncSecurityOptions {
  /** VNC-auth password (types vnc, tlsvnc, x509vnc); only its first 8 bytes count. */
  password?: string;
  /** user -> password for the Plain subtypes (tlsplain, x509plain). */
  users?: Map<string, string>;
  /** PEM file paths for the X509 subtypes; anonymous TLS (tls*) needs none. */
  tls?: { cert?: string; key?: string };
  /** Offered types in order of preference; default from defaultSecurityTypes(). */
  types?: readonly SecurityTypeName[];
}

/** Validated security configuration, as the session engine uses it. */
export interface SecurityConfig {
  types: readonly SecurityTypeName[];
  /** VNC-auth password bytes, at most VNC_AUTH_PASSWORD_MAX. */
  password?: Buffer;
  users: ReadonlyMap<string, string>;
}

/** None when nothing is configured; with a password, VeNCrypt + VNC auth and no None. */
export function defaultSecurityTypes(opts: VncSecurityOptions): SecurityTypeName[] {
  const x509 = Boolean(opts.tls?.cert && opts.tls.key);
  const types: SecurityTypeName[] = [];
  if (opts.password !== undefined) types.push(...(x509 ? (['x509vnc'] as const) : []), 'tlsvnc', 'vnc');
  if (opts.users && opts.users.size > 0) types.push(...(x509 ? (['x509plain'] as const) : []), 'tlsplain');
  return types.length > 0 ? types : ['none'];
}

export function parseSecurityTypes(list: string): SecurityTypeName[] {
  const names = list
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
  for (const n of names) {
    if (!(SECURITY_TYPE_NAMES as readonly string[]).includes(n)) {
      throw xerror('RFB_E_SECURITY_CONFIG', `unknown security type "${n}" (expected ${SECURITY_TYPE_NAMES.join(', ')})`, { type: n });
    }
  }
  if (names.length === 0) throw xerror('RFB_E_SECURITY_CONFIG', 'the security type list is empty');
  return [...new Set(names as SecurityTypeName[])];
}

/** Check that every offered type has what it needs; truncate the VNC password like vncpasswd. */
export function resolveSecurity(opts: VncSecurityOptions = {}, log: Logger = silentLogger): SecurityConfig {
  const types = opts.types && opts.types.length > 0 ? [...new Set(opts.types)] : defaultSecurityTypes(opts);
  const hasCert = Boolean(opts.tls?.cert && opts.tls.key);
  let password: Buffer | undefined;
  if (opts.password !== undefined) {
    const full = Buffer.from(opts.password, 'utf8');
    if (full.length > VNC_AUTH_PASSWORD_MAX) {
      log.warn({ length: full.length, max: VNC_AUTH_PASSWORD_MAX }, 'VNC password longer than 8 bytes: only the first 8 are used');
    }
    password = full.subarray(0, VNC_AUTH_PASSWORD_MAX);
  }
  const users = opts.users ?? new Map<string, string>();
  for (const name of types) {
    const info = SECURITY_TYPES[name];
    if (!info) throw xerror('RFB_E_SECURITY_CONFIG', `unknown security type "${String(name)}"`, { type: name });
    if (info.auth === 'vnc' && (!password || password.length === 0)) {
      throw xerror('RFB_E_SECURITY_CONFIG', `security type ${name} needs a password`, { type: name });
    }
    if (info.auth === 'plain' && users.size === 0) {
      throw xerror('RFB_E_SECURITY_CONFIG', `security type ${name} needs at least one user`, { type: name });
    }
    if (info.tls === 'x509' && !hasCert) {
      throw xerror('RFB_E_SECURITY_CONFIG', `security type ${name} needs a certificate and key (tls.cert, tls.key)`, { type: name });
    }
  }
  return { types, password, users };
}

export function usesTls(config: SecurityConfig, kind?: TlsKind): boolean {
  return config.types.some((t) => SECURITY_TYPES[t].tls !== undefined && (kind === undefined || SECURITY_TYPES[t].tls === kind));
}
