// Security phase byte sequences, built and read by hand (not with the server's builders).

import { strict as assert } from 'node:assert';
import { errorCode } from '../../../../shared/errors';
import { resolveSecurity, type TlsKind, type VncSecurityOptions } from '../../../../backend/vnc/security/options';
import { AUTH_FREE_FAILURES, AUTH_MAX_PENDING_PER_HOST, AuthThrottle } from '../../../../backend/auth/throttle';
import { VENCRYPT_MAX_CREDENTIAL } from '../../../../backend/vnc/security/vencrypt';
import { vncAuthResponse } from '../../../../backend/vnc/security/vnc-auth';
import { harness, type Harness, VERSION_33, VERSION_37, VERSION_38 } from '../helpers';

const CHALLENGE = Buffer.from('f0e1d2c3b4a5968778695a4b3c2d1e0f', 'hex');
const PASSWORD = 'secret12';
const CERT = { cert: '/x/cert.pem', key: '/x/key.pem' };

interface SecHarness extends Harness {
  tls: TlsKind[];
}

function secHarness(security: VncSecurityOptions, extra: { tls?: boolean; throttle?: AuthThrottle } = {}): SecHarness {
  const tls: TlsKind[] = [];
  const h = harness(undefined, {
    security: resolveSecurity(security),
    random: (n) => CHALLENGE.subarray(0, n),
    ...(extra.tls === false ? {} : { startTls: (kind: TlsKind) => tls.push(kind) }),
    ...(extra.throttle ? { authGate: extra.throttle.gate('192.0.2.1') } : {}),
  }) as SecHarness;
  h.tls = tls;
  h.take();
  return h;
}

const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const code = (h: Harness): string | undefined => errorCode(h.session.error);
const failedWithReason = (reason: string): number[] => [...u32(1), ...u32(reason.length), ...Buffer.from(reason)];
const response = (pw = PASSWORD): Buffer => vncAuthResponse(Buffer.from(pw), CHALLENGE);

function plain(user: string, pass: string): Buffer {
  const u = Buffer.from(user);
  const p = Buffer.from(pass);
  return Buffer.concat([Buffer.from([...u32(u.length), ...u32(p.length)]), u, p]);
}

describe('vnc/security negotiation', () => {
  describe('VNC auth (type 2)', () => {
    it('3.8: list [2], challenge, right response: SecurityResult 0, then ServerInit', () => {
      const h = secHarness({ password: PASSWORD, types: ['vnc'] });
      h.session.receive(VERSION_38);
      assert.deepEqual([...h.take()], [1, 2]);
      h.session.receive(Uint8Array.of(2));
      assert.deepEqual(h.take(), CHALLENGE);
      h.session.receive(response());
      assert.deepEqual([...h.take()], u32(0));
      h.session.receive(Uint8Array.of(1));
      assert.equal(h.take().length, 2 + 2 + 16 + 4 + 'test display'.length);
      assert.equal(h.session.state, 'normal');
    });

    it('3.8: wrong password: SecurityResult 1 + "Authentication failure", RFB_E_AUTH_FAILED', () => {
      const h = secHarness({ password: PASSWORD, types: ['vnc'] });
      h.session.receive(Buffer.concat([VERSION_38, Buffer.of(2)]));
      h.take();
      h.session.receive(response('secret13'));
      assert.deepEqual([...h.take()], failedWithReason('Authentication failure'));
      assert.equal(code(h), 'RFB_E_AUTH_FAILED');
      assert.equal(h.closedWith.count, 1);
    });

    it('3.7: wrong password: SecurityResult 1 without a reason, then close', () => {
      const h = secHarness({ password: PASSWORD, types: ['vnc'] });
      h.session.receive(Buffer.concat([VERSION_37, Buffer.of(2)]));
      h.take();
      h.session.receive(response('nope'));
      assert.deepEqual([...h.take()], u32(1));
      assert.equal(code(h), 'RFB_E_AUTH_FAILED');
    });

    it('3.3: the server picks type 2 (u32), challenge, SecurityResult 0', () => {
      const h = secHarness({ password: PASSWORD, types: ['vnc', 'none'] });
      h.session.receive(VERSION_33);
      assert.deepEqual(h.take(), Buffer.concat([Buffer.from(u32(2)), CHALLENGE]));
      h.session.receive(response());
      assert.deepEqual([...h.take()], u32(0));
      assert.equal(h.session.state, 'clientInit');
    });

    it('3.3: wrong password: u32 1 and close, no reason', () => {
      const h = secHarness({ password: PASSWORD, types: ['vnc'] });
      h.session.receive(VERSION_33);
      h.take();
      h.session.receive(response('x'));
      assert.deepEqual([...h.take()], u32(1));
      assert.equal(code(h), 'RFB_E_AUTH_FAILED');
    });

    it('3.3: "none" listed first is picked first', () => {
      const h = secHarness({ password: PASSWORD, types: ['none', 'vnc'] });
      h.session.receive(VERSION_33);
      assert.deepEqual([...h.take()], u32(1));
      assert.equal(h.session.state, 'clientInit');
    });

    it('3.3 with VeNCrypt types only: u32 0 + reason, RFB_E_NO_SECURITY', () => {
      const h = secHarness({ password: PASSWORD, types: ['tlsvnc'] });
      h.session.receive(VERSION_33);
      const out = h.take();
      assert.equal(out.readUInt32BE(0), 0);
      assert.equal(out.readUInt32BE(4), out.length - 8);
      assert.equal(code(h), 'RFB_E_NO_SECURITY');
    });

    it('the response split at every byte gives the same result', () => {
      const h = secHarness({ password: PASSWORD, types: ['vnc'] });
      for (const b of Buffer.concat([VERSION_38, Buffer.of(2), response(), Buffer.of(1)])) h.session.receive(Uint8Array.of(b));
      assert.equal(h.session.state, 'normal');
    });
  });

  describe('VeNCrypt (type 19)', () => {
    const all: VncSecurityOptions = {
      password: PASSWORD,
      users: new Map([['alice', 'wonderland']]),
      tls: CERT,
      types: ['tlsnone', 'tlsvnc', 'tlsplain', 'x509none', 'x509vnc', 'x509plain', 'vnc'],
    };

    function toSubtype(h: SecHarness, version: Buffer, subtype: number): void {
      h.session.receive(version);
      assert.deepEqual([...h.take()], [2, 19, 2]);
      h.session.receive(Uint8Array.of(19));
      assert.deepEqual([...h.take()], [0, 2]);
      h.session.receive(Uint8Array.of(0, 2));
      assert.deepEqual([...h.take()], [0, 6, ...[257, 258, 259, 260, 261, 262].flatMap(u32)]);
      h.session.receive(Buffer.from(u32(subtype)));
    }

    it('TLSNone: ack 1, startTls(anon), SecurityResult 0 (also in 3.7: the type is not None)', () => {
      for (const v of [VERSION_38, VERSION_37]) {
        const h = secHarness(all);
        toSubtype(h, v, 257);
        assert.deepEqual(h.tls, ['anon']);
        assert.deepEqual([...h.take()], [1, ...u32(0)]);
        assert.equal(h.session.state, 'clientInit');
      }
    });

    it('TLSVnc: ack 1, startTls(anon), then the VNC challenge inside TLS', () => {
      const h = secHarness(all);
      toSubtype(h, VERSION_38, 258);
      assert.deepEqual(h.tls, ['anon']);
      assert.deepEqual(h.take(), Buffer.concat([Buffer.of(1), CHALLENGE]));
      h.session.receive(response());
      assert.deepEqual([...h.take()], u32(0));
    });

    it('X509Vnc: startTls(x509); wrong password fails with the reason', () => {
      const h = secHarness(all);
      toSubtype(h, VERSION_38, 261);
      assert.deepEqual(h.tls, ['x509']);
      h.take();
      h.session.receive(response('wrong'));
      assert.deepEqual([...h.take()], failedWithReason('Authentication failure'));
      assert.equal(code(h), 'RFB_E_AUTH_FAILED');
    });

    it('X509None: startTls(x509) and SecurityResult 0', () => {
      const h = secHarness(all);
      toSubtype(h, VERSION_38, 260);
      assert.deepEqual(h.tls, ['x509']);
      assert.deepEqual([...h.take()], [1, ...u32(0)]);
    });

    for (const [subtype, kind] of [
      [259, 'anon'],
      [262, 'x509'],
    ] as const) {
      it(`Plain ${subtype}: right user/password accepted, wrong refused`, () => {
        const ok = secHarness(all);
        toSubtype(ok, VERSION_38, subtype);
        assert.deepEqual(ok.tls, [kind]);
        assert.deepEqual([...ok.take()], [1]);
        ok.session.receive(plain('alice', 'wonderland'));
        assert.deepEqual([...ok.take()], u32(0));
        assert.equal(ok.session.state, 'clientInit');
        for (const [user, pass] of [
          ['alice', 'wonderlant'],
          ['bob', 'wonderland'],
          ['', ''],
        ] as const) {
          const bad = secHarness(all);
          toSubtype(bad, VERSION_38, subtype);
          bad.take();
          bad.session.receive(plain(user, pass));
          assert.deepEqual([...bad.take()], failedWithReason('Authentication failure'));
          assert.equal(code(bad), 'RFB_E_AUTH_FAILED');
        }
      });
    }

    it(`Plain credentials of ${VENCRYPT_MAX_CREDENTIAL} bytes are read; one more is RFB_E_OVERSIZE`, () => {
      const atLimit = secHarness(all);
      toSubtype(atLimit, VERSION_38, 259);
      atLimit.session.receive(plain('u'.repeat(VENCRYPT_MAX_CREDENTIAL), 'p'.repeat(VENCRYPT_MAX_CREDENTIAL)));
      assert.equal(code(atLimit), 'RFB_E_AUTH_FAILED');
      const past = secHarness(all);
      toSubtype(past, VERSION_38, 259);
      past.session.receive(Buffer.from([...u32(VENCRYPT_MAX_CREDENTIAL + 1), ...u32(0)]));
      assert.equal(code(past), 'RFB_E_OVERSIZE');
    });

    it('a VeNCrypt version other than 0.2 gets status 1 and RFB_E_BAD_SECURITY', () => {
      const h = secHarness(all);
      h.session.receive(Buffer.concat([VERSION_38, Buffer.of(19)]));
      h.take();
      h.session.receive(Uint8Array.of(0, 1));
      assert.deepEqual([...h.take()], [1]);
      assert.equal(code(h), 'RFB_E_BAD_SECURITY');
    });

    it('a subtype not offered gets ack 0 and RFB_E_BAD_SECURITY; TLS is not started', () => {
      const h = secHarness({ ...all, types: ['tlsnone'] });
      h.session.receive(Buffer.concat([VERSION_38, Buffer.of(19, 0, 2)]));
      assert.deepEqual([...h.take()], [1, 19, 0, 2, 0, 1, ...u32(257)]);
      h.session.receive(Buffer.from(u32(256)));
      assert.deepEqual([...h.take()], [0]);
      assert.equal(code(h), 'RFB_E_BAD_SECURITY');
      assert.deepEqual(h.tls, []);
    });

    it('bytes after the subtype, before the TLS handshake, are RFB_E_TLS', () => {
      const h = secHarness(all);
      h.session.receive(Buffer.concat([VERSION_38, Buffer.of(19, 0, 2), Buffer.from(u32(257)), Buffer.of(0x16)]));
      assert.equal(code(h), 'RFB_E_TLS');
      assert.deepEqual(h.tls, []);
    });

    it('a transport without TLS offers only the non-TLS types', () => {
      const h = secHarness(all, { tls: false });
      h.session.receive(VERSION_38);
      assert.deepEqual([...h.take()], [1, 2]);
      const none = secHarness({ types: ['tlsnone'] }, { tls: false });
      none.session.receive(VERSION_38);
      const out = none.take();
      assert.equal(out[0], 0);
      assert.equal(out.readUInt32BE(1), out.length - 5);
      assert.equal(code(none), 'RFB_E_NO_SECURITY');
    });

    it('the TLSVnc exchange split at every byte gives the same output', () => {
      const input = Buffer.concat([VERSION_38, Buffer.of(19, 0, 2), Buffer.from(u32(258))]);
      const a = secHarness(all);
      a.session.receive(input);
      a.session.receive(response());
      const b = secHarness(all);
      for (const byte of input) b.session.receive(Uint8Array.of(byte));
      for (const byte of response()) b.session.receive(Uint8Array.of(byte));
      assert.deepEqual(a.out(), b.out());
      assert.equal(b.session.state, 'clientInit');
    });
  });

  describe('throttling', () => {
    function failOnce(throttle: AuthThrottle): SecHarness {
      const h = secHarness({ password: PASSWORD, types: ['vnc'] }, { throttle });
      h.session.receive(Buffer.concat([VERSION_38, Buffer.of(2)]));
      h.session.receive(response('bad'));
      return h;
    }

    it(`after ${AUTH_FREE_FAILURES} failures a response is judged later, and a right one is still accepted`, async () => {
      const throttle = new AuthThrottle({ baseDelayMs: 30 });
      for (let i = 0; i < AUTH_FREE_FAILURES; i++) assert.equal(code(failOnce(throttle)), 'RFB_E_AUTH_FAILED');
      const late = secHarness({ password: PASSWORD, types: ['vnc'] }, { throttle });
      late.session.receive(VERSION_38);
      assert.deepEqual([...late.take()], [1, 2], 'still offered: no ban');
      late.session.receive(Uint8Array.of(2));
      late.take();
      late.session.receive(response());
      assert.equal(late.take().length, 0, 'no verdict yet');
      assert.equal(late.session.state, 'security');
      await new Promise((r) => setTimeout(r, 60));
      assert.deepEqual([...late.take()], u32(0), 'SecurityResult OK after the delay');
      assert.equal(late.session.state, 'clientInit');
    });

    it(`at most ${AUTH_MAX_PENDING_PER_HOST} challenges in progress per address: the next gets a reason and RFB_E_AUTH_BUSY`, () => {
      const throttle = new AuthThrottle();
      const open = Array.from({ length: AUTH_MAX_PENDING_PER_HOST }, () => {
        const h = secHarness({ password: PASSWORD, types: ['vnc'] }, { throttle });
        h.session.receive(Buffer.concat([VERSION_38, Buffer.of(2)]));
        assert.equal(h.take().length, 2 + 16, 'types and a challenge');
        return h;
      });
      const busy = secHarness({ password: PASSWORD, types: ['vnc'] }, { throttle });
      busy.session.receive(Buffer.concat([VERSION_38, Buffer.of(2)]));
      const reason = 'Too many authentications in progress from this address';
      assert.deepEqual([...busy.take().subarray(2)], [...u32(1), ...u32(reason.length), ...Buffer.from(reason)]);
      assert.equal(code(busy), 'RFB_E_AUTH_BUSY');
      open[0]!.session.close('gone');
      const next = secHarness({ password: PASSWORD, types: ['vnc'] }, { throttle });
      next.session.receive(Buffer.concat([VERSION_38, Buffer.of(2)]));
      assert.equal(next.take().length, 2 + 16, 'a closed session freed its slot');
    });

    it('a right password clears the count', () => {
      const throttle = new AuthThrottle();
      for (let i = 0; i < AUTH_FREE_FAILURES; i++) failOnce(throttle);
      assert.ok(throttle.delayFor('192.0.2.1') > 0);
      throttle.gate('192.0.2.1').success();
      assert.equal(throttle.delayFor('192.0.2.1'), 0);
    });
  });
});
