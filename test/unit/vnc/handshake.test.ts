import { strict as assert } from 'node:assert';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';
import { readPixelFormat } from '../../../backend/vnc/messages';
import { ByteReader } from '../../../shared/bytes';
import { errorCode } from '../../../shared/errors';
import { harness, patternSurface, TestDisplay, VERSION_33, VERSION_37, VERSION_38 } from './helpers';

function serverInit(b: Buffer): { width: number; height: number; format: ReturnType<typeof readPixelFormat>; name: string } {
  const r = new ByteReader(b);
  const width = r.u16be();
  const height = r.u16be();
  const format = readPixelFormat(r);
  const name = r.utf8(r.u32be());
  assert.equal(r.remaining, 0);
  return { width, height, format, name };
}

describe('vnc/session handshake', () => {
  it('sends RFB 003.008 first', () => {
    const h = harness();
    assert.equal(h.take().toString('latin1'), 'RFB 003.008\n');
  });

  it('3.8: security list [None], SecurityResult 0, ServerInit with native format and name', () => {
    const h = harness(new TestDisplay(patternSurface(320, 200), 'guest 7'));
    h.take();
    h.session.receive(VERSION_38);
    assert.deepEqual([...h.take()], [1, 1]);
    h.session.receive(Uint8Array.of(1));
    assert.deepEqual([...h.take()], [0, 0, 0, 0]);
    h.session.receive(Uint8Array.of(1));
    const init = serverInit(h.take());
    assert.equal(init.width, 320);
    assert.equal(init.height, 200);
    assert.deepEqual(init.format, { ...PIXEL_FORMAT_XRGB8888, trueColour: true });
    assert.equal(init.name, 'guest 7');
    assert.equal(h.session.state, 'normal');
    assert.equal(h.session.version, 8);
  });

  it('3.7: security list, no SecurityResult for None', () => {
    const h = harness();
    h.take();
    h.session.receive(VERSION_37);
    assert.deepEqual([...h.take()], [1, 1]);
    h.session.receive(Uint8Array.of(1, 1));
    assert.equal(serverInit(h.take()).width, 32);
    assert.equal(h.session.version, 7);
  });

  for (const [v, label] of [
    [VERSION_33, '3.3'],
    [Buffer.from('RFB 003.005\n'), '3.5'],
    [Buffer.from('RFB 003.004\n'), '3.4'],
  ] as const) {
    it(`${label}: u32 security type 1, then ClientInit, no SecurityResult`, () => {
      const h = harness();
      h.take();
      h.session.receive(Buffer.concat([v, Buffer.of(1)]));
      const out = h.take();
      assert.deepEqual([...out.subarray(0, 4)], [0, 0, 0, 1]);
      assert.equal(serverInit(out.subarray(4)).height, 16);
      assert.equal(h.session.version, 3);
    });
  }

  for (const bad of ['RFB 003.006\n', 'RFB 004.000\n', 'GET / HTTP/1', 'RFB 003.889\n']) {
    it(`rejects version ${JSON.stringify(bad)} with RFB_E_BAD_VERSION and a 3.3 failure`, () => {
      const h = harness();
      h.take();
      h.session.receive(Buffer.from(bad, 'latin1'));
      assert.equal(h.session.closed, true);
      assert.equal(errorCode(h.closedWith.error), 'RFB_E_BAD_VERSION');
      const out = h.take();
      assert.equal(out.readUInt32BE(0), 0);
      assert.equal(out.readUInt32BE(4), out.length - 8);
    });
  }

  it('3.8: a security type not offered gets SecurityResult 1 + reason and RFB_E_BAD_SECURITY', () => {
    const h = harness();
    h.session.receive(VERSION_38);
    h.take();
    h.session.receive(Uint8Array.of(2));
    const out = h.take();
    assert.equal(out.readUInt32BE(0), 1);
    assert.equal(out.readUInt32BE(4), out.length - 8);
    assert.equal(errorCode(h.session.error), 'RFB_E_BAD_SECURITY');
    assert.equal(h.closedWith.count, 1);
  });

  it('3.7: a security type not offered just closes', () => {
    const h = harness();
    h.session.receive(VERSION_37);
    h.take();
    h.session.receive(Uint8Array.of(16));
    assert.equal(h.take().readUInt32BE(0), 1);
    assert.equal(errorCode(h.session.error), 'RFB_E_BAD_SECURITY');
  });

  it('shared=0 asks for exclusive access; shared=1 does not', () => {
    const a = harness();
    a.session.receive(Buffer.concat([VERSION_38, Buffer.of(1, 0)]));
    assert.equal(a.exclusive, 1);
    assert.equal(a.session.shared, false);
    const b = harness();
    b.session.receive(Buffer.concat([VERSION_38, Buffer.of(1, 1)]));
    assert.equal(b.exclusive, 0);
  });

  it('the whole handshake arrives in one chunk or byte by byte with the same output', () => {
    const all = Buffer.concat([VERSION_38, Buffer.of(1, 1)]);
    const a = harness();
    a.session.receive(all);
    const b = harness();
    for (const byte of all) b.session.receive(Uint8Array.of(byte));
    assert.deepEqual(a.out(), b.out());
    assert.equal(b.session.state, 'normal');
  });

  it('without a surface, ServerInit waits for the first one; early messages are kept', () => {
    const display = new TestDisplay(null);
    const h = harness(display);
    h.session.receive(Buffer.concat([VERSION_38, Buffer.of(1, 1)]));
    h.take();
    assert.equal(h.session.state, 'waitSurface');
    h.session.receive(Buffer.from([3, 0, 0, 0, 0, 0, 0, 8, 0, 8])); // FUR non-incremental 8x8
    assert.equal(h.take().length, 0);
    display.setSurface(patternSurface(8, 8));
    const out = h.take();
    assert.equal(serverInit(out.subarray(0, 24 + 12)).width, 8);
    assert.equal(out.length, 24 + 12 + 4 + 12 + 8 * 8 * 4);
  });
});
