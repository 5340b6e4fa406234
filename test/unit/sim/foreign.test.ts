import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isXenvfbError } from '../../../shared/errors';
import { createDomainFiles } from '../../../shared/platform/sim/domain-files';
import { EFAULT, SimForeignMapper } from '../../../shared/platform/sim/foreign';
import { SimGuestMemory } from '../../../shared/platform/sim/memory';

describe('sim foreign mapping (privcmd)', () => {
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-fmap-'));
    createDomainFiles(dir, 3, 1); // 256 pages
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is only constructible for dom0', () => {
    assert.throws(
      () => new SimForeignMapper({ dir, domid: 1 }),
      (e) => isXenvfbError(e, 'SIM_E_NOT_PRIVILEGED'),
    );
    assert.ok(new SimForeignMapper({ dir, domid: 0 }));
  });

  it('maps guest frames by number, in the order given', () => {
    const guest = new SimGuestMemory({ dir, domid: 3 });
    const { frames, region } = guest.alloc(2);
    const g = new Uint8Array(region.buffer);
    g[0] = 1;
    g[4096] = 2;
    const m = new SimForeignMapper({ dir, domid: 0 }).mapFrames(3, [frames[1]!, frames[0]!], true);
    const d = new Uint8Array(m.buffer);
    assert.deepEqual([d[0], d[4096]], [2, 1]);
    d[1] = 9;
    assert.equal(g[4097], 9);
    m.unmap();
    region.unmap();
    guest.close();
  });

  it('reports per-page errors like MMAPBATCH_V2 err[] for frames outside memory', () => {
    const f = new SimForeignMapper({ dir, domid: 0 });
    assert.throws(
      () => f.mapFrames(3, [16, 256, 255, -1], false),
      (e) => isXenvfbError(e, 'MAP_E_BAD_FRAME') && JSON.stringify(e.details.errors) === JSON.stringify([0, -EFAULT, 0, -EFAULT]),
    );
    assert.throws(
      () => f.mapFrames(3, [], false),
      (e) => isXenvfbError(e, 'MAP_E_BAD_FRAME'),
    );
    assert.throws(
      () => f.mapFrames(4, [16], false),
      (e) => isXenvfbError(e, 'SIM_E_NO_DOMAIN'),
    );
  });
});
