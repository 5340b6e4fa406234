// rmIfExists: the cleanup form of rm. A missing node is fine; a closed connection or a
// refused permission is not swallowed (that is what `rm(...).catch(() => undefined)` did).

import { strict as assert } from 'node:assert';
import { isXenvfbError } from '../../../shared/errors';
import { xsErrno } from '../../../shared/xenstore/client';
import { connectInMemory } from '../../../shared/xenstore/server/memory-transport';
import { XenstoredServer } from '../../../shared/xenstore/server/socket-server';

describe('xenstore client rmIfExists', () => {
  it('removes a node, and accepts a node or parent that is already gone', async () => {
    const server = new XenstoredServer();
    const xs = connectInMemory(server.engine, { domid: 0, privileged: true });
    await xs.write('/t/a/b', '1');
    await xs.rmIfExists('/t/a');
    assert.equal(await xs.tryRead('/t/a/b'), undefined);
    await xs.rmIfExists('/t/a');
    await xs.rmIfExists('/nowhere/at/all');
    await xs.transaction(async (tx) => {
      await tx.rmIfExists('/t/missing/node');
      await tx.write('/t/c', '2');
    });
    assert.equal(await xs.read('/t/c'), '2');
    xs.close();
  });

  it('still rejects on a closed connection and on EACCES', async () => {
    const server = new XenstoredServer();
    const dom0 = connectInMemory(server.engine, { domid: 0, privileged: true });
    const dom3 = connectInMemory(server.engine, { domid: 3, privileged: false });
    await dom0.write('/t/owned-by-dom0', 'x');
    await assert.rejects(dom3.rmIfExists('/t/owned-by-dom0'), (e: unknown) => xsErrno(e) === 'EACCES');
    assert.equal(await dom0.read('/t/owned-by-dom0'), 'x');
    dom0.close();
    await assert.rejects(dom0.rmIfExists('/t/owned-by-dom0'), (e: unknown) => isXenvfbError(e, 'XS_E_CLOSED'));
    dom3.close();
  });
});
