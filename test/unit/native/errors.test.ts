// Native errors: failed system calls carry errno/code/syscall; bad arguments are
// TypeError/RangeError with Node's ERR_* codes, thrown before any system call.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';

import { MAX_MAP_PAGES, PAGE_SIZE, mapFd, mapPages, shmOpen, shmUnlink } from '../../../native';

const { errno } = os.constants;
const badType = { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' };
const badValue = { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' };
const outOfRange = { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' };

// Loosen the signatures to call with what TS would reject.
const anyShmOpen = shmOpen as (...args: unknown[]) => number;
const anyShmUnlink = shmUnlink as (...args: unknown[]) => void;
const anyMapFd = mapFd as (...args: unknown[]) => unknown;
const anyMapPages = mapPages as (...args: unknown[]) => unknown;

describe('native: errors', () => {
  const name = `/xenvfb-test-err-${process.pid}`;
  let fd: number;

  beforeEach(() => {
    fd = shmOpen(name, { create: true, size: 2 * PAGE_SIZE });
  });

  afterEach(() => {
    fs.closeSync(fd);
    try {
      shmUnlink(name);
    } catch {
      // unlinked by the test
    }
  });

  describe('system call failures', () => {
    it('shm_open of a missing name without create -> ENOENT', () => {
      const missing = `/xenvfb-test-missing-${process.pid}`;
      assert.throws(
        () => shmOpen(missing, {}),
        (e: NodeJS.ErrnoException) => {
          assert.ok(e instanceof Error);
          assert.equal(e.code, 'ENOENT');
          assert.equal(e.errno, errno.ENOENT);
          assert.equal(e.syscall, 'shm_open');
          assert.equal(e.path, missing);
          return true;
        },
      );
    });

    it('exclusive create of an existing name -> EEXIST', () => {
      assert.throws(() => shmOpen(name, { create: true, exclusive: true }), {
        code: 'EEXIST',
        errno: errno.EEXIST,
        syscall: 'shm_open',
      });
    });

    it('shm_unlink of a missing name -> ENOENT', () => {
      shmUnlink(name);
      assert.throws(() => shmUnlink(name), { code: 'ENOENT', syscall: 'shm_unlink' });
    });

    it('mapping a closed fd -> EBADF', () => {
      const closed = shmOpen(name, {});
      fs.closeSync(closed);
      assert.throws(() => mapFd(closed, 0, PAGE_SIZE, false), { code: 'EBADF', errno: errno.EBADF });
      assert.throws(() => mapPages(closed, [0], false), { code: 'EBADF' });
    });

    it('mapping past the end of the object -> ENXIO', () => {
      assert.throws(() => mapFd(fd, 0, 2 * PAGE_SIZE + 1, false), {
        code: 'ENXIO',
        errno: errno.ENXIO,
        syscall: 'mmap',
      });
    });
  });

  describe('shmOpen / shmUnlink arguments', () => {
    it('checks the name', () => {
      assert.throws(() => anyShmOpen(42, {}), badType);
      for (const bad of ['', '/', 'noslash', '/a/b', '/nul\0x', '/' + 'x'.repeat(256)]) {
        assert.throws(() => shmOpen(bad, {}), badValue, JSON.stringify(bad));
        assert.throws(() => shmUnlink(bad), badValue, JSON.stringify(bad));
      }
      assert.throws(() => anyShmUnlink(undefined), badType);
    });

    it('accepts a name of exactly 255 characters after the slash', () => {
      const longest = '/' + 'x'.repeat(255);
      fs.closeSync(shmOpen(longest, { create: true, exclusive: true }));
      shmUnlink(longest);
    });

    it('checks the options', () => {
      assert.throws(() => anyShmOpen(name, 'rw'), badType);
      assert.throws(() => anyShmOpen(name, { create: 'yes' }), badType);
      assert.throws(() => shmOpen(name, { create: true, size: -1 }), outOfRange);
      assert.throws(() => shmOpen(name, { create: true, size: 1.5 }), outOfRange);
      assert.throws(() => shmOpen(name, { exclusive: true }), badValue);
      assert.throws(() => shmOpen(name, { size: PAGE_SIZE }), badValue);
      assert.throws(() => shmOpen(name, { create: true, readonly: true, size: PAGE_SIZE }), badValue);
      fs.closeSync(anyShmOpen(name));
    });
  });

  describe('mapFd arguments', () => {
    it('checks types', () => {
      assert.throws(() => anyMapFd('3', 0, PAGE_SIZE, false), badType);
      assert.throws(() => anyMapFd(fd, 0n, PAGE_SIZE, false), badType);
      assert.throws(() => anyMapFd(fd, 0, PAGE_SIZE), badType);
      assert.throws(() => anyMapFd(fd, 0, PAGE_SIZE, 1), badType);
    });

    it('checks ranges', () => {
      assert.throws(() => mapFd(-1, 0, PAGE_SIZE, false), outOfRange);
      assert.throws(() => mapFd(fd, -PAGE_SIZE, PAGE_SIZE, false), outOfRange);
      assert.throws(() => mapFd(fd, 1, PAGE_SIZE, false), outOfRange);
      assert.throws(() => mapFd(fd, 0, 0, false), outOfRange);
      assert.throws(() => mapFd(fd, 0, NaN, false), outOfRange);
      assert.throws(() => mapFd(fd, 0, 2 ** 53, false), outOfRange);
    });
  });

  describe('mapPages arguments', () => {
    it('checks the list', () => {
      assert.throws(() => anyMapPages(fd, 0, false), badType);
      assert.throws(() => anyMapPages(fd, new Uint32Array([0]), false), badType);
      assert.throws(() => mapPages(fd, [], false), outOfRange);
      assert.throws(() => mapPages(fd, [0, -1], false), outOfRange);
      assert.throws(() => mapPages(fd, [0.5], false), outOfRange);
      assert.throws(() => mapPages(fd, [NaN], false), outOfRange);
      assert.throws(() => mapPages(fd, [Number.MAX_SAFE_INTEGER + 1], false), outOfRange);
      assert.throws(() => anyMapPages(fd, [0, '1'], false), badType);
      assert.throws(() => anyMapPages(fd, [0, null], false), badType);
      assert.throws(() => anyMapPages(fd, [1], 'no'), badType);
    });

    it(`refuses MAX_MAP_PAGES + 1 (${MAX_MAP_PAGES + 1}) pages before any system call`, () => {
      const tooMany = new Array<number>(MAX_MAP_PAGES + 1).fill(0);
      assert.throws(() => mapPages(fd, tooMany, false), outOfRange);
    });
  });
});
