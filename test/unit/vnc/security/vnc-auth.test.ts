import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import {
  checkVncAuthResponse,
  deobfuscateVncPassword,
  obfuscateVncPassword,
  vncAuthKey,
  vncAuthResponse,
} from '../../../../backend/vnc/security/vnc-auth';

// Independent of the server's code: a table-driven bit reversal and two-key 3DES (K|K), which is
// single DES by another route than the server's K|K|K.
const REVERSED = Array.from({ length: 256 }, (_, b) => parseInt(b.toString(2).padStart(8, '0').split('').reverse().join(''), 2));

function referenceResponse(password: string, challenge: Buffer): Buffer {
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1')
    .subarray(0, 8)
    .forEach((b, i) => (key[i] = REVERSED[b]!));
  const c = crypto.createCipheriv('des-ede-ecb', Buffer.concat([key, key]), null).setAutoPadding(false);
  return Buffer.concat([c.update(challenge), c.final()]);
}

describe('vnc/security/vnc-auth', () => {
  it('obfuscates "secret12" like TigerVNC vncpasswd: 24b5ae4ce15503c6', () => {
    assert.equal(obfuscateVncPassword(Buffer.from('secret12')).toString('hex'), '24b5ae4ce15503c6');
    assert.equal(deobfuscateVncPassword(Buffer.from('24b5ae4ce15503c6', 'hex')).toString(), 'secret12');
  });

  it('short passwords are zero-padded in the obfuscated form and come back without the padding', () => {
    const stored = obfuscateVncPassword(Buffer.from('abc'));
    assert.equal(stored.length, 8);
    assert.equal(deobfuscateVncPassword(stored).toString(), 'abc');
  });

  it('the key is the bit-reversed password, zero-padded to 8 bytes', () => {
    assert.deepEqual([...vncAuthKey(Buffer.of(0x01, 0x80, 0x0f))], [0x80, 0x01, 0xf0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...vncAuthKey(Buffer.from('123456789'))], [...vncAuthKey(Buffer.from('12345678'))]);
  });

  for (const password of ['secret12', 'pw', '12345678', '\u00ff\u00fe']) {
    it(`response to a challenge matches an independent DES (${JSON.stringify(password)})`, () => {
      const challenge = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
      const expected = referenceResponse(password, challenge);
      const got = vncAuthResponse(Buffer.from(password, 'latin1'), challenge);
      assert.equal(got.toString('hex'), expected.toString('hex'));
      assert.ok(checkVncAuthResponse(Buffer.from(password, 'latin1'), challenge, expected));
    });
  }

  it('the two halves are independent DES blocks (ECB)', () => {
    const challenge = crypto.randomBytes(16);
    const pw = Buffer.from('secret12');
    const whole = vncAuthResponse(pw, challenge);
    const a = vncAuthResponse(pw, challenge.subarray(0, 8));
    const b = vncAuthResponse(pw, challenge.subarray(8));
    assert.deepEqual(whole, Buffer.concat([a, b]));
  });

  it('a wrong password, a flipped bit or a short response fails the check', () => {
    const challenge = crypto.randomBytes(16);
    const pw = Buffer.from('secret12');
    const good = vncAuthResponse(pw, challenge);
    assert.equal(checkVncAuthResponse(Buffer.from('secret13'), challenge, good), false);
    const flipped = Buffer.from(good);
    flipped[15]! ^= 1;
    assert.equal(checkVncAuthResponse(pw, challenge, flipped), false);
    assert.equal(checkVncAuthResponse(pw, challenge, good.subarray(0, 15)), false);
  });
});
