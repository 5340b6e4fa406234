// Off Xen, a FIFO opened read-write stands in for a polled /dev/xen node (evtchn, xenbus):
// what is written into it comes back readable, so a handle's poll/read/deliver loop runs
// without a kernel driver. Call inside a describe(): it adds the suite's hooks.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface FifoDevice {
  /** The FIFO's path (valid from the suite's before hook on). */
  readonly path: string;
  /** The temporary directory holding it, for other throwaway nodes. */
  readonly dir: string;
  /** Registers a handle to be closed after the current test. */
  track<T extends { close(): void }>(handle: T): T;
}

export function fifoDevice(name: string): FifoDevice {
  let dir = '';
  let fifo = '';
  const handles: Array<{ close(): void }> = [];
  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `xenvfb-${name}-`));
    fifo = path.join(dir, name);
    try {
      execFileSync('mkfifo', [fifo]);
    } catch (e) {
      console.log(`      (pending: cannot make a FIFO to stand in for the device: ${(e as Error).message})`);
      this.skip();
    }
  });
  afterEach(() => {
    for (const h of handles.splice(0)) h.close();
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    get path() {
      return fifo;
    },
    get dir() {
      return dir;
    },
    track(handle) {
      handles.push(handle);
      return handle;
    },
  };
}
