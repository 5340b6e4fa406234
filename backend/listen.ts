// Bind a net/http server and report the address it got (port 0 picks a free one).

import type * as net from 'node:net';

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
