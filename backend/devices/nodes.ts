// Reading the numbers a frontend publishes in xenstore. They come from the guest: parse
// strictly and fail with DEV_E_CONFIG naming the node, never NaN or a silent default.

import type { XsClient } from '../../shared/xenstore/client';
import { xerror } from '../../shared/errors';

async function readUnsigned(xs: XsClient, path: string, max: number, what: string): Promise<number> {
  const raw = await xs.tryRead(path);
  if (raw === undefined) throw xerror('DEV_E_CONFIG', `${path} is missing (the frontend must write ${what})`, { path });
  const text = raw.trim();
  if (!/^\d{1,16}$/.test(text)) throw xerror('DEV_E_CONFIG', `${path} = ${JSON.stringify(raw)} is not a ${what}`, { path, raw });
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n > max) throw xerror('DEV_E_CONFIG', `${path} = ${text} is out of range for a ${what}`, { path, raw });
  return n;
}

export function readFrameNumber(xs: XsClient, path: string): Promise<number> {
  return readUnsigned(xs, path, Number.MAX_SAFE_INTEGER, 'frame number');
}

export function readGrantRef(xs: XsClient, path: string): Promise<number> {
  return readUnsigned(xs, path, 0xffffffff, 'grant reference');
}

export function readPort(xs: XsClient, path: string): Promise<number> {
  return readUnsigned(xs, path, 0xffffffff, 'event channel port');
}

export async function readFlag(xs: XsClient, path: string): Promise<boolean> {
  return (await xs.tryRead(path))?.trim() === '1';
}
