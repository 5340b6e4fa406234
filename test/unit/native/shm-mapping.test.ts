// shm objects and mapFd: sharing between mappings and processes, read-only mappings,
// unmap() detaching, and the GC finalizer releasing pages exactly once.

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { NativeMapping, PAGE_SIZE, mapFd, shmOpen, shmUnlink } from '../../../native';
import type { MappedRegion } from '../../../shared/platform/types';

const REPO = path.resolve(__dirname, '..', '..', '..');
const NATIVE = path.join(REPO, 'native', 'index.ts');

// Compile-time check: what the addon returns is what the platform layer consumes.
const asRegion = (m: NativeMapping): MappedRegion => m;

let serial = 0;
const created: string[] = [];

function uniqueName(): string {
  const name = `/xenvfb-test-map-${process.pid}-${serial++}`;
  created.push(name);
  return name;
}

// Run `body` (JS, with `n` = native/index.ts and `fs` in scope) in a fresh Node process.
function runChild(body: string, env: Record<string, string>, nodeFlags: string[] = []): string {
  const script = `const n = require(${JSON.stringify(NATIVE)}); const fs = require('fs');\n${body}`;
  return execFileSync(process.execPath, [...nodeFlags, '-r', 'ts-node/register/transpile-only', '-e', script], {
    cwd: REPO,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
}

describe('native: shm objects and mapFd', () => {
  afterEach(() => {
    for (const name of created.splice(0)) {
      try {
        shmUnlink(name);
      } catch {
        // already unlinked by the test
      }
    }
  });

  it('reports the page size from sysconf', () => {
    assert.equal(PAGE_SIZE, 4096);
  });

  it('creates an object of the requested size', () => {
    const fd = shmOpen(uniqueName(), { create: true, exclusive: true, size: 3 * PAGE_SIZE });
    try {
      assert.equal(fs.fstatSync(fd).size, 3 * PAGE_SIZE);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('shares writes between two mappings of the same fd', () => {
    const fd = shmOpen(uniqueName(), { create: true, size: 2 * PAGE_SIZE });
    const a = asRegion(mapFd(fd, 0, 2 * PAGE_SIZE, true));
    const b = mapFd(fd, PAGE_SIZE, PAGE_SIZE, true);
    try {
      assert.equal(a.length, 2 * PAGE_SIZE);
      assert.equal(a.buffer.byteLength, 2 * PAGE_SIZE);
      assert.equal(a.writable, true);
      assert.equal(a.mapped, true);
      new Uint8Array(a.buffer).set([1, 2, 3, 4], PAGE_SIZE + 10);
      assert.deepEqual([...new Uint8Array(b.buffer, 10, 4)], [1, 2, 3, 4]);
      new Uint32Array(b.buffer)[0] = 0xdeadbeef;
      assert.equal(new DataView(a.buffer).getUint32(PAGE_SIZE, true), 0xdeadbeef);
    } finally {
      a.unmap();
      b.unmap();
      fs.closeSync(fd);
    }
  });

  it('shares memory with another process opening the object by name', () => {
    const name = uniqueName();
    const fd = shmOpen(name, { create: true, exclusive: true, size: PAGE_SIZE });
    const m = mapFd(fd, 0, PAGE_SIZE, true);
    try {
      new Uint8Array(m.buffer).set([0x11, 0x22, 0x33, 0x44]);
      const out = runChild(
        `const fd = n.shmOpen(process.env.SHM, {});
         const m = n.mapFd(fd, 0, n.PAGE_SIZE, true);
         const u = new Uint8Array(m.buffer);
         const seen = Array.from(u.subarray(0, 4));
         u.set([9, 8, 7, 6], 100);
         m.unmap();
         fs.closeSync(fd);
         process.stdout.write(JSON.stringify(seen));`,
        { SHM: name },
      );
      assert.deepEqual(JSON.parse(out), [0x11, 0x22, 0x33, 0x44]);
      assert.deepEqual([...new Uint8Array(m.buffer, 100, 4)], [9, 8, 7, 6]);
    } finally {
      m.unmap();
      fs.closeSync(fd);
    }
  });

  it('maps a read-only fd read-only and refuses a writable mapping of it (EACCES)', () => {
    const name = uniqueName();
    const rw = shmOpen(name, { create: true, size: PAGE_SIZE });
    const ro = shmOpen(name, { readonly: true });
    const writer = mapFd(rw, 0, PAGE_SIZE, true);
    const reader = mapFd(ro, 0, PAGE_SIZE, false);
    try {
      assert.equal(reader.writable, false);
      new Uint8Array(writer.buffer)[7] = 42;
      assert.equal(new Uint8Array(reader.buffer)[7], 42);
      assert.throws(() => mapFd(ro, 0, PAGE_SIZE, true), {
        code: 'EACCES',
        syscall: 'mmap',
        errno: os.constants.errno.EACCES,
      });
    } finally {
      writer.unmap();
      reader.unmap();
      fs.closeSync(rw);
      fs.closeSync(ro);
    }
  });

  it('unmap() detaches the buffer so stale views read as empty, and is idempotent', () => {
    const fd = shmOpen(uniqueName(), { create: true, size: PAGE_SIZE });
    const m = mapFd(fd, 0, PAGE_SIZE, true);
    fs.closeSync(fd);
    const view = new Uint8Array(m.buffer);
    const words = new Uint32Array(m.buffer, 8, 4);
    view[0] = 1;
    const buffer = m.buffer;
    m.unmap();
    assert.equal(m.mapped, false);
    assert.equal(m.length, 0);
    assert.equal(buffer.byteLength, 0);
    assert.equal(m.buffer.byteLength, 0);
    assert.equal(view.length, 0);
    assert.equal(words.length, 0);
    assert.equal(view[0], undefined);
    view[0] = 5; // a write to a detached view is dropped, not a crash
    m.unmap();
    assert.equal(m.mapped, false);
  });

  it('cannot be constructed from JS', () => {
    const fd = shmOpen(uniqueName(), { create: true, size: PAGE_SIZE });
    const m = mapFd(fd, 0, PAGE_SIZE, false);
    fs.closeSync(fd);
    try {
      const Ctor = m.constructor as new () => unknown;
      assert.throws(() => new Ctor(), TypeError);
    } finally {
      m.unmap();
    }
  });

  it('releases pages when the buffer is collected, never twice, and not while the buffer lives', () => {
    const name = uniqueName();
    fs.closeSync(shmOpen(name, { create: true, size: PAGE_SIZE }));
    // Count this object's VMAs in /proc/self/maps while dropping mappings and forcing GC.
    const out = runChild(
      `const file = '/dev/shm' + process.env.SHM;
       const count = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith(file)).length;
       const fd = n.shmOpen(process.env.SHM, {});
       (async () => {
         const stale = n.mapFd(fd, 0, n.PAGE_SIZE, true);
         stale.unmap();
         const kept = n.mapFd(fd, 0, n.PAGE_SIZE, true).buffer;  // wrapper dropped, buffer kept
         new Uint8Array(kept)[0] = 77;
         for (let i = 0; i < 50; i++) n.mapFd(fd, 0, n.PAGE_SIZE, true);
         const peak = count();
         for (let i = 0; i < 20 && count() > 1; i++) {
           global.gc();
           await new Promise((r) => setTimeout(r, 10));
         }
         const after = count();
         const value = new Uint8Array(kept)[0];
         process.stdout.write(JSON.stringify({ peak, after, value }));
       })();`,
      { SHM: name },
      ['--expose-gc'],
    );
    assert.deepEqual(JSON.parse(out), { peak: 51, after: 1, value: 77 });
  });
});
