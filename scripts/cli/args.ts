// Parsers for command-line values: each failure says what was wrong and what is expected.

import { InvalidArgumentError } from 'commander';

export interface HostPort {
  host: string;
  port: number;
}

/** HOST:PORT, [v6]:PORT, or :PORT (loopback). */
export function parseHostPort(value: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected HOST:PORT (e.g. 127.0.0.1:5900), got "${value}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new InvalidArgumentError(`port ${port} is out of range (0-65535)`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export function parseDomid(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 0x7fef) {
    throw new InvalidArgumentError(`expected a domain id from 0 to 32751, got "${value}"`);
  }
  return Number(value);
}

/** Dirty-tile scan period in ms: 1..1000 (period_ms is a u32 on the page; slower is useless). */
export function parseTilePeriod(value: string): number {
  const n = Number(value);
  if (!/^\d{1,4}$/.test(value) || n < 1 || n > 1000) {
    throw new InvalidArgumentError(`expected a tile scan period from 1 to 1000 ms, got "${value}"`);
  }
  return n;
}

/** A size in MB (decimal), 0.001 to 1000000. */
export function parseMegabytes(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n <= 0 || n > 1e6)
    throw new InvalidArgumentError(`expected a size in MB from 0.001 to 1000000, got "${v}"`);
  return n;
}

export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
