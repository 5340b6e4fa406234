// One measured run: peer-client against one server with one encoding, the server's CPU time
// read from /proc before and after, and (when asked) the client's picture compared with the
// source pixels.

import * as fs from 'node:fs';
import { cpuMs } from '../lib/proc';
import { spawnTracked } from '../lib/processes';
import { parsePpm, type Picture } from './pictures';
import type { RunningServer } from './servers';

/** The encodings of the table; `jpeg` is Tight with a JPEG quality level (-quality). */
export const ENCODING_NAMES = ['raw', 'hextile', 'zlib', 'zrle', 'tight', 'jpeg'] as const;
export type EncodingName = (typeof ENCODING_NAMES)[number];

/** RFB encoding numbers (RFC 6143 7.7): what each column asks for and expects back. */
export const RFB_ENCODING: Record<EncodingName, number> = { raw: 0, hextile: 5, zlib: 6, zrle: 16, tight: 7, jpeg: 7 };
const RFB_ENCODING_NAME: Record<number, string> = {
  0: 'raw',
  1: 'copyrect',
  2: 'rre',
  5: 'hextile',
  6: 'zlib',
  7: 'tight',
  16: 'zrle',
  [-260]: 'tightpng',
};
export function rfbEncodingName(n: number): string {
  return RFB_ENCODING_NAME[n] ?? `encoding ${n}`;
}

/** What peer-client prints (see its header comment). */
export interface ClientReport {
  width: number;
  height: number;
  updates: number;
  partial: number;
  firstMs: number;
  steadyMs: number;
  steadyBytes: number;
  firstBytes: number;
  /** Encoding of the first rectangle of the last full update (-1: not seen). */
  encoding: number;
}

export interface RunResult {
  updatesPerSec: number;
  bytesPerUpdate: number;
  cpuMsPerUpdate: number;
  firstMs: number;
  updates: number;
  partial: number;
  /** The encoding the server really used (first rectangle of the last update). */
  sentEncoding: number;
  /** Set when the picture was checked: pixels that differ and the PSNR over RGB (Infinity when equal). */
  check?: { wrongPixels: number; psnr: number };
  /** libvncclient's complaints about the stream (e.g. "possible ZRLE corruption"). */
  warnings: string[];
}

export interface RunOptions {
  clientBin: string;
  encoding: EncodingName;
  quality: number;
  seconds: number;
  minUpdates: number;
  /** Write the client's framebuffer here and compare it with the picture. */
  checkAgainst?: { picture: Picture; ppmPath: string };
}

/** A run that takes longer than this (slowest update x minUpdates) is killed. */
const RUN_TIMEOUT_MS = 180_000;

/** Lines of libvncclient's log that mean the stream was wrong, not the usual chatter. */
const WARNING = /corrupt|error|unknown|fail|invalid|bad /i;

export function parseClientReport(stdout: string): ClientReport {
  const line = stdout.trim().split('\n').pop() ?? '';
  const r = JSON.parse(line) as ClientReport;
  for (const k of ['width', 'height', 'updates', 'partial', 'firstMs', 'steadyMs', 'steadyBytes', 'firstBytes', 'encoding'] as const) {
    if (typeof r[k] !== 'number' || !Number.isFinite(r[k])) throw new Error(`peer-client printed no ${k}: ${line}`);
  }
  return r;
}

/** Pixels that differ and PSNR (dB, over all RGB samples) between two RGB buffers of one size. */
export function comparePixels(expected: Buffer, got: Buffer): { wrongPixels: number; psnr: number } {
  if (expected.length !== got.length) throw new Error(`picture sizes differ (${expected.length} vs ${got.length} bytes)`);
  let wrong = 0;
  let sq = 0;
  for (let i = 0; i < expected.length; i += 3) {
    const dr = expected[i]! - got[i]!;
    const dg = expected[i + 1]! - got[i + 1]!;
    const db = expected[i + 2]! - got[i + 2]!;
    if (dr | dg | db) {
      wrong++;
      sq += dr * dr + dg * dg + db * db;
    }
  }
  const mse = sq / expected.length;
  return { wrongPixels: wrong, psnr: mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse) };
}

function runClient(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(args[0]!, args.slice(1));
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else
        reject(
          new Error(
            `peer-client ${args.slice(1).join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
    });
  });
}

export async function measureRun(server: RunningServer, o: RunOptions): Promise<RunResult> {
  const wire = o.encoding === 'jpeg' ? 'tight' : o.encoding;
  const quality = o.encoding === 'jpeg' ? o.quality : -1;
  const args = [o.clientBin, '127.0.0.1', String(server.port), wire, String(quality), String(o.seconds), String(o.minUpdates)];
  if (o.checkAgainst) args.push(o.checkAgainst.ppmPath);
  const cpu0 = cpuMs(server.pid);
  const { stdout, stderr } = await runClient(args);
  const cpu1 = cpuMs(server.pid);
  if (cpu0 === undefined || cpu1 === undefined) throw new Error(`${server.name} (pid ${server.pid}) is gone`);
  const r = parseClientReport(stdout);
  const steady = r.updates - 1;
  const result: RunResult = {
    // Steady state: updates 2..n, after the first (cold caches, connection set-up) one.
    updatesPerSec: steady > 0 ? (steady * 1000) / r.steadyMs : 1000 / r.firstMs,
    bytesPerUpdate: steady > 0 ? r.steadyBytes / steady : r.firstBytes,
    // CPU of the whole run (handshake included) over every full update.
    cpuMsPerUpdate: (cpu1 - cpu0) / Math.max(1, r.updates),
    firstMs: r.firstMs,
    updates: r.updates,
    partial: r.partial,
    sentEncoding: r.encoding,
    warnings: stderr.split('\n').filter((l) => WARNING.test(l)),
  };
  if (o.checkAgainst) {
    const got = parsePpm(fs.readFileSync(o.checkAgainst.ppmPath));
    result.check = comparePixels(o.checkAgainst.picture.rgb, got.rgb);
    fs.rmSync(o.checkAgainst.ppmPath, { force: true });
  }
  return result;
}
