// VncServer's TLS plumbing with Node's own TLS client: VeNCrypt up to the ack on the raw
// socket, then the rest of the handshake inside anonymous TLS 1.2.

import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { VncServer } from '../../../../backend/vnc/server';
import { vncAuthResponse } from '../../../../backend/vnc/security/vnc-auth';
import { patternSurface, RecordingInput, TestDisplay } from '../helpers';

/** Reads exact byte counts from a stream. */
class Reader {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private ended = false;
  constructor(private stream: Duplex) {
    this.listen(stream);
  }
  private listen(stream: Duplex): void {
    stream.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.waiter?.();
    });
    stream.on('close', () => {
      this.ended = true;
      this.waiter?.();
    });
  }
  /** Switch to another stream (the TLS socket); the old one must have nothing pending. */
  switchTo(stream: Duplex): void {
    assert.equal(this.buf.length, 0, 'bytes left before TLS');
    this.stream.removeAllListeners('data');
    this.stream = stream;
    this.listen(stream);
  }
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.ended) throw new Error(`stream ended with ${this.buf.length}/${n} bytes`);
      await new Promise<void>((r) => (this.waiter = r));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  async closed(): Promise<void> {
    while (!this.ended) await new Promise<void>((r) => (this.waiter = r));
  }
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

async function toTls(port: number, subtype: number): Promise<{ reader: Reader; secure: tls.TLSSocket }> {
  const raw = net.connect(port, '127.0.0.1');
  const reader = new Reader(raw);
  assert.equal((await reader.read(12)).toString(), 'RFB 003.008\n');
  raw.write('RFB 003.008\n');
  const n = (await reader.read(1))[0]!;
  const types = [...(await reader.read(n))];
  assert.ok(types.includes(19), `types ${types}`);
  raw.write(Buffer.of(19));
  assert.deepEqual([...(await reader.read(2))], [0, 2]);
  raw.write(Buffer.of(0, 2));
  assert.deepEqual([...(await reader.read(1))], [0]);
  const count = (await reader.read(1))[0]!;
  await reader.read(4 * count);
  raw.write(u32(subtype));
  assert.deepEqual([...(await reader.read(1))], [1]);
  const secure = tls.connect({ socket: raw, ciphers: 'aNULL:@SECLEVEL=0', maxVersion: 'TLSv1.2', rejectUnauthorized: false });
  reader.switchTo(secure);
  await new Promise<void>((r) => secure.once('secureConnect', () => r()));
  return { reader, secure };
}

describe('vnc/security VncServer TLS (Node TLS client)', () => {
  let server: VncServer;
  let port: number;

  before(async () => {
    server = new VncServer({
      display: new TestDisplay(patternSurface(64, 48)),
      input: new RecordingInput(),
      security: { password: 'secret12', types: ['tlsnone', 'tlsvnc'] },
    });
    port = (await server.listen('127.0.0.1', 0)).port;
  });
  after(() => server.close());

  it('TLSVnc: challenge, response and ServerInit all travel inside anonymous TLS 1.2', async () => {
    const { reader, secure } = await toTls(port, 258);
    assert.equal(secure.getProtocol(), 'TLSv1.2');
    const challenge = await reader.read(16);
    secure.write(vncAuthResponse(Buffer.from('secret12'), challenge));
    assert.equal((await reader.read(4)).readUInt32BE(0), 0);
    secure.write(Buffer.of(1));
    const init = await reader.read(24);
    assert.equal(init.readUInt16BE(0), 64);
    assert.equal(init.readUInt16BE(2), 48);
    secure.destroy();
  });

  it('TLSVnc with a wrong password: SecurityResult 1 + reason inside TLS, then close', async () => {
    const { reader, secure } = await toTls(port, 258);
    const challenge = await reader.read(16);
    secure.write(vncAuthResponse(Buffer.from('wrong'), challenge));
    assert.equal((await reader.read(4)).readUInt32BE(0), 1);
    const len = (await reader.read(4)).readUInt32BE(0);
    assert.equal((await reader.read(len)).toString(), 'Authentication failure');
    await reader.closed();
  });

  it('TLSNone: SecurityResult 0 inside TLS', async () => {
    const { reader, secure } = await toTls(port, 257);
    assert.equal((await reader.read(4)).readUInt32BE(0), 0);
    secure.destroy();
  });
});
