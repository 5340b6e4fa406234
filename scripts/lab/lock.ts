// One lab run per cache directory: two runs would rebuild the same image tree under each
// other and boot two 2 GiB QEMUs. The lock file holds the owner's pid; a lock whose pid is
// gone (a killed run) is taken over.

import * as fs from 'node:fs';
import * as path from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `<cache>/lab.lock` for this process; returns its release. Throws if a live run holds it. */
export function takeLabLock(cache: string, pid = process.pid): () => void {
  fs.mkdirSync(cache, { recursive: true });
  const file = path.join(cache, 'lab.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${pid}\n`, { flag: 'wx' });
      return () => {
        if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim() === String(pid)) fs.rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(fs.readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== pid && alive(owner)) {
        throw new Error(
          `another lab run (pid ${owner}) is using ${cache}; wait for it, or give this run its own cache with XENVFB_LAB_CACHE=<dir>`,
        );
      }
      fs.rmSync(file, { force: true }); // stale: its run is gone
    }
  }
  throw new Error(`could not take ${file}`);
}
