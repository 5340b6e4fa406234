// Bind a net/http server and report the address it got (port 0 picks a free one).

import * as net from 'node:net';
import { xerror } from '../shared/errors';

export interface BoundAddress {
  host: string;
  port: number;
}

export function listenOn(server: net.Server, host: string, port: number): Promise<BoundAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const a = server.address() as net.AddressInfo;
      resolve({ host: a.address, port: a.port });
    });
  });
}

/** NET_E_LISTEN naming the address, the reason and the flag that changes it. */
export function listenError(err: Error & { code?: string }, what: string, flag: string, at: { host: string; port: number }): Error {
  const reason =
    err.code === 'EADDRINUSE'
      ? 'the address is in use by another program'
      : err.code === 'EACCES'
        ? 'permission denied (ports below 1024 need root)'
        : err.code === 'EADDRNOTAVAIL'
          ? 'no interface has this address'
          : err.message;
  return xerror(
    'NET_E_LISTEN',
    `cannot listen on ${at.host}:${at.port} for ${what}: ${reason}; choose another address with ${flag} HOST:PORT`,
    {
      flag,
      host: at.host,
      port: at.port,
      errno: err.code,
    },
  );
}

/**
 * Fails with listenError when `at` cannot be listened on now (checked by binding and
 * closing at once: a supervisor checks its flags before starting anything).
 */
export async function checkListenable(at: { host: string; port: number }, what: string, flag: string): Promise<void> {
  if (at.port === 0) return;
  const server = net.createServer();
  try {
    await listenOn(server, at.host, at.port);
  } catch (e) {
    throw listenError(e as Error, what, flag, at);
  } finally {
    server.close();
  }
}
