import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isXenvfbError } from '../../../shared/errors';
import { createDomainFiles } from '../../../shared/platform/sim/domain-files';
import { GNTTAB_NR_RESERVED_ENTRIES, GTF_permit_access, NR_GRANT_ENTRIES } from '../../../shared/platform/sim/grant-table';
import { FrameAllocator, GrantRefAllocator, SIM_RESERVED_FRAMES, SimGuestMemory } from '../../../shared/platform/sim/memory';

describe('sim guest memory', () => {
  describe('FrameAllocator', () => {
    it('never hands out the reserved low frames and allocates lowest first', () => {
      const a = new FrameAllocator(32);
      assert.equal(a.free, 32 - SIM_RESERVED_FRAMES);
      assert.deepEqual(a.alloc(3), [16, 17, 18]);
      a.release([17]);
      assert.deepEqual(a.alloc(2), [17, 19]);
    });

    it('allocates exactly all free pages and refuses one more (SIM_E_NO_MEMORY)', () => {
      const a = new FrameAllocator(20);
      assert.deepEqual(a.alloc(4), [16, 17, 18, 19]);
      assert.throws(
        () => a.alloc(1),
        (e) => isXenvfbError(e, 'SIM_E_NO_MEMORY'),
      );
      assert.throws(
        () => new FrameAllocator(20).alloc(0),
        (e) => isXenvfbError(e, 'SIM_E_NO_MEMORY'),
      );
    });

    it('refuses to free reserved, unallocated or foreign frames', () => {
      const a = new FrameAllocator(32);
      a.alloc(1);
      for (const f of [0, 15, 17, 32, -1])
        assert.throws(
          () => a.release([f]),
          (e) => isXenvfbError(e, 'MAP_E_BAD_FRAME'),
        );
    });
  });

  describe('GrantRefAllocator', () => {
    it('starts after the reserved refs and fills the table exactly', () => {
      const r = new GrantRefAllocator();
      assert.deepEqual(r.alloc(2), [GNTTAB_NR_RESERVED_ENTRIES, GNTTAB_NR_RESERVED_ENTRIES + 1]);
      r.alloc(NR_GRANT_ENTRIES - GNTTAB_NR_RESERVED_ENTRIES - 2);
      assert.throws(
        () => r.alloc(1),
        (e) => isXenvfbError(e, 'GNT_E_FULL'),
      );
      r.release(100);
      assert.deepEqual(r.alloc(1), [100]);
    });
  });

  describe('SimGuestMemory', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-mem-'));
      createDomainFiles(dir, 5, 1);
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('is only for guests that exist', () => {
      assert.throws(
        () => new SimGuestMemory({ dir, domid: 0 }),
        (e) => isXenvfbError(e, 'SIM_E_NO_DOMAIN'),
      );
      assert.throws(
        () => new SimGuestMemory({ dir, domid: 6 }),
        (e) => isXenvfbError(e, 'SIM_E_NO_DOMAIN'),
      );
    });

    it('alloc returns zeroed pages even when the frame held data before', () => {
      const m = new SimGuestMemory({ dir, domid: 5 });
      assert.equal(m.pages, 256);
      const a = m.alloc(2);
      new Uint8Array(a.region.buffer).fill(0xee);
      a.region.unmap();
      m.free(a.frames);
      const b = m.alloc(2);
      assert.deepEqual(b.frames, a.frames);
      assert.ok(new Uint8Array(b.region.buffer).every((x) => x === 0));
      m.close();
    });

    it('share grants the pages, unshare ends the grants and frees the frames', () => {
      const m = new SimGuestMemory({ dir, domid: 5 });
      const free = m.freePages;
      const s = m.share(0, 3, true);
      assert.equal(s.refs.length, 3);
      assert.equal(m.freePages, free - 3);
      assert.deepEqual(m.grantEntry(s.refs[1]!), { flags: GTF_permit_access, domid: 0, frame: s.frames[1] });
      s.unshare();
      s.unshare();
      assert.equal(m.freePages, free);
      assert.equal(s.region.mapped, false);
      assert.deepEqual(m.grantEntry(s.refs[1]!), { flags: 0, domid: 0, frame: 0 });
      assert.throws(
        () => m.endGrants(s.refs),
        (e) => isXenvfbError(e, 'GNT_E_BAD_REF'),
      );
      m.close();
    });
  });
});
