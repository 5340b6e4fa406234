// The daemon's SPICE hook: start a SpiceServer for one domain, with the domain's name and
// UUID from xenstore, and advertise it beside vnc-port (/local/domain/N/console/spice-port,
// spice-listen) where toolstacks look for a domain's consoles.

import type { Logger } from '../../shared/log';
import type { XsClient } from '../../shared/xenstore/client';
import { parseUuid } from '../../shared/spice/main-messages';
import type { Display, InputSink } from '../display/display';
import type { ImageCodecName } from './image-codecs';
import { type SpiceAddress, SpiceServer } from './server';
import type { SpiceTicketing } from './ticket';

export interface SpiceBackendOptions {
  host: string;
  port: number;
  ticketing: SpiceTicketing;
  shared?: boolean;
  codec?: ImageCodecName;
}

export async function startSpice(
  xs: XsClient,
  display: Display,
  input: InputSink,
  domid: number,
  opts: SpiceBackendOptions,
  log: Logger,
): Promise<{ server: SpiceServer; address: SpiceAddress }> {
  const dom = `/local/domain/${domid}`;
  const name = await xs.tryRead(`${dom}/name`);
  const vm = await xs.tryRead(`${dom}/vm`);
  const uuidText = vm ? await xs.tryRead(`${vm}/uuid`) : undefined;
  const uuid = uuidText ? parseUuid(uuidText) : null;
  const server = new SpiceServer({
    display,
    input,
    ticketing: opts.ticketing,
    log: log.child({ spice: true }),
    ...(name ? { name } : {}),
    ...(uuid ? { uuid } : {}),
    ...(opts.shared ? { shared: true } : {}),
    ...(opts.codec ? { codec: opts.codec } : {}),
  });
  const address = await server.listen(opts.host, opts.port);
  log.info({ spice: `${address.host}:${address.port}`, ticketing: opts.ticketing.password !== null }, 'SPICE server listening');
  await xs.write(`${dom}/console/spice-listen`, address.host);
  await xs.write(`${dom}/console/spice-port`, String(address.port));
  return { server, address };
}
