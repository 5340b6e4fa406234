// mapPages: a list of pages of one object, in any order, as one contiguous view
// (the simulator's gntdev/privcmd).

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';

import { MAX_MAP_PAGES, NativeMapping, PAGE_SIZE, mapFd, mapPages, shmOpen, shmUnlink } from '../../../native';

const OBJECT_PAGES = 8;

let serial = 0;

describe('native: mapPages', () => {
  let name: string;
  let fd: number;
  let whole: NativeMapping;
  const views: NativeMapping[] = [];

  // Every page of the object starts with its own index (u32le) and is filled with 0xA0 + index.
  beforeEach(() => {
    name = `/xenvfb-test-pages-${process.pid}-${serial++}`;
    fd = shmOpen(name, { create: true, exclusive: true, size: OBJECT_PAGES * PAGE_SIZE });
    whole = mapFd(fd, 0, OBJECT_PAGES * PAGE_SIZE, true);
    for (let p = 0; p < OBJECT_PAGES; p++) {
      new Uint8Array(whole.buffer, p * PAGE_SIZE, PAGE_SIZE).fill(0xa0 + p);
      new DataView(whole.buffer).setUint32(p * PAGE_SIZE, p, true);
    }
  });

  afterEach(() => {
    for (const v of views.splice(0)) v.unmap();
    whole.unmap();
    fs.closeSync(fd);
    shmUnlink(name);
  });

  function map(indices: readonly number[], writable: boolean): NativeMapping {
    const view = mapPages(fd, indices, writable);
    views.push(view);
    return view;
  }

  function page(buffer: ArrayBuffer, k: number): Uint8Array {
    return new Uint8Array(buffer, k * PAGE_SIZE, PAGE_SIZE);
  }

  it('gives page k of the view = page indices[k] of the object, out of order, with repeats', () => {
    const indices = [5, 2, 3, 7, 0, 5, 6];
    const view = map(indices, false);
    assert.equal(view.length, indices.length * PAGE_SIZE);
    assert.equal(view.buffer.byteLength, indices.length * PAGE_SIZE);
    assert.equal(view.writable, false);
    indices.forEach((index, k) => {
      assert.deepEqual(page(view.buffer, k), page(whole.buffer, index), `view page ${k}`);
    });
  });

  it('is MAP_SHARED: writes go to the object, and repeated pages alias each other', () => {
    const view = map([4, 1, 4], true);
    page(view.buffer, 0).fill(0x5a);
    assert.ok(page(whole.buffer, 4).every((b) => b === 0x5a));
    assert.ok(page(view.buffer, 2).every((b) => b === 0x5a));
    new Uint8Array(whole.buffer)[PAGE_SIZE + 9] = 0xee;
    assert.equal(page(view.buffer, 1)[9], 0xee);
  });

  it('maps a single page and a full in-order run', () => {
    assert.deepEqual(page(map([3], false).buffer, 0), page(whole.buffer, 3));
    const all = map([0, 1, 2, 3, 4, 5, 6, 7], false);
    assert.deepEqual(new Uint8Array(all.buffer), new Uint8Array(whole.buffer));
  });

  it('unmap() detaches the view and is idempotent', () => {
    const view = mapPages(fd, [2, 0], true);
    const bytes = new Uint8Array(view.buffer);
    view.unmap();
    view.unmap();
    assert.equal(view.mapped, false);
    assert.equal(view.buffer.byteLength, 0);
    assert.equal(bytes.length, 0);
    assert.equal(whole.mapped, true);
  });

  it(`accepts exactly MAX_MAP_PAGES (${MAX_MAP_PAGES}) pages`, () => {
    const bigName = `/xenvfb-test-pages-${process.pid}-big`;
    // Sparse on tmpfs: nothing is allocated until touched.
    const bigFd = shmOpen(bigName, { create: true, exclusive: true, size: MAX_MAP_PAGES * PAGE_SIZE });
    try {
      const indices = Array.from({ length: MAX_MAP_PAGES }, (_, i) => i);
      const view = mapPages(bigFd, indices, true);
      assert.equal(view.length, MAX_MAP_PAGES * PAGE_SIZE);
      new Uint8Array(view.buffer)[view.length - 1] = 1;
      view.unmap();
    } finally {
      fs.closeSync(bigFd);
      shmUnlink(bigName);
    }
  });

  it('throws ENXIO for a page past the end of the object', () => {
    assert.throws(() => mapPages(fd, [0, OBJECT_PAGES], false), { code: 'ENXIO', syscall: 'mmap' });
    assert.throws(() => mapFd(fd, PAGE_SIZE, OBJECT_PAGES * PAGE_SIZE, false), { code: 'ENXIO' });
  });

  it('reports a failing page mmap (ENODEV on a directory fd) after reserving the view', () => {
    const dirFd = fs.openSync(os.tmpdir(), 'r');
    try {
      assert.throws(() => mapPages(dirFd, [0, 1], false), { code: 'ENODEV', syscall: 'mmap' });
    } finally {
      fs.closeSync(dirFd);
    }
  });
});
