// The SPICE server under the shared network limits (backend/net/limits.ts), over real sockets:
// connections past the per-address limit are refused at once while the admitted ones stay,
// a closed connection frees its place, and a link stage stalled halfway is closed at the
// handshake deadline.

import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { SpiceServer } from '../../../backend/spice/server';
import { SpiceChannel } from '../../../shared/spice/constants';
import { patternSurface, RecordingInput, TestDisplay } from '../vnc/helpers';
import { linkBytes } from './helpers';

interface Conn {
  sock: net.Socket;
  closedAt: Promise<number>;
}

function open(port: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const closedAt = new Promise<number>((r) => sock.once('close', () => r(performance.now())));
    sock.on('error', () => {});
    sock.once('connect', () => resolve({ sock, closedAt }));
    sock.once('error', reject);
  });
}

async function withServer(body: (server: SpiceServer, port: number) => Promise<void>): Promise<void> {
  const server = new SpiceServer({
    display: new TestDisplay(patternSurface(64, 48)),
    input: new RecordingInput(),
    ticketing: { password: null },
    limits: { maxConnectionsPerAddress: 3, handshakeStageMs: 400 },
  });
  const { port } = await server.listen('127.0.0.1', 0);
  try {
    await body(server, port);
  } finally {
    await server.close();
  }
}

describe('SPICE server: shared network limits', function () {
  this.timeout(10000);

  it('past the per-address limit a connection is refused at once; the others stay until the deadline; a freed place is reused', async function () {
    await withServer(async (server, port) => {
      const t0 = performance.now();
      const idle = [await open(port), await open(port), await open(port)];
      const extra = await open(port);
      const refusedAt = await extra.closedAt;
      assert.ok(refusedAt - t0 < 300, `refused in ${(refusedAt - t0).toFixed(0)} ms`);
      assert.equal(server.refused.address, 1);
      // The admitted ones are closed by the link deadline (400 ms), not before.
      const closed = await Promise.all(idle.map((c) => c.closedAt));
      for (const at of closed) assert.ok(at - t0 >= 350, `an idle link closed after ${(at - t0).toFixed(0)} ms`);
      // Their places are free again (once the server's sockets have closed too): a real link goes through.
      await new Promise((r) => setTimeout(r, 300));
      const again = await open(port);
      const reply = new Promise<Buffer>((resolve, reject) => {
        again.sock.once('data', resolve);
        again.sock.once('close', () => reject(new Error('closed without a link reply: still refused?')));
      });
      again.sock.write(linkBytes({ type: SpiceChannel.MAIN }));
      const b = await reply;
      assert.equal(b.subarray(0, 4).toString('latin1'), 'REDQ');
      again.sock.destroy();
    });
  });

  it('a link stalled halfway (header and half the link message) is closed at the deadline', async function () {
    await withServer(async (_server, port) => {
      const c = await open(port);
      const t0 = performance.now();
      const link = linkBytes({ type: SpiceChannel.MAIN });
      c.sock.write(link.subarray(0, 16 + 9));
      const at = await c.closedAt;
      assert.ok(at - t0 >= 350 && at - t0 < 3000, `closed after ${(at - t0).toFixed(0)} ms`);
    });
  });
});
