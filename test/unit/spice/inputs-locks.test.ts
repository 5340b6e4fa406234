// The inputs channel and the guest's lock keys: INIT carries the lock state the backend
// believes the guest has (input/lock-keys.ts, shared with VNC's QEMU LED state), a client's
// KEY_MODIFIERS that differs taps the guest's lock keys until they agree, and every change,
// whoever caused it, reaches the client as KEY_MODIFIERS.

import { strict as assert } from 'node:assert';
import { SpiceChannel, SpiceKeyboardModifier, SpiceMsgcInputs, SpiceMsgInputs } from '../../../shared/spice/constants';
import { KEY_CAPSLOCK, KEY_NUMLOCK } from '../../../backend/input/linux-input-codes';
import { lockKeysFor } from '../../../backend/input/lock-keys';
import { clientMsg, linked, serverMessages, world } from './helpers';

function modifiersSent(data: Buffer): number[] {
  return serverMessages(data)
    .filter((m) => m.type === SpiceMsgInputs.KEY_MODIFIERS || m.type === SpiceMsgInputs.INIT)
    .map((m) => m.body.readUInt16LE(0));
}

describe('SPICE inputs: lock keys', function () {
  it("a client's KEY_MODIFIERS taps the guest's lock keys that differ; changes are told back", async function () {
    const w = world();
    const main = await linked(w, { type: SpiceChannel.MAIN });
    const session = serverMessages(main.data())[0]!.body.readUInt32LE(0);
    const inp = await linked(w, { type: SpiceChannel.INPUTS, connectionId: session });
    const u16 = (v: number) => Buffer.from([v & 255, v >> 8]);
    assert.deepEqual(modifiersSent(inp.data()), [0], 'INIT: all off');
    const { CAPS_LOCK, NUM_LOCK } = SpiceKeyboardModifier;
    inp.peer.conn.receive(clientMsg(SpiceMsgcInputs.KEY_MODIFIERS, u16(CAPS_LOCK | NUM_LOCK)));
    assert.deepEqual(w.input.calls, [
      { kind: 'key', args: [KEY_NUMLOCK, true] },
      { kind: 'key', args: [KEY_NUMLOCK, false] },
      { kind: 'key', args: [KEY_CAPSLOCK, true] },
      { kind: 'key', args: [KEY_CAPSLOCK, false] },
    ]);
    assert.equal(lockKeysFor(w.input).state, CAPS_LOCK | NUM_LOCK);
    // Already in agreement: nothing is pressed.
    inp.peer.conn.receive(clientMsg(SpiceMsgcInputs.KEY_MODIFIERS, u16(CAPS_LOCK | NUM_LOCK)));
    assert.equal(w.input.calls.length, 4);
    // The client's own Caps Lock press toggles the state, which goes back as KEY_MODIFIERS.
    inp.peer.conn.receive(clientMsg(SpiceMsgcInputs.KEY_SCANCODE, Buffer.from([0x3a, 0xba])));
    assert.deepEqual(modifiersSent(inp.data()), [0, NUM_LOCK, CAPS_LOCK | NUM_LOCK, NUM_LOCK]);
    // A second client of the same guest starts with the state as it is now.
    const inp2 = await linked(w, { type: SpiceChannel.INPUTS, connectionId: session });
    assert.deepEqual(modifiersSent(inp2.data()), [NUM_LOCK]);
  });

  it('a short KEY_MODIFIERS closes the channel with SPICE_E_BAD_MSG, the guest untouched', async function () {
    const w = world();
    const main = await linked(w, { type: SpiceChannel.MAIN });
    const session = serverMessages(main.data())[0]!.body.readUInt32LE(0);
    const inp = await linked(w, { type: SpiceChannel.INPUTS, connectionId: session });
    inp.peer.conn.receive(clientMsg(SpiceMsgcInputs.KEY_MODIFIERS, Buffer.from([4])));
    assert.equal((inp.peer.closed?.error as { code?: string } | undefined)?.code, 'SPICE_E_BAD_MSG');
    assert.equal(w.input.calls.length, 0);
  });
});
