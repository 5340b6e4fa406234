// The SPICE connection engine driven with byte arrays: the link stage (reply, ticket, refusals,
// throttle, expiry, sessions), each channel's first messages, SET_ACK flow control with a
// client that never acknowledges, and inputs to Linux codes.

import { strict as assert } from 'node:assert';
import { SpiceChannel, SpiceMsgcInputs, SpiceMsgcMain, SpiceMsgDisplay, SpiceMsgMain } from '../../../shared/spice/constants';
import { SPICE_ACK_WINDOW } from '../../../backend/spice/channel';
import { BTN_LEFT, BTN_SIDE, KEY_A, KEY_PAUSE, KEY_RIGHT } from '../../../backend/input/linux-input-codes';
import { clientMsg, linkBytes, linked, readLinkReply, serverMessages, settle, ticketBytes, world } from './helpers';
import { AUTH_FREE_FAILURES } from '../../../backend/auth/throttle';

describe('SPICE connection engine', function () {
  it('main link: reply with a 162-byte key and caps 0x0B, ticket, OK, then INIT with a non-zero session id', async function () {
    const w = world();
    const peer = w.connect();
    peer.conn.receive(linkBytes({ type: SpiceChannel.MAIN, channel: [0xf] }));
    await settle();
    const reply = readLinkReply(peer.bytes());
    assert.equal(reply.error, 0);
    assert.equal(reply.pubKey.length, 162);
    assert.equal(reply.commonCaps, 0x0b, 'AUTH_SELECTION | AUTH_SPICE | MINI_HEADER, never SASL');
    peer.conn.receive(ticketBytes(reply.pubKey, ''));
    await settle();
    const rest = peer.bytes().subarray(16 + reply.size);
    assert.equal(rest.readUInt32LE(0), 0);
    const msgs = serverMessages(rest.subarray(4));
    assert.equal(msgs[0]!.type, SpiceMsgMain.INIT);
    assert.notEqual(msgs[0]!.body.readUInt32LE(0), 0);
    assert.equal(msgs[0]!.body.readUInt32LE(8), 3, 'SERVER | CLIENT mouse modes');
    assert.equal(msgs[0]!.body.readUInt32LE(16), 0, 'no agent');
    peer.conn.receive(clientMsg(SpiceMsgcMain.ATTACH_CHANNELS));
    const list = serverMessages(peer.bytes().subarray(16 + reply.size + 4)).find((m) => m.type === SpiceMsgMain.CHANNELS_LIST)!;
    assert.deepEqual([...list.body], [3, 0, 0, 0, 2, 0, 3, 0, 4, 0]);
  });

  it('a client without AUTH_SELECTION sends the bare 128-byte ticket', async function () {
    const w = world();
    const peer = w.connect();
    peer.conn.receive(linkBytes({ type: SpiceChannel.MAIN, common: [0x08] }));
    await settle();
    const reply = readLinkReply(peer.bytes());
    peer.conn.receive(ticketBytes(reply.pubKey, '', false));
    await settle();
    assert.equal(peer.bytes().readUInt32LE(16 + reply.size), 0);
    assert.equal(peer.closed, null);
  });

  it('the whole link split at every byte gives the same result', async function () {
    const w = world();
    for (let cut = 1; cut < 40; cut++) {
      const peer = w.connect();
      const link = linkBytes({ type: SpiceChannel.MAIN });
      peer.conn.receive(link.subarray(0, cut));
      peer.conn.receive(link.subarray(cut));
      await settle();
      const reply = readLinkReply(peer.bytes());
      const ticket = ticketBytes(reply.pubKey, '');
      const at = cut * 3;
      peer.conn.receive(ticket.subarray(0, at));
      peer.conn.receive(ticket.subarray(at));
      await settle();
      assert.equal(peer.bytes().readUInt32LE(16 + reply.size), 0, `cut ${cut}`);
      peer.conn.close('done');
    }
  });

  it('a wrong ticket gets PERMISSION_DENIED; after AUTH_FREE_FAILURES of them the address cools down (refused while the delay runs)', async function () {
    const w = world({ ticketing: { password: 'sesame' } });
    for (let i = 0; i < AUTH_FREE_FAILURES; i++) {
      const peer = w.connect();
      peer.conn.receive(linkBytes({ type: SpiceChannel.MAIN }));
      await settle();
      const reply = readLinkReply(peer.bytes());
      peer.conn.receive(ticketBytes(reply.pubKey, 'wrong'));
      await settle();
      assert.equal(peer.bytes().readUInt32LE(16 + reply.size), 7);
      assert.equal((peer.closed?.error as { code?: string }).code, 'SPICE_E_AUTH_FAILED');
    }
    const late = w.connect();
    late.conn.receive(linkBytes({ type: SpiceChannel.MAIN }));
    await settle();
    assert.equal(readLinkReply(late.bytes()).error, 7);
    assert.equal((late.closed?.error as { code?: string }).code, 'SPICE_E_AUTH_THROTTLED');
  });

  it('an expired ticket is refused with SPICE_E_TICKET_EXPIRED; a valid one before expiry works', async function () {
    const expired = world({ ticketing: { password: 'sesame', expiresAt: Date.now() - 1 } });
    const peer = expired.connect();
    peer.conn.receive(linkBytes({ type: SpiceChannel.MAIN }));
    await settle();
    const reply = readLinkReply(peer.bytes());
    peer.conn.receive(ticketBytes(reply.pubKey, 'sesame'));
    await settle();
    assert.equal(peer.bytes().readUInt32LE(16 + reply.size), 7);
    assert.equal((peer.closed?.error as { code?: string }).code, 'SPICE_E_TICKET_EXPIRED');
    const valid = world({ ticketing: { password: 'sesame', expiresAt: Date.now() + 60_000 } });
    await linked(valid, { type: SpiceChannel.MAIN }, 'sesame');
  });

  it('other channels need a live session id; unknown channels and ids are refused', async function () {
    const w = world();
    const bad = w.connect();
    bad.conn.receive(linkBytes({ type: SpiceChannel.DISPLAY, connectionId: 1234 }));
    await settle();
    assert.equal(readLinkReply(bad.bytes()).error, 8, 'BAD_CONNECTION_ID');
    const { data } = await linked(w, { type: SpiceChannel.MAIN });
    const session = serverMessages(data())[0]!.body.readUInt32LE(0);
    for (const [type, id, err] of [
      [SpiceChannel.PLAYBACK, 0, 9],
      [SpiceChannel.DISPLAY, 1, 9],
    ] as const) {
      const p = w.connect();
      p.conn.receive(linkBytes({ type, id, connectionId: session }));
      await settle();
      assert.equal(readLinkReply(p.bytes()).error, err, `channel ${type}/${id}`);
    }
    await linked(w, { type: SpiceChannel.DISPLAY, connectionId: session });
  });

  it('display: SET_ACK, SURFACE_CREATE, one whole DRAW_COPY, MARK; a client that never ACKs holds at most 2 * window messages', async function () {
    const w = world({ width: 1920, height: 1080 });
    const main = await linked(w, { type: SpiceChannel.MAIN });
    const session = serverMessages(main.data())[0]!.body.readUInt32LE(0);
    const disp = await linked(w, { type: SpiceChannel.DISPLAY, connectionId: session });
    await settle();
    const first = serverMessages(disp.data()).map((m) => m.type);
    assert.deepEqual(first, [3, SpiceMsgDisplay.SURFACE_CREATE, SpiceMsgDisplay.DRAW_COPY, SpiceMsgDisplay.MARK]);
    // Damage every 16 ms for a while: the client never reads or ACKs.
    for (let i = 0; i < 200; i++) {
      w.display.emit('damage', [{ x: (i * 37) % 1800, y: (i * 13) % 1000, width: 100, height: 80 }]);
      await new Promise((r) => setTimeout(r, 1));
      await settle();
    }
    await new Promise((r) => setTimeout(r, 40));
    await settle();
    const sent = serverMessages(disp.data()).length;
    assert.ok(sent <= 2 * SPICE_ACK_WINDOW + 2, `${sent} messages sent without an ACK (window ${SPICE_ACK_WINDOW})`);
    const held = disp.peer.bytes().length;
    console.log(`      a 1920x1080 client that never ACKs holds ${(held / 1048576).toFixed(1)} MiB of output after 200 damage events`);
    assert.ok(held < 64 * 1024 * 1024);
    // ACK_SYNC then ACKs: sending resumes.
    disp.peer.conn.receive(clientMsg(1, Buffer.from([1, 0, 0, 0])));
    for (let i = 0; i < 3; i++) disp.peer.conn.receive(clientMsg(2));
    await new Promise((r) => setTimeout(r, 40));
    await settle();
    assert.ok(serverMessages(disp.data()).length > sent, 'ACKs release more updates');
  });

  it('inputs: set-1 scancodes (E0 and E1 prefixes) to Linux keys, position, buttons, wheel, motion ACK every 4', async function () {
    const w = world({ width: 320, height: 200 });
    const main = await linked(w, { type: SpiceChannel.MAIN });
    const session = serverMessages(main.data())[0]!.body.readUInt32LE(0);
    const inp = await linked(w, { type: SpiceChannel.INPUTS, connectionId: session });
    const u32 = (v: number) => Buffer.from([v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255]);
    inp.peer.conn.receive(clientMsg(SpiceMsgcInputs.KEY_DOWN, u32(0x1e)));
    inp.peer.conn.receive(clientMsg(SpiceMsgcInputs.KEY_UP, u32(0x9e)));
    inp.peer.conn.receive(clientMsg(SpiceMsgcInputs.KEY_DOWN, u32(0x4de0)));
    inp.peer.conn.receive(clientMsg(SpiceMsgcInputs.KEY_UP, u32(0xcde0)));
    inp.peer.conn.receive(clientMsg(SpiceMsgcInputs.KEY_SCANCODE, Buffer.from([0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5])));
    const pos = (x: number, y: number, b: number) => {
      const body = Buffer.alloc(11);
      body.writeUInt32LE(x, 0);
      body.writeUInt32LE(y, 4);
      body.writeUInt16LE(b, 8);
      return clientMsg(SpiceMsgcInputs.MOUSE_POSITION, body);
    };
    inp.peer.conn.receive(pos(10, 20, 0));
    inp.peer.conn.receive(pos(5000, 20, 1)); // clamped to the surface; left button down
    inp.peer.conn.receive(clientMsg(SpiceMsgcInputs.MOUSE_PRESS, Buffer.from([6, 33, 0])));
    inp.peer.conn.receive(clientMsg(SpiceMsgcInputs.MOUSE_RELEASE, Buffer.from([6, 1, 0])));
    inp.peer.conn.receive(clientMsg(SpiceMsgcInputs.MOUSE_PRESS, Buffer.from([4, 1, 0])));
    inp.peer.conn.receive(pos(11, 21, 0));
    inp.peer.conn.receive(pos(12, 22, 0));
    assert.deepEqual(w.input.calls, [
      { kind: 'key', args: [KEY_A, true] },
      { kind: 'key', args: [KEY_A, false] },
      { kind: 'key', args: [KEY_RIGHT, true] },
      { kind: 'key', args: [KEY_RIGHT, false] },
      { kind: 'key', args: [KEY_PAUSE, true] },
      { kind: 'key', args: [KEY_PAUSE, false] },
      { kind: 'pointerAbs', args: [10, 20, 320, 200] },
      { kind: 'pointerAbs', args: [319, 20, 320, 200] },
      { kind: 'button', args: [BTN_LEFT, true] },
      { kind: 'button', args: [BTN_SIDE, true] },
      { kind: 'button', args: [BTN_SIDE, false] },
      { kind: 'wheel', args: [1] },
      { kind: 'pointerAbs', args: [11, 21, 320, 200] },
      { kind: 'button', args: [BTN_LEFT, false] },
      { kind: 'pointerAbs', args: [12, 22, 320, 200] },
    ]);
    const acks = serverMessages(inp.data()).filter((m) => m.type === 111).length;
    assert.equal(acks, 1, 'one MOUSE_MOTION_ACK after 4 position messages');
    // Held keys are released when the client goes.
    inp.peer.conn.receive(clientMsg(SpiceMsgcInputs.KEY_DOWN, u32(0x1e)));
    inp.peer.conn.close('gone');
    assert.deepEqual(w.input.calls.slice(-1), [{ kind: 'key', args: [KEY_A, false] }]);
  });

  it('a new session takes over the old one unless shared', async function () {
    const w = world();
    const a = await linked(w, { type: SpiceChannel.MAIN });
    await linked(w, { type: SpiceChannel.MAIN });
    assert.ok(a.peer.closed, 'the first client was closed');
    const s = world({ shared: true });
    const b = await linked(s, { type: SpiceChannel.MAIN });
    await linked(s, { type: SpiceChannel.MAIN });
    assert.equal(b.peer.closed, null);
    assert.equal(s.sessions.count, 2);
  });
});

describe('SPICE link stage limits', function () {
  it('a client that floods bytes before the link reply is closed with SPICE_E_OVERSIZE', async function () {
    const w = world();
    const peer = w.connect({ keys: { take: () => new Promise(() => undefined) } }); // the key never comes
    peer.conn.receive(linkBytes({ type: SpiceChannel.MAIN }));
    for (let i = 0; i < 10 && !peer.closed; i++) peer.conn.receive(Buffer.alloc(1024));
    assert.equal((peer.closed?.error as { code?: string } | undefined)?.code, 'SPICE_E_OVERSIZE');
  });
});

describe('SPICE cursor channel', function () {
  it('INIT with the default ALPHA arrow, then SET for a guest shape (RGBA to BGRA), MOVE, HIDE', async function () {
    const w = world();
    const main = await linked(w, { type: SpiceChannel.MAIN });
    const session = serverMessages(main.data())[0]!.body.readUInt32LE(0);
    const cur = await linked(w, { type: SpiceChannel.CURSOR, connectionId: session });
    const first = serverMessages(cur.data());
    assert.deepEqual(
      first.map((m) => m.type),
      [3, 101],
      'SET_ACK, CURSOR_INIT',
    );
    const init = first[1]!.body;
    // i16 x | i16 y | u16 trail_length | u16 trail_frequency | u8 visible | u16 flags | u64 unique | u8 type | u16 w | u16 h | u16 hot_x | u16 hot_y
    assert.equal(init[8], 1, 'visible');
    assert.equal(init.readUInt16LE(9), 0, 'no cache flags');
    assert.equal(init[19], 0, 'ALPHA');
    const [aw, ah] = [init.readUInt16LE(20), init.readUInt16LE(22)];
    assert.equal(init.length, 28 + aw * ah * 4);
    const shape = { width: 2, height: 1, hotX: 1, hotY: 0, rgba: Uint8Array.from([10, 20, 30, 255, 1, 2, 3, 128]) };
    w.display.emit('cursor', { shape, x: 5, y: 6, visible: true });
    w.display.emit('cursor', { shape, x: 7, y: 8, visible: true });
    w.display.emit('cursor', { shape, x: 7, y: 8, visible: false });
    const next = serverMessages(cur.data()).slice(2);
    assert.deepEqual(
      next.map((m) => m.type),
      [103, 104, 105],
      'SET, MOVE, HIDE',
    );
    const set = next[0]!.body;
    assert.deepEqual([set.readInt16LE(0), set.readInt16LE(2), set[4]], [5, 6, 1]);
    assert.deepEqual([...set.subarray(set.length - 8)], [30, 20, 10, 255, 3, 2, 1, 128], 'BGRA');
    assert.deepEqual([next[1]!.body.readInt16LE(0), next[1]!.body.readInt16LE(2)], [7, 8]);
  });
});
