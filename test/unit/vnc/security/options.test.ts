import { strict as assert } from 'node:assert';
import { isXenvfbError } from '../../../../shared/errors';
import { defaultSecurityTypes, parseSecurityTypes, resolveSecurity } from '../../../../backend/vnc/security/options';

describe('vnc/security/options', () => {
  it('default: None only; with a password VeNCrypt + VNC auth and no None; X509 first with a cert', () => {
    assert.deepEqual(defaultSecurityTypes({}), ['none']);
    assert.deepEqual(defaultSecurityTypes({ password: 'pw' }), ['tlsvnc', 'vnc']);
    assert.deepEqual(defaultSecurityTypes({ password: 'pw', tls: { cert: 'c', key: 'k' } }), ['x509vnc', 'tlsvnc', 'vnc']);
    assert.deepEqual(defaultSecurityTypes({ users: new Map([['a', 'b']]) }), ['tlsplain']);
  });

  it('parses a list case-insensitively, keeps order, drops duplicates', () => {
    assert.deepEqual(parseSecurityTypes('VNC, tlsvnc,x509vnc,none,vnc'), ['vnc', 'tlsvnc', 'x509vnc', 'none']);
  });

  for (const bad of ['', 'vnc,bogus', 'tls']) {
    it(`rejects the list ${JSON.stringify(bad)} with RFB_E_SECURITY_CONFIG`, () => {
      assert.throws(
        () => parseSecurityTypes(bad),
        (e) => isXenvfbError(e, 'RFB_E_SECURITY_CONFIG'),
      );
    });
  }

  for (const [label, opts] of [
    ['vnc without a password', { types: ['vnc'] }],
    ['tlsplain without users', { password: 'x', types: ['tlsplain'] }],
    ['x509none without a certificate', { types: ['x509none'] }],
    ['x509vnc with a cert but no key', { password: 'x', tls: { cert: 'c' }, types: ['x509vnc'] }],
  ] as const) {
    it(`refuses ${label}`, () => {
      assert.throws(
        () => resolveSecurity(opts as Parameters<typeof resolveSecurity>[0]),
        (e) => isXenvfbError(e, 'RFB_E_SECURITY_CONFIG'),
      );
    });
  }

  it('an 8-byte password is kept whole; a 9-byte one is cut to 8 with a warning', () => {
    const warnings: object[] = [];
    const log = {
      info: () => {},
      debug: () => {},
      error: () => {},
      warn: (o: object | string) => warnings.push(o as object),
      child: () => log,
    };
    assert.equal(resolveSecurity({ password: '12345678' }, log).password!.toString(), '12345678');
    assert.equal(warnings.length, 0);
    assert.equal(resolveSecurity({ password: '123456789' }, log).password!.toString(), '12345678');
    assert.equal(warnings.length, 1);
  });
});
