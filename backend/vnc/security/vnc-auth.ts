// VNC authentication (rfbproto §7.2.2): DES of a 16-byte challenge under the password.
// The password is cut or zero-padded to 8 bytes and each byte is bit-reversed before use as
// the key, because the original d3des takes the low bit first. OpenSSL 3 keeps single DES in
// its legacy provider, so this uses 3DES-EDE with K|K|K, which is single DES.

import * as crypto from 'node:crypto';

/** Only the first 8 bytes of a VNC password count (vncpasswd truncates too). */
export const VNC_AUTH_PASSWORD_MAX = 8;
/** Challenge and response are 16 bytes: two independent DES blocks. */
export const VNC_AUTH_CHALLENGE_SIZE = 16;

/** The fixed key TigerVNC/RealVNC use to obfuscate stored passwords (vncpasswd files). */
export const VNC_PASSWD_FILE_KEY = Uint8Array.of(23, 82, 107, 6, 35, 78, 88, 7);

function reverseBits(b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) r |= ((b >> i) & 1) << (7 - i);
  return r;
}

/** The 8-byte DES key for a password: truncated/zero-padded, bits of each byte reversed. */
export function vncAuthKey(password: Uint8Array): Buffer {
  const key = Buffer.alloc(8);
  for (let i = 0; i < 8 && i < password.length; i++) key[i] = reverseBits(password[i]!);
  return key;
}

/** DES-ECB of `data` (a multiple of 8 bytes) under an 8-byte key, no padding. */
export function desEcbEncrypt(key8: Uint8Array, data: Uint8Array): Buffer {
  const cipher = crypto.createCipheriv('des-ede3-ecb', Buffer.concat([key8, key8, key8]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

export function desEcbDecrypt(key8: Uint8Array, data: Uint8Array): Buffer {
  const decipher = crypto.createDecipheriv('des-ede3-ecb', Buffer.concat([key8, key8, key8]), null);
  decipher.setAutoPadding(false);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

/** What a client holding `password` answers to `challenge`. */
export function vncAuthResponse(password: Uint8Array, challenge: Uint8Array): Buffer {
  return desEcbEncrypt(vncAuthKey(password), challenge);
}

/** Constant-time check of a client's 16-byte response. */
export function checkVncAuthResponse(password: Uint8Array, challenge: Uint8Array, response: Uint8Array): boolean {
  const expected = vncAuthResponse(password, challenge);
  return response.length === expected.length && crypto.timingSafeEqual(expected, response);
}

/** The 8-byte obfuscated form in a vncpasswd file (`vncpasswd -f`, `-PasswordFile`). */
export function obfuscateVncPassword(password: Uint8Array): Buffer {
  const padded = Buffer.alloc(8);
  padded.set(password.subarray(0, 8));
  return desEcbEncrypt(vncAuthKey(VNC_PASSWD_FILE_KEY), padded);
}

export function deobfuscateVncPassword(stored: Uint8Array): Buffer {
  const plain = desEcbDecrypt(vncAuthKey(VNC_PASSWD_FILE_KEY), stored.subarray(0, 8));
  const end = plain.indexOf(0);
  return end < 0 ? plain : plain.subarray(0, end);
}
