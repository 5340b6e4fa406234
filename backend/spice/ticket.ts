// SPICE ticket authentication (spice/protocol.h SpiceLinkEncryptedTicket; spice-server
// reds.cpp reds_handle_ticket): the server sends a fresh RSA-1024 public key as
// SubjectPublicKeyInfo DER in SpiceLinkReply; the client answers with password + NUL
// encrypted with RSA-OAEP (SHA-1, MGF1-SHA1, empty label). We decrypt, compare up to the NUL
// in constant time, and refuse an expired ticket.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { xerror } from '../../shared/errors';
import { SPICE_MAX_PASSWORD_LENGTH, SPICE_TICKET_KEY_PAIR_LENGTH, SPICE_TICKET_PUBKEY_BYTES } from '../../shared/spice/constants';

/** The environment variable a SPICE password may come from (never from the command line). */
export const SPICE_PASSWORD_ENV = 'XENVFB_SPICE_PASSWORD';

export interface SpiceTicketing {
  /** The password, or null when ticketing is disabled (any ticket, even empty, is accepted). */
  password: string | null;
  /** Wall-clock ms (Date.now()) after which the ticket is refused; undefined = never. */
  expiresAt?: number;
}

export interface TicketKey {
  /** The 162-byte SPKI DER sent in SpiceLinkReply. */
  publicDer: Buffer;
  privateKey: crypto.KeyObject;
}

/** A fresh RSA-1024 key pair, as spice-server makes per link (reds.cpp reds_handle_new_link). */
export function newTicketKey(): TicketKey {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', {
    modulusLength: SPICE_TICKET_KEY_PAIR_LENGTH,
    publicExponent: 65537,
  });
  const publicDer = publicKey.export({ type: 'spki', format: 'der' });
  if (publicDer.length !== SPICE_TICKET_PUBKEY_BYTES) {
    throw xerror('SPICE_E_CONFIG', `RSA public key encodes to ${publicDer.length} bytes, SPICE needs ${SPICE_TICKET_PUBKEY_BYTES}`);
  }
  return { publicDer, privateKey };
}

/** Most leading zero bytes of the ciphertext a client may have dropped (see decryptTicket). */
const MAX_DROPPED_ZERO_BYTES = 2;

/**
 * Decrypt an encrypted ticket to the password bytes before the first NUL; SPICE_E_AUTH_FAILED
 * if it does not decrypt.
 *
 * spice-html5 (ticket.js rsa_encrypt) writes the ciphertext through BigInteger.toString(16),
 * which drops its leading zero bytes, and left-aligns what is left in the 128-byte field with
 * zeros after it: one link in 256 sends a ticket that no server decrypts as it is (spice-server
 * refuses it too, and the page reports "Permission denied."). When the ticket does not decrypt
 * and ends in zero bytes, the same bytes moved right by one or two are tried: OAEP's own check
 * rejects a wrong guess, so nothing that would not decrypt is accepted.
 */
export function decryptTicket(key: TicketKey, encrypted: Uint8Array): Buffer {
  let plain = oaepDecrypt(key, encrypted);
  for (let k = 1; plain === null && k <= MAX_DROPPED_ZERO_BYTES && encrypted[encrypted.length - k] === 0; k++) {
    const shifted = new Uint8Array(encrypted.length);
    shifted.set(encrypted.subarray(0, encrypted.length - k), k);
    plain = oaepDecrypt(key, shifted);
  }
  if (plain === null) throw xerror('SPICE_E_AUTH_FAILED', 'the SPICE ticket does not decrypt with this link key');
  const nul = plain.indexOf(0);
  return nul >= 0 ? plain.subarray(0, nul) : plain;
}

function oaepDecrypt(key: TicketKey, encrypted: Uint8Array): Buffer | null {
  try {
    return crypto.privateDecrypt({ key: key.privateKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, encrypted);
  } catch {
    return null;
  }
}

/** Constant-time equality of a decrypted ticket and the password (length leaks, content does not). */
export function ticketMatches(given: Uint8Array, password: string): boolean {
  const want = crypto.createHash('sha256').update(Buffer.from(password, 'utf8')).digest();
  const got = crypto.createHash('sha256').update(given).digest();
  return crypto.timingSafeEqual(want, got);
}

/** Check a decrypted ticket against the configuration; throws the typed reason on refusal. */
export function checkTicket(ticketing: SpiceTicketing, given: Uint8Array, now = Date.now()): void {
  if (ticketing.password === null) return;
  const ok = ticketMatches(given, ticketing.password);
  if (ticketing.expiresAt !== undefined && now > ticketing.expiresAt) {
    throw xerror('SPICE_E_TICKET_EXPIRED', `the SPICE ticket expired at ${new Date(ticketing.expiresAt).toISOString()}`);
  }
  if (!ok) throw xerror('SPICE_E_AUTH_FAILED', 'wrong SPICE ticket');
}

/** Longest password file accepted (a password is at most SPICE_MAX_PASSWORD_LENGTH - 1 bytes; newlines trimmed). */
export const SPICE_PASSWORD_FILE_MAX = 4096;

/**
 * The SPICE password from a file (first line) or, without one, from $XENVFB_SPICE_PASSWORD.
 * Returns null when neither gives one. Passwords longer than the clients accept are refused.
 */
export function loadSpicePassword(file: string | undefined, env: NodeJS.ProcessEnv = process.env): string | null {
  let password: string | undefined;
  if (file) {
    let text: string;
    try {
      const st = fs.statSync(file);
      if (st.size > SPICE_PASSWORD_FILE_MAX)
        throw xerror('SPICE_E_CONFIG', `SPICE password file ${file} is ${st.size} bytes; expected one short line`);
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if (e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('SPICE_')) throw e;
      throw xerror('SPICE_E_CONFIG', `cannot read the SPICE password file ${file}: ${(e as Error).message}`, { file });
    }
    password = text.split(/\r?\n/)[0] ?? '';
  } else if (env[SPICE_PASSWORD_ENV] !== undefined) {
    password = env[SPICE_PASSWORD_ENV];
  }
  if (password === undefined) return null;
  if (Buffer.byteLength(password, 'utf8') >= SPICE_MAX_PASSWORD_LENGTH) {
    throw xerror(
      'SPICE_E_CONFIG',
      `the SPICE password is longer than ${SPICE_MAX_PASSWORD_LENGTH - 1} bytes, which SPICE clients cannot send`,
    );
  }
  if (password.length === 0) throw xerror('SPICE_E_CONFIG', 'the SPICE password is empty: write one, or use --spice-disable-ticketing');
  return password;
}

/**
 * Fresh link keys, one per link, made one at a time in the background (libuv's thread pool):
 * a key is always ready for the next link, and a burst of links waits its turn instead of
 * making the process spend its CPU on keys (about 6 ms each on one core).
 */
export class TicketKeyPool {
  private ready: TicketKey | null = null;
  private making: Promise<TicketKey> | null = null;

  /** A key no other link has seen. */
  async take(): Promise<TicketKey> {
    for (;;) {
      if (this.ready) {
        const key = this.ready;
        this.ready = null;
        this.refill();
        return key;
      }
      await this.refill();
    }
  }

  private refill(): Promise<TicketKey> {
    if (this.making) return this.making;
    this.making = new Promise<TicketKey>((resolve, reject) => {
      crypto.generateKeyPair(
        'rsa',
        { modulusLength: SPICE_TICKET_KEY_PAIR_LENGTH, publicExponent: 65537 },
        (err, publicKey, privateKey) => {
          if (err) return reject(err);
          const publicDer = publicKey.export({ type: 'spki', format: 'der' });
          resolve({ publicDer, privateKey });
        },
      );
    }).then((key) => {
      this.making = null;
      this.ready ??= key;
      return key;
    });
    return this.making;
  }
}
