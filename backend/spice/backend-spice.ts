// The daemon's SPICE hook: a SpiceServer for one domain, with the domain's name and UUID from
// xenstore (/local/domain/N/name, and uuid under the domain's /vm/<uuid> path).

import type { Logger } from '../../shared/log';
import type { XsClient } from '../../shared/xenstore/client';
import { parseUuid } from '../../shared/spice/main-messages';
import type { Display } from '../display/display';
import type { InputSink } from '../input/input-sink';
import type { ImageCodecName } from './image-codecs';
import { SpiceServer } from './server';
import type { SpiceTicketing } from './ticket';

export interface SpiceBackendOptions {
  host: string;
  port: number;
  ticketing: SpiceTicketing;
  shared?: boolean;
  codec?: ImageCodecName;
  /** Photo-like rects as JPEG (--spice-jpeg). */
  jpegPhotos?: boolean;
  /** false: no MJPEG video streams (--no-spice-streams). */
  streams?: boolean;
}

export async function createSpiceServer(
  xs: XsClient,
  display: Display,
  input: InputSink,
  domid: number,
  opts: SpiceBackendOptions,
  log: Logger,
): Promise<SpiceServer> {
  const dom = `/local/domain/${domid}`;
  const name = await xs.tryRead(`${dom}/name`);
  const vm = await xs.tryRead(`${dom}/vm`);
  const uuidText = vm ? await xs.tryRead(`${vm}/uuid`) : undefined;
  const uuid = uuidText ? parseUuid(uuidText) : null;
  return new SpiceServer({
    display,
    input,
    ticketing: opts.ticketing,
    log: log.child({ spice: true }),
    ...(name ? { name } : {}),
    ...(uuid ? { uuid } : {}),
    ...(opts.shared ? { shared: true } : {}),
    ...(opts.codec ? { codec: opts.codec } : {}),
    ...(opts.jpegPhotos ? { jpegPhotos: true } : {}),
    ...(opts.streams === false ? { streams: false } : {}),
  });
}
