import { strict as assert } from 'node:assert';
import { EvtchnRelay, type RelayConnection } from '../../../shared/platform/sim/evtchn-relay';
import {
  type EvtchnClientMessage,
  type EvtchnServerMessage,
  encodeClientMessage,
  serverMessageDecoder,
} from '../../../shared/platform/sim/evtchn-wire';

type Request = Extract<EvtchnClientMessage, { reqId: number }>;
type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'reqId'> : never) : never;

// Drives the relay engine with bytes, no sockets: each fake client records what it received.
class FakeClient {
  readonly received: EvtchnServerMessage[] = [];
  readonly conn: RelayConnection;
  destroyed = false;
  private readonly decoder = serverMessageDecoder();
  private reqId = 1;

  constructor(
    relay: EvtchnRelay,
    readonly domid: number,
  ) {
    this.conn = relay.attach(domid, {
      write: (b) => this.received.push(...this.decoder.push(b)),
      destroy: () => {
        this.destroyed = true;
      },
    });
  }

  send(m: EvtchnClientMessage): void {
    this.conn.receive(encodeClientMessage(m));
  }

  /** Sends a request and returns its reply (the engine answers synchronously). */
  call(m: RequestBody): EvtchnServerMessage {
    const reqId = this.reqId++;
    this.send({ ...m, reqId } as EvtchnClientMessage);
    const reply = this.received.find((r) => r.type !== 'event' && r.reqId === reqId);
    assert.ok(reply, 'relay answered');
    return reply;
  }

  port(m: RequestBody): number {
    const r = this.call(m);
    assert.equal(r.type, 'reply', JSON.stringify(r));
    return (r as { port: number }).port;
  }

  events(): number[] {
    return this.received.filter((r) => r.type === 'event').map((r) => (r as { port: number }).port);
  }
}

describe('sim event channel relay', () => {
  let relay: EvtchnRelay;
  let guest: FakeClient;
  let dom0: FakeClient;

  beforeEach(() => {
    relay = new EvtchnRelay();
    guest = new FakeClient(relay, 1);
    dom0 = new FakeClient(relay, 0);
  });

  function connect(): { gport: number; bport: number } {
    const gport = guest.port({ type: 'alloc-unbound', remoteDomid: 0 });
    const bport = dom0.port({ type: 'bind-interdomain', remoteDomid: 1, remotePort: gport });
    return { gport, bport };
  }

  it('numbers ports per domain from 1 and binds like Xen', () => {
    const { gport, bport } = connect();
    assert.equal(gport, 1);
    assert.equal(bport, 1);
    assert.deepEqual(relay.status(1, 1), { state: 'interdomain', remoteDomid: 0, remotePort: 1 });
    assert.deepEqual(relay.status(0, 1), { state: 'interdomain', remoteDomid: 1, remotePort: 1 });
    assert.deepEqual(relay.status(0, 2), { state: 'free' });
  });

  it('refuses to bind a port allocated for another domain, a bound port, or a free one', () => {
    const forDom2 = guest.port({ type: 'alloc-unbound', remoteDomid: 2 });
    const bad = (r: EvtchnServerMessage): boolean => r.type === 'error' && r.code === 'EVTCHN_E_BAD_PORT';
    assert.ok(bad(dom0.call({ type: 'bind-interdomain', remoteDomid: 1, remotePort: forDom2 })));
    const { gport } = connect();
    assert.ok(bad(dom0.call({ type: 'bind-interdomain', remoteDomid: 1, remotePort: gport })));
    assert.ok(bad(dom0.call({ type: 'bind-interdomain', remoteDomid: 1, remotePort: 99 })));
  });

  it("delivers notify both ways as the peer's local port", () => {
    const { gport, bport } = connect();
    guest.send({ type: 'notify', port: gport });
    assert.deepEqual(dom0.events(), [bport]);
    dom0.send({ type: 'notify', port: bport });
    assert.deepEqual(guest.events(), [gport]);
  });

  it('coalesces notifies while the port is pending and delivers once more after unmask', () => {
    const { gport, bport } = connect();
    for (let i = 0; i < 5; i += 1) guest.send({ type: 'notify', port: gport });
    assert.deepEqual(dom0.events(), [bport]);
    dom0.send({ type: 'unmask', port: bport });
    // Notifies arrived while pending: one more delivery, so none is lost.
    assert.deepEqual(dom0.events(), [bport, bport]);
    dom0.send({ type: 'unmask', port: bport });
    assert.deepEqual(dom0.events(), [bport, bport]);
    guest.send({ type: 'notify', port: gport });
    assert.deepEqual(dom0.events(), [bport, bport, bport]);
  });

  it('ignores notify on unbound ports and on ports of another connection', () => {
    const gport = guest.port({ type: 'alloc-unbound', remoteDomid: 0 });
    guest.send({ type: 'notify', port: gport });
    const other = new FakeClient(relay, 1);
    const bport = dom0.port({ type: 'bind-interdomain', remoteDomid: 1, remotePort: gport });
    other.send({ type: 'notify', port: gport });
    assert.deepEqual(dom0.events(), []);
    assert.ok(bport > 0);
  });

  it('unbind makes the peer unbound again (ECS_UNBOUND) so it can be re-bound', () => {
    const { gport, bport } = connect();
    assert.equal(dom0.call({ type: 'unbind', port: bport }).type, 'reply');
    assert.deepEqual(relay.status(1, gport), { state: 'unbound', remoteDomid: 0 });
    assert.deepEqual(relay.status(0, bport), { state: 'free' });
    assert.equal(dom0.port({ type: 'bind-interdomain', remoteDomid: 1, remotePort: gport }), bport);
    const r = dom0.call({ type: 'unbind', port: 77 });
    assert.ok(r.type === 'error' && r.code === 'EVTCHN_E_BAD_PORT');
  });

  it('a dropped connection closes all its ports; peers become unbound', () => {
    const a = connect();
    const b = connect();
    const closed: number[] = [];
    relay.on('connection-closed', (d: number) => closed.push(d));
    guest.conn.detach();
    assert.deepEqual(closed, [1]);
    assert.deepEqual(relay.ports(1), []);
    assert.deepEqual(relay.status(0, a.bport), { state: 'unbound', remoteDomid: 1 });
    assert.deepEqual(relay.status(0, b.bport), { state: 'unbound', remoteDomid: 1 });
    dom0.send({ type: 'notify', port: a.bport }); // ignored, as Xen does on ECS_UNBOUND
    // A restarted guest can bind to the backend's old port.
    const fresh = new FakeClient(relay, 1);
    assert.equal(fresh.port({ type: 'bind-interdomain', remoteDomid: 0, remotePort: a.bport }), 1);
    fresh.send({ type: 'notify', port: 1 });
    assert.deepEqual(dom0.events(), [a.bport]);
  });

  it('drops a connection that sends garbage', () => {
    guest.port({ type: 'alloc-unbound', remoteDomid: 0 });
    guest.conn.receive(Buffer.from([1, 0, 0x7e]));
    assert.equal(guest.destroyed, true);
    assert.equal(relay.connectionCount(1), 0);
    assert.deepEqual(relay.ports(1), []);
  });
});
