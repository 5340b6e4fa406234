// The files that stand for a simulated domain's memory and grant table. Both are sparse:
// a 64 MiB guest costs only the pages it touches.

import * as fs from 'node:fs';
import { xerror } from '../../errors';
import { GRANT_TABLE_BYTES } from './grant-table';
import { domainDir, grantTablePath, isValidDomid, memoryPath } from './layout';

/** Largest guest the simulator creates (sparse, but mapPages still wants sane numbers). */
export const SIM_MAX_MEMORY_MIB = 4096;

export function createDomainFiles(dir: string, domid: number, memoryMiB: number): void {
  if (!isValidDomid(domid)) throw xerror('SIM_E_NO_DOMAIN', `domid ${domid} is not a domain`, { domid });
  if (!Number.isInteger(memoryMiB) || memoryMiB < 1 || memoryMiB > SIM_MAX_MEMORY_MIB) {
    throw xerror('SIM_E_NO_MEMORY', `memoryMiB ${memoryMiB} outside [1, ${SIM_MAX_MEMORY_MIB}]`, { memoryMiB });
  }
  fs.mkdirSync(domainDir(dir, domid), { recursive: true });
  sizedFile(memoryPath(dir, domid), memoryMiB * 1024 * 1024);
  sizedFile(grantTablePath(dir, domid), GRANT_TABLE_BYTES);
}

/** Sim dir entries of a domain that exist only while it exists (the sockets are the caller's). */
export function removeDomainFiles(dir: string, domid: number): void {
  fs.rmSync(memoryPath(dir, domid), { force: true });
  fs.rmSync(grantTablePath(dir, domid), { force: true });
}

function sizedFile(file: string, size: number): void {
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    fs.ftruncateSync(fd, size);
  } finally {
    fs.closeSync(fd);
  }
}
