// SPICE ticket decryption (backend/spice/ticket.ts): a ticket encrypted as spice-server's
// clients do decrypts; one whose ciphertext starts with a zero byte, sent the way spice-html5
// sends it (that byte dropped, a zero appended), decrypts too; anything else is refused.

import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import { decryptTicket, newTicketKey } from '../../../backend/spice/ticket';
import { isXenvfbError } from '../../../shared/errors';

const oaep = { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' } as const;

describe('spice/ticket', () => {
  const key = newTicketKey();
  const publicKey = crypto.createPublicKey({ key: key.publicDer, format: 'der', type: 'spki' });
  const encrypt = (password: string): Buffer => crypto.publicEncrypt({ key: publicKey, ...oaep }, Buffer.from(`${password}\0`));

  it('decrypts a ticket to the password before its NUL', () => {
    assert.equal(decryptTicket(key, encrypt('s3cret')).toString(), 's3cret');
  });

  it("decrypts spice-html5's ticket whose leading zero byte it dropped (one link in 256)", () => {
    let c: Buffer;
    let tries = 0;
    do {
      c = encrypt('s3cret');
      tries++;
    } while (c[0] !== 0 && tries < 20000);
    assert.equal(c[0], 0, `no ciphertext with a leading zero byte in ${tries} tries`);
    // What spice-html5 sends: the bytes after the zero, left-aligned, a zero after them.
    const sent = Buffer.concat([c.subarray(1), Buffer.alloc(1)]);
    assert.equal(decryptTicket(key, sent).toString(), 's3cret');
  });

  it('refuses a ticket that does not decrypt, shifted or not', () => {
    const bad = Buffer.from(encrypt('s3cret'));
    bad[5] ^= 0x40;
    assert.throws(
      () => decryptTicket(key, bad),
      (e: unknown) => isXenvfbError(e, 'SPICE_E_AUTH_FAILED'),
    );
    assert.throws(
      () => decryptTicket(key, Buffer.alloc(128)),
      (e: unknown) => isXenvfbError(e, 'SPICE_E_AUTH_FAILED'),
    );
    const other = newTicketKey();
    assert.throws(
      () => decryptTicket(other, encrypt('s3cret')),
      (e: unknown) => isXenvfbError(e, 'SPICE_E_AUTH_FAILED'),
    );
  });
});
