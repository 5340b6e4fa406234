import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { classifyFirstBytes, type ConnectionKind, sniffConnection } from '../../../../backend/web/websocket/sniff';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Runs the sniffer on a stream and feeds it `chunks` one event-loop turn apart. */
async function sniff(chunks: string[], waitMs = 50, end = false): Promise<{ kind: ConnectionKind | 'closed'; head: string; ms: number }> {
  const s = new PassThrough();
  const t0 = Date.now();
  const result = new Promise<{ kind: ConnectionKind | 'closed'; head: string; ms: number }>((resolve) =>
    sniffConnection(s, waitMs, (kind, head) => resolve({ kind, head: head.toString('latin1'), ms: Date.now() - t0 })),
  );
  for (const c of chunks) {
    s.write(bytes(c));
    await new Promise((r) => setImmediate(r));
  }
  if (end) s.end();
  return result;
}

describe('vnc/websocket/sniff', () => {
  describe('classifyFirstBytes', () => {
    it('"GET " is http', () => assert.equal(classifyFirstBytes(bytes('GET / HTTP/1.1\r\n')), 'http'));
    it('exactly "GET " is http', () => assert.equal(classifyFirstBytes(bytes('GET ')), 'http'));
    it('RFB ProtocolVersion is stream', () => assert.equal(classifyFirstBytes(bytes('RFB 003.008\n')), 'stream'));
    it('prefixes of "GET " are undecided', () => {
      for (const p of ['', 'G', 'GE', 'GET']) assert.equal(classifyFirstBytes(bytes(p)), null, p);
    });
    it('a wrong byte anywhere in the first four is stream', () => {
      for (const p of ['X', 'Gx', 'GEx', 'GETx', 'get ', 'POST /']) assert.equal(classifyFirstBytes(bytes(p)), 'stream', p);
    });
  });

  describe('sniffConnection', () => {
    it('one chunk "GET ..." is http at once, with every byte kept', async () => {
      const r = await sniff(['GET / HTTP/1.1\r\nHost: x\r\n\r\n']);
      assert.equal(r.kind, 'http');
      assert.equal(r.head, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.ok(r.ms < 90, `${r.ms} ms: decided at once, not after the 100 ms sniff wait`);
    });

    it('"GET " split over four chunks is http, head concatenated', async () => {
      const r = await sniff(['G', 'E', 'T', ' /x']);
      assert.equal(r.kind, 'http');
      assert.equal(r.head, 'GET /x');
    });

    it('RFB bytes are rfb and handed on', async () => {
      const r = await sniff(['RFB 003.008\n']);
      assert.deepEqual([r.kind, r.head], ['stream', 'RFB 003.008\n']);
    });

    it('"G" then a wrong byte is stream', async () => {
      const r = await sniff(['G', 'x']);
      assert.deepEqual([r.kind, r.head], ['stream', 'Gx']);
    });

    it('silence is stream after the wait, with no head', async () => {
      const r = await sniff([], 30);
      assert.deepEqual([r.kind, r.head], ['stream', '']);
      assert.ok(r.ms >= 25, `${r.ms} ms`);
    });

    it('a stalled prefix of "GET " is http after the wait', async () => {
      const r = await sniff(['GE'], 30);
      assert.deepEqual([r.kind, r.head], ['http', 'GE']);
    });

    it('a peer that ends before deciding is closed', async () => {
      const r = await sniff(['G'], 1000, true);
      assert.equal(r.kind, 'closed');
    });

    it('leaves no listeners behind and the stream paused', async () => {
      const s = new PassThrough();
      await new Promise<void>((resolve) => {
        sniffConnection(s, 1000, () => resolve());
        s.write(bytes('RFB 003.008\n'));
      });
      for (const ev of ['data', 'end', 'close', 'error']) assert.equal(s.listenerCount(ev), 0, ev);
      assert.equal(s.isPaused(), true);
    });

    it('cancel stops the timer and the callback', async () => {
      const s = new PassThrough();
      let called = false;
      const cancel = sniffConnection(s, 10, () => (called = true));
      cancel();
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(called, false);
      assert.equal(s.listenerCount('data'), 0);
    });
  });
});
