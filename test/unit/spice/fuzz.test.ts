// Hostile SPICE clients: every parser fed random bytes and mutations of valid messages ends in
// a value or a typed error, never another exception; a connection given garbage at any stage
// closes with a logged typed reason, and a client linked beside it keeps being served.

import { strict as assert } from 'node:assert';
import { isXenvfbError } from '../../../shared/errors';
import { parseLinkHeader, parseLinkMess } from '../../../shared/spice/link';
import { parseCommonClientMessage } from '../../../shared/spice/common-messages';
import { parseMainClientMessage } from '../../../shared/spice/main-messages';
import { parseDisplayClientMessage } from '../../../shared/spice/display-messages';
import { parseInputsClientMessage } from '../../../shared/spice/inputs-messages';
import { SpiceChannel, SpiceMsgDisplay } from '../../../shared/spice/constants';
import { prng } from '../../helpers/prng';
import { clientMsg, linkBytes, linked, readLinkReply, serverMessages, settle, ticketBytes, world } from './helpers';

function typedOrValue(fn: () => unknown, what: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isXenvfbError(e), `${what}: untyped ${(e as Error)?.stack ?? String(e)}`);
  }
}

function mutate(src: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(src);
  const n = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * b.length);
    const kind = rnd();
    if (kind < 0.6) b[at] = Math.floor(rnd() * 256);
    else if (kind < 0.8)
      b.writeUInt32LE(0xffffffff, Math.min(at, b.length - 4)); // oversize counts
    else b[at] ^= 1 << Math.floor(rnd() * 8);
  }
  return rnd() < 0.2 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
}

describe('SPICE fuzzing', function () {
  this.timeout(60000);

  it('parsers: random bodies for every message type end in a value or a typed error', function () {
    const rnd = prng(0xf022);
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rnd() * 40);
      const body = Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256)));
      const type = rnd() < 0.5 ? 101 + Math.floor(rnd() * 16) : Math.floor(rnd() * 400);
      typedOrValue(() => parseCommonClientMessage(type, body), `common ${type}`);
      typedOrValue(() => parseMainClientMessage(type, body), `main ${type}`);
      typedOrValue(() => parseDisplayClientMessage(type, body), `display ${type}`);
      typedOrValue(() => parseInputsClientMessage(type, body), `inputs ${type}`);
      typedOrValue(() => parseLinkHeader(body), 'link header');
      typedOrValue(() => parseLinkMess(body), 'link mess');
    }
  });

  it('link stage: mutated links and tickets close with a typed reason, one chunk or byte by byte', async function () {
    const rnd = prng(0x11c);
    const w = world({ ticketing: { password: 'pw' } });
    w.throttle.success('10.0.0.1');
    let closedTyped = 0;
    for (let i = 0; i < 300; i++) {
      const peer = w.connect({ authGate: undefined });
      const link = mutate(linkBytes({ type: 1 + Math.floor(rnd() * 4), common: [0x0d] }), rnd);
      if (rnd() < 0.5) peer.conn.receive(link);
      else for (const byte of link) peer.conn.receive(Buffer.from([byte]));
      await settle();
      if (!peer.closed && peer.bytes().length >= 16) {
        const reply = readLinkReply(peer.bytes());
        if (reply.error === 0) peer.conn.receive(mutate(ticketBytes(reply.pubKey, 'pw'), rnd));
        await settle();
      }
      if (peer.closed) {
        assert.ok(peer.closed.error && isXenvfbError(peer.closed.error), `typed close reason: ${peer.closed.reason}`);
        closedTyped++;
      }
      peer.conn.close('test done');
    }
    assert.ok(closedTyped > 100, `${closedTyped} of 300 hostile links were refused with a typed error`);
    const warned = w.log.lines.filter((l) => l.level === 'warn' && typeof l.obj.code === 'string').length;
    assert.ok(warned >= closedTyped, 'each refusal is logged with its code');
  });

  it('data phase: random messages on every channel close only that client; a linked display beside it keeps drawing', async function () {
    const rnd = prng(0xda7a);
    const w = world({ width: 200, height: 100, shared: true });
    const main = await linked(w, { type: SpiceChannel.MAIN });
    const session = serverMessages(main.data())[0]!.body.readUInt32LE(0);
    const good = await linked(w, { type: SpiceChannel.DISPLAY, connectionId: session });
    let closed = 0;
    for (let i = 0; i < 200; i++) {
      const type = [SpiceChannel.MAIN, SpiceChannel.DISPLAY, SpiceChannel.INPUTS, SpiceChannel.CURSOR][i % 4]!;
      const other = await linked(w, type === SpiceChannel.MAIN ? { type } : { type, connectionId: session });
      for (let k = 0; k < 20 && !other.peer.closed; k++) {
        const body = Buffer.from(Array.from({ length: Math.floor(rnd() * 24) }, () => Math.floor(rnd() * 256)));
        let msg = clientMsg(rnd() < 0.7 ? 101 + Math.floor(rnd() * 15) : Math.floor(rnd() * 300), body);
        if (rnd() < 0.1) msg.writeUInt32LE(0xfffffff0, 2); // oversize size field
        if (rnd() < 0.1) msg = msg.subarray(0, Math.floor(rnd() * msg.length));
        other.peer.conn.receive(msg);
      }
      if (other.peer.closed) {
        closed++;
        assert.ok(isXenvfbError(other.peer.closed.error), `typed close: ${other.peer.closed.reason}`);
      }
      other.peer.conn.close('test done');
    }
    assert.ok(closed > 50, `${closed} of 200 hostile channels were closed`);
    assert.equal(good.peer.closed, null, 'the well-behaved display client is still linked');
    const before = serverMessages(good.data()).filter((m) => m.type === SpiceMsgDisplay.DRAW_COPY).length;
    good.peer.conn.receive(clientMsg(1, Buffer.from([1, 0, 0, 0])));
    for (let i = 0; i < 5; i++) good.peer.conn.receive(clientMsg(2));
    w.display.emit('damage', [{ x: 1, y: 2, width: 30, height: 20 }]);
    await new Promise((r) => setTimeout(r, 40));
    await settle();
    const after = serverMessages(good.data()).filter((m) => m.type === SpiceMsgDisplay.DRAW_COPY).length;
    assert.ok(after > before, 'the good client got the new damage');
  });
});
