// Shared pieces of the hostile-client tests (issue 15): a 1080p display that keeps changing,
// a bystander client whose update rate is the fairness figure, raw attacker sockets that
// finish the RFB handshake and then never read, and RSS / CPU sampling of this process (the
// server runs in it).

import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';
import { RfbEncoding } from '../../../backend/vnc/messages';
import { RfbStreamClient } from '../../helpers/rfb-stream-client';
import { TestDisplay } from '../../unit/vnc/helpers';

export const W = 1920;
export const H = 1080;
export const MiB = 1024 * 1024;

export function mb(n: number): string {
  return (n / MiB).toFixed(1) + ' MiB';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A 1080p display where a random rect (up to 480x270) changes every 10 ms. */
export function animatedDisplay(width = W, height = H): { display: TestDisplay; stop(): void } {
  const data = new Uint8Array(width * height * 4);
  const display = new TestDisplay({ width, height, stride: width * 4, format: PIXEL_FORMAT_XRGB8888, data });
  let seed = 7;
  const rnd = (n: number): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % n;
  const timer = setInterval(() => {
    const w = 1 + rnd(480);
    const h = 1 + rnd(270);
    const x = rnd(width - w);
    const y = rnd(height - h);
    const v = rnd(256);
    for (let row = y; row < y + h; row++) data.fill(v, (row * width + x) * 4, (row * width + x + w) * 4);
    display.emit('damage', [{ x, y, width: w, height: h }]);
  }, 10);
  return { display, stop: () => clearInterval(timer) };
}

/** Updates a second a reading client gets over `ms`. */
export async function updateRate(client: RfbStreamClient, ms: number): Promise<number> {
  const start = client.updates;
  const t0 = performance.now();
  await sleep(ms);
  return ((client.updates - start) * 1000) / (performance.now() - t0);
}

export function bystander(port: number): Promise<RfbStreamClient> {
  return RfbStreamClient.connect(port, { encodings: [RfbEncoding.Raw] });
}

/**
 * RFB 3.8, security None, shared, up to ServerInit; then the socket is paused for good: this
 * client never reads again. `encodings` go out first if given.
 */
export async function mute(port: number, encodings?: number[]): Promise<net.Socket> {
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => undefined);
  let buf = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 12 && buf.length - d.length < 12) sock.write(Buffer.from('RFB 003.008\n\x01\x01', 'latin1'));
      // version 12 | n 1 | types n | result 4 | ServerInit 24 + name
      if (buf.length < 13) return;
      const init = 13 + buf[12]! + 4;
      if (buf.length >= init + 24 && buf.length >= init + 24 + buf.readUInt32BE(init + 20)) resolve();
    });
    sock.once('close', () => reject(new Error('closed during the handshake')));
  });
  sock.removeAllListeners('data');
  sock.pause();
  if (encodings) sock.write(setEncodingsMsg(encodings));
  return sock;
}

/** Write `total` bytes of `unit` repeated, in 64 KiB pieces, waiting for drain (the attacker's own memory stays small). */
export async function flood(sock: net.Socket, unit: Buffer, total: number): Promise<number> {
  const per = Math.max(1, Math.floor(65536 / unit.length));
  const piece = Buffer.concat(Array.from({ length: per }, () => unit));
  let sent = 0;
  while (sent < total && !sock.destroyed) {
    if (!sock.write(piece)) {
      const drained = await Promise.race([
        new Promise<boolean>((r) => sock.once('drain', () => r(true))),
        new Promise<boolean>((r) => sock.once('close', () => r(false))),
        sleep(3000).then(() => false),
      ]);
      if (!drained) break;
    }
    sent += piece.length;
  }
  return sent;
}

// u8 type=2 | u8 pad | u16 count | s32 encodings[count]
export function setEncodingsMsg(list: number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * list.length);
  b[0] = 2;
  b.writeUInt16BE(list.length, 2);
  list.forEach((e, i) => b.writeInt32BE(e, 4 + 4 * i));
  return b;
}

// u8 type=248 | u8 pad[3] | u32 flags | u8 length | payload (Request bit set: the server must answer)
export function fenceMsg(payload = 0): Buffer {
  const b = Buffer.alloc(9 + payload);
  b[0] = 248;
  b.writeUInt32BE(0x80000000, 4);
  b[8] = payload;
  return b;
}

// u8 type=251 | u8 pad | u16 width | u16 height | u8 screens | u8 pad | { u32 id, u16 x, y, w, h, u32 flags }[screens]
export function setDesktopSizeMsg(width: number, height: number): Buffer {
  const b = Buffer.alloc(8 + 16);
  b[0] = 251;
  b.writeUInt16BE(width, 2);
  b.writeUInt16BE(height, 4);
  b[6] = 1;
  b.writeUInt16BE(width, 8 + 8);
  b.writeUInt16BE(height, 8 + 10);
  return b;
}

// u8 type=3 | u8 incremental | u16 x | u16 y | u16 w | u16 h
export function furMsg(incremental: boolean, x: number, y: number, w: number, h: number): Buffer {
  const b = Buffer.alloc(10);
  b[0] = 3;
  b[1] = incremental ? 1 : 0;
  b.writeUInt16BE(x, 2);
  b.writeUInt16BE(y, 4);
  b.writeUInt16BE(w, 6);
  b.writeUInt16BE(h, 8);
  return b;
}

/** Max RSS growth over a baseline taken now, sampled every 20 ms until stop(). */
export function rssWatch(): { stop(): { base: number; maxGrowth: number } } {
  global.gc?.();
  const base = process.memoryUsage().rss;
  let max = base;
  const t = setInterval(() => (max = Math.max(max, process.memoryUsage().rss)), 20);
  return {
    stop: () => {
      clearInterval(t);
      max = Math.max(max, process.memoryUsage().rss);
      return { base, maxGrowth: max - base };
    },
  };
}

export function isClosed(sock: net.Socket): boolean {
  return sock.destroyed || sock.readableEnded;
}

/**
 * The attacker in its own process (so its writing costs this event loop nothing, as a real
 * attacker's would): RFB 3.8 handshake with security None, then `hex` (a message unit) repeated
 * for `total` bytes, never reading. Prints "sent N" and exits when done or when the server
 * dropped it. Plain JavaScript via -e: starts in ~50 ms.
 */
const ATTACKER_SRC = `
const net = require('node:net');
const [port, hex, total, pre, rate] = process.argv.slice(1);
const unit = Buffer.from(hex, 'hex');
const piece = Buffer.concat(Array.from({ length: Math.max(1, Math.floor(65536 / unit.length)) }, () => unit));
const s = net.connect(Number(port), '127.0.0.1');
let buf = Buffer.alloc(0), sent = 0, started = false;
const done = () => { process.stdout.write('sent ' + sent + '\\n'); process.exit(0); };
s.on('error', done);
process.on('SIGTERM', done);
s.on('close', done);
const paced = () => { const per = Math.max(1, Math.round(Number(rate) / 100)); const t = setInterval(() => { if (sent >= Number(total)) { clearInterval(t); return done(); } const b = Buffer.concat(Array.from({ length: per }, () => unit)); sent += b.length; s.write(b); }, 10); };
const go = () => { if (Number(rate) > 0) return paced(); while (sent < Number(total)) { sent += piece.length; if (!s.write(piece)) return s.once('drain', go); } done(); };
s.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  if (buf.length >= 12 && buf.length - d.length < 12) s.write(Buffer.from('RFB 003.008\\n\\x01\\x01', 'latin1'));
  if (started || buf.length < 13) return;
  const init = 13 + buf[12] + 4;
  if (buf.length < init + 24 || buf.length < init + 24 + buf.readUInt32BE(init + 20)) return;
  started = true;
  s.pause();
  s.removeAllListeners('data');
  if (pre) s.write(Buffer.from(pre, 'hex'));
  go();
});
`;

export interface AttackerProcess {
  /** Resolves with the bytes sent when the attacker finished, was dropped or stopped. */
  done: Promise<number>;
  /** SIGTERM: it prints what it sent and exits. */
  kill(): void;
  /** SIGSTOP / SIGCONT: the attack pauses (for interleaved baseline windows). */
  pause(): void;
  resume(): void;
}

/** `rate`: message units a second (sent every 10 ms), or 0 for as fast as the socket takes them. */
export function spawnAttacker(port: number, unit: Buffer, total: number, pre?: Buffer, rate = 0): AttackerProcess {
  const child = spawn(
    process.execPath,
    ['-e', ATTACKER_SRC, String(port), unit.toString('hex'), String(total), pre?.toString('hex') ?? '', String(rate)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number>((resolve) => child.on('exit', () => resolve(Number(/sent (\d+)/.exec(out)?.[1] ?? 0))));
  return {
    done,
    kill: () => {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
    },
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
  };
}

/**
 * The bystander's update rate without and with the attack, from interleaved windows (the
 * attacker stopped with SIGSTOP, then continued), so machine load drifting during the test
 * weighs on both alike.
 */
export async function interleavedRates(
  viewer: RfbStreamClient,
  attacker: AttackerProcess,
  rounds = 3,
  windowMs = 500,
): Promise<{ base: number; attacked: number }> {
  let base = 0;
  let attacked = 0;
  for (let i = 0; i < rounds; i++) {
    attacker.pause();
    await sleep(100); // what was in flight is handled
    base += await updateRate(viewer, windowMs);
    attacker.resume();
    await sleep(100);
    attacked += await updateRate(viewer, windowMs);
  }
  return { base: base / rounds, attacked: attacked / rounds };
}

/** Poll `cond` every 20 ms until it holds; throws after `ms`. */
export async function waitFor(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
