// Fuzz the embedded xenstored over real unix sockets: random bytes and mutated valid packets,
// as dom0 and as an unprivileged domain. Every input must end in replies that parse, an
// error reply, or a closed connection; the server keeps serving a well-behaved client.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { XenstoredServer } from '../../shared/xenstore/server/socket-server';
import { XsClient } from '../../shared/xenstore/client';
import { XsParser, XsType, encodeMessage, stringsPayload, writePayload } from '../../shared/xenstore/wire';

const RUNS = 150;
const PER_INPUT_TIMEOUT_MS = 2000;

interface Outcome {
  closed: boolean;
  messages: number;
}

/** Send `bytes`, half-close, and collect what comes back until the server closes. */
function feed(socketPath: string, bytes: Uint8Array): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const parser = new XsParser();
    let messages = 0;
    const sock = net.connect(socketPath);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`server neither answered nor closed within ${PER_INPUT_TIMEOUT_MS} ms`));
    }, PER_INPUT_TIMEOUT_MS);
    sock.on('data', (d) => {
      // Whatever the server sends must be well-formed xenstore messages.
      for (const m of parser.push(d)) {
        messages++;
        assert.ok(m.type in XsType, `reply type ${m.type}`);
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, messages });
    });
    sock.on('connect', () => {
      sock.write(bytes);
      sock.end();
    });
  });
}

const TYPES = Array.from({ length: 28 }, (_, i) => i);

const validPacket = fc
  .record({
    type: fc.constantFrom(...TYPES, 0xffff),
    reqId: fc.nat(),
    txId: fc.oneof(fc.constant(0), fc.nat(5)),
    path: fc.stringMatching(/^(\/[a-z@]{0,6}){0,4}$/),
    value: fc.string({ maxLength: 40 }),
  })
  .map(({ type, reqId, txId, path: p, value }) =>
    encodeMessage({ type, reqId, txId, payload: type === XsType.XS_WRITE ? writePayload(p || '/', value) : stringsPayload(p, value) }),
  );

const mutated = fc
  .tuple(validPacket, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }))
  .map(([pkt, flips]) => {
    const b = Buffer.from(pkt);
    for (const [at, v] of flips) b[at % b.length] = v;
    return b;
  });

const input = fc.oneof(
  fc.uint8Array({ maxLength: 600 }),
  validPacket,
  mutated,
  fc.array(validPacket, { maxLength: 5 }).map((ps) => Buffer.concat(ps)),
);

describe('xenstored over sockets under fuzz', function () {
  this.timeout(120000);
  let dir: string;
  let server: XenstoredServer;
  let good: XsClient;
  let dom0: string;
  let dom5: string;

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-xsfuzz-'));
    server = new XenstoredServer();
    dom0 = path.join(dir, 'socket');
    dom5 = path.join(dir, 'dom5');
    await server.listen(dom0, { domid: 0, privileged: true });
    server.introduceDomain(5);
    await server.listen(dom5, { domid: 5, privileged: false });
    good = await XsClient.connect({ path: dom0 });
    await good.write('/fuzz/canary', 'alive');
  });

  after(async function () {
    good?.close();
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers or closes every input, as dom0 and as a guest, and keeps serving', async function () {
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(input, fc.boolean(), async (bytes, asGuest) => {
        const out = await feed(asGuest ? dom5 : dom0, bytes);
        assert.ok(out.closed);
        answered += out.messages;
        assert.equal(await good.read('/fuzz/canary'), 'alive');
      }),
      { numRuns: RUNS, seed: 0x5eed },
    );
    assert.ok(answered > 0, 'some inputs were answered');
  });

  it('drops a connection that announces a payload over XENSTORE_PAYLOAD_MAX', async function () {
    const header = Buffer.alloc(16);
    header.writeUInt32LE(XsType.XS_READ, 0);
    header.writeUInt32LE(4097, 12);
    const out = await feed(dom0, header);
    assert.equal(out.messages, 0);
    assert.equal(await good.read('/fuzz/canary'), 'alive');
  });
});
