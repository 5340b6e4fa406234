// SimEventChannels against a scripted relay: an event that arrives in the same chunk as the
// reply binding its port is delivered and unmasked. Before the fix the client added the
// port to its bound set a microtask after the reply, dropped the event without unmasking,
// and the relay kept the port masked: every later notify on it was lost.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { SimEventChannels } from '../../../shared/platform/sim/evtchn-client';
import { clientMessageDecoder, encodeServerMessage, type EvtchnClientMessage } from '../../../shared/platform/sim/evtchn-wire';

describe('sim event channel client', () => {
  it('an event in the same chunk as its bind reply is delivered and unmasked', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evtchn-client-'));
    const sock = path.join(dir, 'evtchn');
    const seen: EvtchnClientMessage[] = [];
    const server = net.createServer((c) => {
      const decoder = clientMessageDecoder();
      c.on('data', (d) => {
        for (const m of decoder.push(d)) {
          seen.push(m);
          if (m.type === 'bind-interdomain') {
            c.write(
              Buffer.concat([
                encodeServerMessage({ type: 'reply', reqId: m.reqId, port: 7 }),
                encodeServerMessage({ type: 'event', port: 7 }),
              ]),
            );
          }
        }
      });
    });
    await new Promise<void>((r) => server.listen(sock, r));
    const ev = await SimEventChannels.connect(sock);
    try {
      const events: number[] = [];
      ev.on('event', (p: number) => events.push(p));
      assert.equal(await ev.bindInterdomain(1, 3), 7);
      for (let i = 0; i < 100 && !seen.some((m) => m.type === 'unmask'); i++) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(events, [7]);
      assert.ok(
        seen.some((m) => m.type === 'unmask' && m.port === 7),
        'the port was unmasked',
      );
    } finally {
      ev.close();
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
