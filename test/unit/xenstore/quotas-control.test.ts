import { strict as assert } from 'node:assert';
import {
  QUOTA_NODES_PER_DOMAIN,
  QUOTA_NODE_SIZE,
  QUOTA_PATH_MAX,
  QUOTA_PERMISSIONS_PER_NODE,
  QUOTA_TRANSACTIONS_PER_DOMAIN,
  QUOTA_WATCHES_PER_DOMAIN,
} from '../../../shared/xenstore/server/quota';
import { XsType, encodeMessage, writePayload } from '../../../shared/xenstore/wire';
import { makeDomain, setup } from './harness';

const ctl = (...args: string[]): [number, string[]] => [XsType.XS_CONTROL, args];

describe('xenstore engine: quotas of unprivileged domains (C xenstored 4.17 defaults)', () => {
  it(`nodes: ${QUOTA_NODES_PER_DOMAIN} per domain, then ENOSPC; dom0 is exempt`, () => {
    const { dom0, connect } = setup();
    makeDomain(dom0, 1);
    // Child names count towards the parent's node-size; lift it to test nodes alone.
    assert.equal(dom0.call(...ctl('quota', 'set', 'node-size', '1000000')), 'OK');
    const d1 = connect(1);
    for (let i = 1; i < QUOTA_NODES_PER_DOMAIN; i++) assert.equal(d1.write(`n${i}`, ''), 'OK'); // + its home = the quota
    assert.equal(d1.write('one-more', ''), 'ENOSPC');
    assert.equal(d1.write('a/b', ''), 'ENOSPC', 'nothing is half-created');
    assert.equal(d1.read('a'), 'ENOENT');
    assert.equal(d1.rm('n1'), 'OK');
    assert.equal(d1.write('one-more', ''), 'OK');
    assert.equal(dom0.write('/local/domain/1/by-dom0', ''), 'OK');
  });
  it(`node-size: a record of ${QUOTA_NODE_SIZE} bytes or more is ENOSPC`, () => {
    const { dom0, connect } = setup();
    makeDomain(dom0, 1);
    const d1 = connect(1);
    const atLimit = QUOTA_NODE_SIZE - 1 - 24 - 8; // header + one perm + value = 2047
    assert.equal(d1.write('v', 'x'.repeat(atLimit)), 'OK');
    assert.equal(d1.write('v', 'x'.repeat(atLimit + 1)), 'ENOSPC');
    assert.equal(d1.write('w', 'x'.repeat(atLimit + 1)), 'ENOSPC');
    assert.equal(dom0.write('/local/domain/1/v', 'x'.repeat(4000)), 'OK');
  });
  it(`watches: ${QUOTA_WATCHES_PER_DOMAIN} per domain, then E2BIG`, () => {
    const { dom0, connect } = setup();
    makeDomain(dom0, 1);
    const d1 = connect(1);
    for (let i = 0; i < QUOTA_WATCHES_PER_DOMAIN; i++) assert.equal(d1.watch(`w${i}`, 't'), 'OK');
    assert.equal(d1.watch('one-more', 't'), 'E2BIG');
  });
  it(`transactions: ${QUOTA_TRANSACTIONS_PER_DOMAIN} open per domain, then ENOSPC`, () => {
    const { connect } = setup();
    const d1 = connect(1);
    for (let i = 0; i < QUOTA_TRANSACTIONS_PER_DOMAIN; i++) assert.ok(d1.txStart() > 0);
    assert.equal(d1.call(XsType.XS_TRANSACTION_START, ['']), 'ENOSPC');
  });
  it(`permissions: ${QUOTA_PERMISSIONS_PER_NODE} entries per node, then ENOSPC`, () => {
    const { dom0, connect } = setup();
    makeDomain(dom0, 1);
    const d1 = connect(1);
    d1.write('p', '');
    const perms = (n: number): string[] => ['n1', ...Array.from({ length: n - 1 }, (_, i) => `r${i + 2}`)];
    assert.equal(d1.setPerms('p', ...perms(QUOTA_PERMISSIONS_PER_NODE)), 'OK');
    assert.equal(d1.setPerms('p', ...perms(QUOTA_PERMISSIONS_PER_NODE + 1)), 'ENOSPC');
  });
  it(`path-max: ${QUOTA_PATH_MAX} bytes after /local/domain/<id>/ (or of the whole path), for everyone`, () => {
    const { dom0, connect } = setup();
    makeDomain(dom0, 1);
    assert.equal(dom0.call(...ctl('quota', 'set', 'node-size', '1000000')), 'OK');
    const d1 = connect(1);
    assert.equal(d1.write('p'.repeat(QUOTA_PATH_MAX), ''), 'OK');
    assert.equal(d1.write('p'.repeat(QUOTA_PATH_MAX + 1), ''), 'EINVAL');
    assert.equal(dom0.write(`/${'p'.repeat(QUOTA_PATH_MAX - 1)}`, ''), 'OK');
    assert.equal(dom0.write(`/${'p'.repeat(QUOTA_PATH_MAX)}`, ''), 'EINVAL');
  });
  it('CONTROL quota set changes a limit; bad names and values are EINVAL', () => {
    const { dom0, connect } = setup();
    makeDomain(dom0, 1);
    const d1 = connect(1);
    assert.equal(dom0.call(...ctl('quota', 'set', 'nodes', '3')), 'OK');
    assert.equal(d1.write('a', ''), 'OK');
    assert.equal(d1.write('b', ''), 'OK');
    assert.equal(d1.write('c', ''), 'ENOSPC');
    for (const bad of [
      ['set', 'bogus', '1'],
      ['set', 'nodes'],
      ['set', 'nodes', '-1'],
      ['a', 'b'],
    ]) {
      assert.equal(dom0.call(...ctl('quota', ...bad)), 'EINVAL', bad.join(' '));
    }
  });
});

describe('xenstore engine: CONTROL, RESUME, SET_TARGET', () => {
  it('quota prints C xenstored’s table and per-domain usage', () => {
    const { engine, dom0 } = setup();
    const table = dom0.call(...ctl('quota'));
    assert.ok(table.startsWith('Quota settings:\nnodes            :     1000 Nodes per domain\n'), table);
    assert.ok(table.includes('path-max         :     2048 Max. length of a node path\n'));
    assert.equal(
      dom0
        .call(...ctl('quota', '0'))
        .split('\n')
        .slice(0, 2)
        .join('|'),
      'Domain 0:|nodes           :        3',
    );
    assert.equal(dom0.call(...ctl('quota', '5')), 'ENOENT');
    engine.introduceDomain(5);
    assert.ok(dom0.call(...ctl('quota', '5')).startsWith('Domain 5:\nnodes           :        0\n'));
    assert.ok(dom0.call(...ctl('quota-soft')).includes('memory           :  2097152'));
  });
  it('log needs on|off, print one string, check verifies the tree; unknown is EINVAL', () => {
    const { dom0 } = setup();
    assert.equal(dom0.call(...ctl('log', 'on')), 'OK');
    assert.equal(dom0.call(...ctl('log')), 'EINVAL');
    assert.equal(dom0.call(...ctl('print')), 'EINVAL');
    assert.equal(dom0.call(...ctl('check')), 'OK');
    assert.ok(dom0.call(...ctl('help')).includes('quota\t[set <name> <val>|<domid>]'));
    assert.equal(dom0.call(...ctl('bogus')), 'EINVAL');
    assert.equal(dom0.call(XsType.XS_CONTROL, []), 'EINVAL');
  });
  it('RESUME: privileged; dom0 EINVAL, unknown domain ENOENT', () => {
    const { engine, dom0, connect } = setup();
    assert.equal(dom0.call(XsType.XS_RESUME, ['0']), 'EINVAL');
    assert.equal(dom0.call(XsType.XS_RESUME, ['5']), 'ENOENT');
    engine.introduceDomain(5);
    assert.equal(dom0.call(XsType.XS_RESUME, ['5']), 'OK');
    assert.equal(connect(5).call(XsType.XS_RESUME, ['5']), 'EACCES');
  });
  it('SET_TARGET gives a domain owner rights over its target’s nodes', () => {
    const { engine, dom0, connect } = setup();
    makeDomain(dom0, 2);
    dom0.write('/local/domain/2/secret', 's');
    const dm = connect(1);
    assert.equal(dm.read('/local/domain/2/secret'), 'EACCES');
    assert.equal(dom0.call(XsType.XS_SET_TARGET, ['1', '2']), 'ENOENT', 'domain 1 not introduced');
    engine.introduceDomain(1);
    assert.equal(dom0.call(XsType.XS_SET_TARGET, ['1', '2']), 'ENOENT', 'target 2 not introduced');
    engine.introduceDomain(2);
    assert.equal(dm.call(XsType.XS_SET_TARGET, ['1', '2']), 'EACCES');
    assert.equal(dom0.call(XsType.XS_SET_TARGET, ['1', '2']), 'OK');
    assert.equal(dm.read('/local/domain/2/secret'), '=s');
    assert.equal(dm.write('/local/domain/2/by-dm', 'x'), 'OK');
    assert.equal(connect(1).read('/local/domain/2/secret'), '=s', 'new connections of the domain too');
    assert.equal(connect(3).read('/local/domain/2/secret'), 'EACCES');
  });
});

describe('xenstore engine: C xenstored 4.17 details', () => {
  it('a request’s watch events reach the issuing connection before its reply', () => {
    const { dom0 } = setup();
    dom0.watch('/w', 't');
    dom0.events();
    const before = dom0.inbox.length;
    dom0.conn.receive(encodeMessage({ type: XsType.XS_WRITE, reqId: 7, payload: writePayload('/w/x', 'v') }));
    assert.deepEqual(
      dom0.inbox.slice(before).map((m) => m.type),
      [XsType.XS_WATCH_EVENT, XsType.XS_WRITE],
    );
  });
  it('@ paths: EINVAL except WATCH (any @name) and SET_PERMS of the two special nodes', () => {
    const { dom0 } = setup();
    for (const p of ['@bogus', '@releaseDomain']) {
      assert.equal(dom0.read(p), 'EINVAL');
      assert.equal(dom0.rm(p), 'EINVAL');
      assert.equal(dom0.perms(p), 'EINVAL');
      assert.equal(dom0.watch(p, 't'), 'OK');
    }
    assert.equal(dom0.setPerms('@releaseDomain', 'n0', 'r3'), 'OK');
    assert.equal(dom0.setPerms('@bogus', 'n0'), 'EINVAL');
  });
  it('a transaction keeps a node it saw missing missing, even after another connection creates it', () => {
    const { dom0 } = setup();
    dom0.mkdir('/d/b');
    const tx = dom0.txStart();
    assert.equal(dom0.read('/d/b/a/c', tx), 'ENOENT');
    assert.equal(dom0.mkdir('/d/b/a'), 'OK');
    assert.equal(dom0.rm('/d/b/a/a', tx), 'ENOENT');
    assert.equal(dom0.read('/d/b/a', tx), 'ENOENT');
    assert.equal(dom0.txEnd(tx), 'EAGAIN');
  });
  it('SET_PERMS: bad perm letters are EINVAL first, then a missing node is ENOENT', () => {
    const { dom0 } = setup();
    assert.equal(dom0.setPerms('/missing', 'x1'), 'EINVAL');
    assert.equal(dom0.setPerms('/missing', 'b70000'), 'ENOENT');
    dom0.write('/e', '');
    assert.equal(dom0.setPerms('/e', 'b70000'), 'EINVAL'); // accepted difference: C stores it
  });
});
