// The SPICE flags shared by `xenvfb backend` and `xenvfb demo`: turned into the backend's
// SpiceBackendOptions, or passed on to the backend child by the demo. The password comes
// from a file or $XENVFB_SPICE_PASSWORD, never from the command line (other users see argv).

import * as net from 'node:net';
import * as path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { isXenvfbError } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import type { SpiceBackendOptions } from '../../backend/spice/backend-spice';
import { IMAGE_CODECS, type ImageCodecName, parseImageCodec } from '../../backend/spice/image-codecs';
import { loadSpicePassword, SPICE_PASSWORD_ENV } from '../../backend/spice/ticket';
import { formatHostPort, type HostPort } from './args';

export interface SpiceFlags {
  /** false with --no-spice (demo). */
  spice?: HostPort | false;
  spicePasswordFile?: string;
  spiceTicketLifetime?: number;
  spiceDisableTicketing?: boolean;
  spiceShared?: boolean;
  spiceCodec?: ImageCodecName;
  spiceJpeg?: boolean;
  /** false with --no-spice-streams. */
  spiceStreams?: boolean;
}

function parseLifetime(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a number of seconds > 0, got "${v}"`);
  return n;
}

function parseCodec(v: string): ImageCodecName {
  try {
    return parseImageCodec(v);
  } catch (e) {
    throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
  }
}

/** Add the SPICE options (besides --spice itself, whose default differs per command). */
export function addSpiceOptions(cmd: Command): Command {
  return cmd
    .option('--spice-password-file <file>', `SPICE ticket (password): first line of <file> (or set ${SPICE_PASSWORD_ENV})`)
    .option('--spice-ticket-lifetime <seconds>', 'the SPICE ticket is refused this long after the backend started', parseLifetime)
    .option('--spice-disable-ticketing', 'accept SPICE clients without a password (warned about unless on loopback)')
    .option('--spice-shared', 'let several SPICE clients watch at once (default: a new client takes over)')
    .option('--spice-jpeg', 'send photo-like areas as JPEG, re-sent losslessly once still (less bandwidth, much more CPU)')
    .option('--no-spice-streams', 'no MJPEG video streams for areas that change every frame (they are plain draws then)')
    .option(
      '--spice-codec <name>',
      `force one SPICE image codec: ${IMAGE_CODECS.join(', ')} (default: the best each client decodes)`,
      parseCodec,
    );
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || (net.isIP(host) !== 0 && (host.startsWith('127.') || host === '::1'));
}

/** The backend's SPICE options, or null without --spice; checked now so a bad combination stops at once. */
export function spiceFromFlags(
  flags: SpiceFlags,
  log?: Logger,
  env: NodeJS.ProcessEnv = process.env,
  now = Date.now(),
): SpiceBackendOptions | null {
  if (!flags.spice) return null;
  let password: string | null;
  try {
    password = loadSpicePassword(flags.spicePasswordFile, env);
  } catch (e) {
    if (isXenvfbError(e)) throw new InvalidArgumentError(e.message);
    throw e;
  }
  if (password !== null && flags.spiceDisableTicketing) {
    throw new InvalidArgumentError('--spice-disable-ticketing and a SPICE password exclude each other: drop one');
  }
  if (password === null && !flags.spiceDisableTicketing) {
    throw new InvalidArgumentError(
      `SPICE needs a password: --spice-password-file FILE or ${SPICE_PASSWORD_ENV}=..., or --spice-disable-ticketing to let anyone in`,
    );
  }
  if (password === null && !isLoopback(flags.spice.host)) {
    log?.warn(
      { spice: formatHostPort(flags.spice) },
      'SPICE ticketing is disabled on a non-loopback address: anyone who reaches the port gets the console',
    );
  }
  return {
    host: flags.spice.host,
    port: flags.spice.port,
    ticketing: {
      password,
      ...(flags.spiceTicketLifetime !== undefined ? { expiresAt: now + flags.spiceTicketLifetime * 1000 } : {}),
    },
    ...(flags.spiceShared ? { shared: true } : {}),
    ...(flags.spiceCodec ? { codec: flags.spiceCodec } : {}),
    ...(flags.spiceJpeg ? { jpegPhotos: true } : {}),
    ...(flags.spiceStreams === false ? { streams: false } : {}),
  };
}

/** The same flags for a child `xenvfb backend` (the password stays in its file or the environment). */
export function spiceArgs(flags: SpiceFlags): string[] {
  if (!flags.spice) return [];
  const args = ['--spice', formatHostPort(flags.spice)];
  if (flags.spicePasswordFile) args.push('--spice-password-file', path.resolve(flags.spicePasswordFile));
  if (flags.spiceTicketLifetime !== undefined) args.push('--spice-ticket-lifetime', String(flags.spiceTicketLifetime));
  if (flags.spiceDisableTicketing) args.push('--spice-disable-ticketing');
  if (flags.spiceShared) args.push('--spice-shared');
  if (flags.spiceCodec) args.push('--spice-codec', flags.spiceCodec);
  if (flags.spiceJpeg) args.push('--spice-jpeg');
  if (flags.spiceStreams === false) args.push('--no-spice-streams');
  return args;
}
