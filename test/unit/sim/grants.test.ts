import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isXenvfbError } from '../../../shared/errors';
import { createDomainFiles } from '../../../shared/platform/sim/domain-files';
import {
  GNTTAB_NR_RESERVED_ENTRIES,
  GTF_permit_access,
  GTF_readonly,
  NR_GRANT_ENTRIES,
  checkGrantMap,
  decodeGrantEntry,
} from '../../../shared/platform/sim/grant-table';
import { SimGrantMapper } from '../../../shared/platform/sim/grants';
import { grantTablePath } from '../../../shared/platform/sim/layout';
import { SimGuestMemory } from '../../../shared/platform/sim/memory';

describe('sim grant tables', () => {
  let dir: string;
  let guest: SimGuestMemory;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-gnt-'));
    createDomainFiles(dir, 1, 1); // 256 pages
    createDomainFiles(dir, 2, 1);
    guest = new SimGuestMemory({ dir, domid: 1 });
  });
  afterEach(() => {
    guest.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const code = (c: string) => (e: unknown) => isXenvfbError(e, c as never);

  it('writes grant_entry_v1 { u16 flags; u16 domid; u32 frame } into the table file', () => {
    const { frames } = guest.alloc(1);
    const [ref] = guest.grant(0, frames, false);
    const raw = Buffer.alloc(8);
    const fd = fs.openSync(grantTablePath(dir, 1), 'r');
    fs.readSync(fd, raw, 0, 8, ref! * 8);
    fs.closeSync(fd);
    assert.deepEqual(raw, Buffer.from([GTF_permit_access | GTF_readonly, 0, 0, 0, frames[0]!, 0, 0, 0]));
    assert.deepEqual(decodeGrantEntry(raw), { flags: 5, domid: 0, frame: frames[0] });
    assert.ok(ref! >= GNTTAB_NR_RESERVED_ENTRIES);
  });

  it("maps a grant for the named domain and sees the granter's bytes both ways", () => {
    const shared = guest.share(0, 2, true);
    const mine = new Uint8Array(shared.region.buffer);
    mine[0] = 0xab;
    mine[4096 + 7] = 0xcd;
    const m = new SimGrantMapper({ dir, domid: 0 }).mapGrants(1, shared.refs, true);
    const theirs = new Uint8Array(m.buffer);
    assert.equal(m.length, 8192);
    assert.equal(theirs[0], 0xab);
    assert.equal(theirs[4096 + 7], 0xcd);
    theirs[1] = 0x11;
    assert.equal(mine[1], 0x11);
    m.unmap();
    shared.unshare();
  });

  it('refuses a domain the grant does not name (GNT_E_PERM)', () => {
    const shared = guest.share(0, 1, true);
    assert.throws(() => new SimGrantMapper({ dir, domid: 2 }).mapGrants(1, shared.refs, false), code('GNT_E_PERM'));
  });

  it('maps a read-only grant read-only and refuses it writable (GNT_E_PERM)', () => {
    const shared = guest.share(0, 1, false);
    const mapper = new SimGrantMapper({ dir, domid: 0 });
    assert.throws(() => mapper.mapGrants(1, shared.refs, true), code('GNT_E_PERM'));
    const m = mapper.mapGrants(1, shared.refs, false);
    assert.equal(m.writable, false);
    m.unmap();
  });

  it('refuses reserved and out-of-range refs (GNT_E_BAD_REF)', () => {
    const mapper = new SimGrantMapper({ dir, domid: 0 });
    for (const ref of [0, 1, GNTTAB_NR_RESERVED_ENTRIES - 1, NR_GRANT_ENTRIES, -1, 1.5]) {
      assert.throws(() => mapper.mapGrants(1, [ref], false), code('GNT_E_BAD_REF'), `ref ${ref}`);
    }
    // In range, not reserved, but never granted.
    assert.throws(() => mapper.mapGrants(1, [NR_GRANT_ENTRIES - 1], false), code('GNT_E_BAD_REF'));
    assert.throws(() => mapper.mapGrants(1, [], false), code('GNT_E_BAD_REF'));
  });

  it("refuses a grant that names a frame outside the granter's memory", () => {
    // A guest may write anything into its table; the mapper must not trust it.
    assert.throws(
      () =>
        checkGrantMap(
          { flags: GTF_permit_access, domid: 0, frame: 256 },
          { granterDomid: 1, ref: 8, mapperDomid: 0, writable: false, granterPages: 256 },
        ),
      code('GNT_E_BAD_REF'),
    );
    assert.equal(
      checkGrantMap(
        { flags: GTF_permit_access, domid: 0, frame: 255 },
        { granterDomid: 1, ref: 8, mapperDomid: 0, writable: false, granterPages: 256 },
      ),
      255,
    );
    assert.throws(() => guest.grant(0, [256], true), code('MAP_E_BAD_FRAME'));
  });

  it('refuses an ended grant, and a domain without a table', () => {
    const shared = guest.share(0, 1, true);
    const mapper = new SimGrantMapper({ dir, domid: 0 });
    shared.unshare();
    assert.throws(() => mapper.mapGrants(1, shared.refs, false), code('GNT_E_BAD_REF'));
    assert.throws(() => mapper.mapGrants(9, [8], false), code('SIM_E_NO_DOMAIN'));
  });

  it('a new SimGuestMemory (a reboot) clears the previous grants', () => {
    const shared = guest.share(0, 1, true);
    const mapper = new SimGrantMapper({ dir, domid: 0 });
    mapper.mapGrants(1, shared.refs, true).unmap();
    guest.close();
    guest = new SimGuestMemory({ dir, domid: 1 });
    assert.throws(() => mapper.mapGrants(1, shared.refs, false), code('GNT_E_BAD_REF'));
  });
});
