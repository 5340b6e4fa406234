// The security phase of an RFB session (rfbproto §7.1.2-7.1.3, §7.2.2, VeNCrypt §7.2.19):
// from the server's type list to SecurityResult. An engine like the session: bytes in through
// step(), bytes out through send(); TLS is an intent (startTls) the transport adapter carries
// out, after which both directions of the same byte stream are inside TLS.

import * as crypto from 'node:crypto';
import { xerror } from '../../../shared/errors';
import {
  buildConnectionFailed,
  buildSecurityResultFailed,
  buildSecurityResultOk,
  buildSecurityType33,
  buildSecurityTypes,
} from '../handshake';
import type { Logger } from '../../../shared/log';
import { type RfbMinorVersion, SecurityType, securityTypeName } from '../messages';
import { type InnerAuth, SECURITY_TYPES, type SecurityConfig, type SecurityTypeName, type TlsKind } from './options';
import type { AuthGate } from '../../auth/throttle';
import {
  buildVeNCryptSubtypeAck,
  buildVeNCryptSubtypes,
  buildVeNCryptVersion,
  buildVeNCryptVersionAck,
  parsePlainCredentials,
  parseVeNCryptChoice,
  parseVeNCryptVersion,
  VENCRYPT_MAJOR,
  VENCRYPT_MINOR,
} from './vencrypt';
import { checkVncAuthResponse, VNC_AUTH_CHALLENGE_SIZE } from './vnc-auth';

/** The reason TigerVNC gives, so clients show the message their users know. */
export const AUTH_FAILURE_REASON = 'Authentication failure';
/** Said when an address already has AUTH_MAX_PENDING_PER_HOST authentications in progress. */
export const AUTH_BUSY_REASON = 'Too many authentications in progress from this address';

export interface SecurityNegotiatorOptions {
  config: SecurityConfig;
  send(bytes: Uint8Array): void;
  /** Absent when the transport cannot do TLS (e.g. WebSocket): TLS subtypes are then not offered. */
  startTls?(kind: TlsKind): void;
  gate?: AuthGate;
  /** Random bytes for the VNC-auth challenge (default crypto.randomBytes). */
  random?(n: number): Uint8Array;
  /**
   * Run `judge` after `ms` (the throttle's delay before a response is judged); the session
   * runs it like input (a throw closes it) and carries on with its buffered bytes after.
   * Absent: judged at once.
   */
  defer?(ms: number, judge: () => void): void;
  log: Logger;
}

export type SecurityPhase =
  | 'begin'
  | 'choice'
  | 'vencryptVersion'
  | 'vencryptSubtype'
  | 'vncResponse'
  | 'plainCredentials'
  /** A response is in, its verdict waits for the throttle's delay. */
  | 'judging'
  | 'done';

export class SecurityNegotiator {
  phase: SecurityPhase = 'begin';
  /** The security type in use once chosen (for logs). */
  chosen: SecurityTypeName | undefined;
  /** Username that passed Plain authentication. */
  username: string | undefined;

  private version: RfbMinorVersion = 8;
  private offered: SecurityTypeName[] = [];
  private challenge: Uint8Array = new Uint8Array(0);

  constructor(private readonly opts: SecurityNegotiatorOptions) {}

  get done(): boolean {
    return this.phase === 'done';
  }

  /** After ProtocolVersion: offer the types (3.3: pick one). */
  begin(version: RfbMinorVersion): void {
    this.version = version;
    this.offered = this.opts.config.types.filter((t) => SECURITY_TYPES[t].tls === undefined || this.opts.startTls !== undefined);
    if (version === 3) return this.begin33();
    const top = [...new Set(this.offered.map((t) => SECURITY_TYPES[t].rfbType))];
    if (top.length === 0) this.noSecurity('no security type this connection can use');
    this.opts.send(buildSecurityTypes(top));
    this.phase = 'choice';
  }

  /** Handle one message of the current phase; 0 means "need more bytes". */
  step(buf: Buffer): number {
    switch (this.phase) {
      case 'choice':
        return this.securityChoice(buf);
      case 'vencryptVersion':
        return this.vencryptVersion(buf);
      case 'vencryptSubtype':
        return this.vencryptSubtype(buf);
      case 'vncResponse':
        return this.vncResponse(buf);
      case 'plainCredentials':
        return this.plainCredentials(buf);
      case 'begin':
      case 'judging':
      case 'done':
        return 0;
    }
  }

  /** The session ended: an authentication in progress no longer counts against the address. */
  dispose(): void {
    this.opts.gate?.end();
  }

  /**
   * The gate is consulted here, when a response is judged: the verdict waits for the
   * address's delay (auth/throttle.ts), so failures from parallel connections count too.
   */
  private judgeLater(judge: () => void): void {
    const ms = this.opts.gate?.judgeDelay() ?? 0;
    if (ms <= 0 || !this.opts.defer) return judge();
    this.phase = 'judging';
    this.opts.log.debug({ delayMs: ms }, 'authentication response judged after the throttle delay');
    this.opts.defer(ms, judge);
  }

  /** An authentication starts: refused if this address has too many in progress. */
  private beginAuth(): void {
    if (!this.opts.gate || this.opts.gate.begin()) return;
    this.opts.send(buildSecurityResultFailed(AUTH_BUSY_REASON, this.version === 8));
    throw xerror('RFB_E_AUTH_BUSY', AUTH_BUSY_REASON);
  }

  // 3.3: u32 security-type chosen by the server, None or VNC auth only (rfbproto §7.1.2)
  private begin33(): void {
    const pick = this.offered.find((t) => t === 'none' || t === 'vnc');
    if (!pick) this.noSecurity('RFB 3.3 allows only None or VNC authentication');
    this.chosen = pick;
    this.opts.send(buildSecurityType33(SECURITY_TYPES[pick].rfbType));
    // With None there is no SecurityResult before 3.8.
    if (pick === 'none') this.phase = 'done';
    else this.startInner('vnc');
  }

  private noSecurity(reason: string): never {
    this.opts.send(buildConnectionFailed(reason, this.version));
    throw xerror('RFB_E_NO_SECURITY', reason, { offered: this.offered, version: this.version });
  }

  // u8 security-type (3.7 / 3.8)
  private securityChoice(buf: Buffer): number {
    if (buf.length < 1) return 0;
    const type = buf[0]!;
    const name = this.offered.find((t) => SECURITY_TYPES[t].rfbType === type);
    if (!name) this.refuse(`security type ${securityTypeName(type)} was not offered`, 'RFB_E_BAD_SECURITY', { chosen: type });
    if (type === SecurityType.VeNCrypt) {
      this.opts.send(buildVeNCryptVersion());
      this.phase = 'vencryptVersion';
      return 1;
    }
    this.chosen = name;
    if (name === 'none') {
      if (this.version === 8) this.opts.send(buildSecurityResultOk());
      this.phase = 'done';
    } else {
      this.startInner('vnc');
    }
    return 1;
  }

  // u8 major | u8 minor
  private vencryptVersion(buf: Buffer): number {
    const v = parseVeNCryptVersion(buf);
    if (!v) return 0;
    const ok = v.major === VENCRYPT_MAJOR && v.minor === VENCRYPT_MINOR;
    this.opts.send(buildVeNCryptVersionAck(ok));
    if (!ok) {
      throw xerror('RFB_E_BAD_SECURITY', `VeNCrypt version ${v.major}.${v.minor} is not supported (only 0.2)`, { ...v });
    }
    const subtypes = this.offered.flatMap((t) => SECURITY_TYPES[t].subtype ?? []);
    this.opts.send(buildVeNCryptSubtypes(subtypes));
    this.phase = 'vencryptSubtype';
    return 1 + 1;
  }

  // u32 subtype
  private vencryptSubtype(buf: Buffer): number {
    const subtype = parseVeNCryptChoice(buf);
    if (subtype === null) return 0;
    const name = this.offered.find((t) => SECURITY_TYPES[t].subtype === subtype);
    this.opts.send(buildVeNCryptSubtypeAck(name !== undefined));
    if (!name) throw xerror('RFB_E_BAD_SECURITY', `VeNCrypt subtype ${subtype} was not offered`, { subtype });
    // The client starts TLS only after the ack, so anything else already here is not RFB.
    if (buf.length > 4) {
      throw xerror('RFB_E_TLS', `client sent ${buf.length - 4} bytes before the TLS handshake`, { subtype });
    }
    this.chosen = name;
    const info = SECURITY_TYPES[name];
    if (info.tls) {
      this.opts.log.debug({ subtype: name, tls: info.tls }, 'VeNCrypt: starting TLS');
      this.opts.startTls!(info.tls);
    }
    this.startInner(info.auth);
    return 4;
  }

  /** After the outer layer: the authentication that decides SecurityResult. */
  private startInner(auth: InnerAuth): void {
    switch (auth) {
      case 'none':
        // VeNCrypt is not type None, so SecurityResult follows in every version.
        this.succeed();
        return;
      case 'vnc':
        this.beginAuth();
        this.challenge = (this.opts.random ?? crypto.randomBytes)(VNC_AUTH_CHALLENGE_SIZE);
        this.opts.send(this.challenge);
        this.phase = 'vncResponse';
        return;
      case 'plain':
        this.beginAuth();
        this.phase = 'plainCredentials';
        return;
    }
  }

  // u8 response[16]: DES of the challenge under the password
  private vncResponse(buf: Buffer): number {
    if (buf.length < VNC_AUTH_CHALLENGE_SIZE) return 0;
    const response = Buffer.from(buf.subarray(0, VNC_AUTH_CHALLENGE_SIZE));
    const password = this.opts.config.password ?? Buffer.alloc(0);
    this.judgeLater(() => {
      if (!checkVncAuthResponse(password, this.challenge, response)) this.authFailed({ type: this.chosen });
      this.succeed();
    });
    return VNC_AUTH_CHALLENGE_SIZE;
  }

  // u32 username-length | u32 password-length | username | password
  private plainCredentials(buf: Buffer): number {
    const creds = parsePlainCredentials(buf);
    if (!creds) return 0;
    this.judgeLater(() => {
      const stored = this.opts.config.users.get(creds.username);
      if (stored === undefined || !sameSecret(stored, creds.password)) this.authFailed({ type: this.chosen, username: creds.username });
      this.username = creds.username;
      this.succeed();
    });
    return creds.size;
  }

  private succeed(): void {
    this.opts.gate?.success();
    this.opts.gate?.end();
    this.opts.send(buildSecurityResultOk());
    this.phase = 'done';
    this.opts.log.info({ security: this.chosen, ...(this.username ? { username: this.username } : {}) }, 'vnc client authenticated');
  }

  private authFailed(details: Record<string, unknown>): never {
    this.opts.gate?.failure();
    this.opts.gate?.end();
    this.refuse(AUTH_FAILURE_REASON, 'RFB_E_AUTH_FAILED', details);
  }

  /** SecurityResult failed (with the reason in 3.8 only), then the session closes. */
  private refuse(reason: string, code: 'RFB_E_BAD_SECURITY' | 'RFB_E_AUTH_FAILED', details: Record<string, unknown>): never {
    this.opts.send(buildSecurityResultFailed(reason, this.version === 8));
    throw xerror(code, reason, details);
  }
}

/** Compare two secrets in time that depends on neither. */
function sameSecret(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a, 'utf8').digest();
  const hb = crypto.createHash('sha256').update(b, 'utf8').digest();
  return crypto.timingSafeEqual(ha, hb);
}
