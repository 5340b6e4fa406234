// `xenvfb watch --http HOST:PORT`: a host page listing every domain the daemon serves (id,
// name, state, VNC address, a live thumbnail, a link to its web console), and the thumbnails
// themselves, taken through each backend's control socket (`screenshot`) and scaled down.

import * as http from 'node:http';
import { PNG } from 'pngjs';
import { controlRequest } from '../../../backend/control/client';
import { type BoundAddress, listenOn } from '../../../backend/listen';
import type { DomainReport } from './daemon';

/** Thumbnail width in pixels (height keeps the aspect ratio). */
export const THUMB_WIDTH = 320;

/** Nearest-neighbour scale of a PNG to `width` pixels wide. */
export function thumbnail(png: Buffer, width = THUMB_WIDTH): Buffer {
  const src = PNG.sync.read(png);
  const w = Math.min(width, src.width);
  const h = Math.max(1, Math.round((src.height * w) / src.width));
  const out = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    const sy = Math.floor((y * src.height) / h);
    for (let x = 0; x < w; x++) {
      const s = (sy * src.width + Math.floor((x * src.width) / w)) * 4;
      src.data.copy(out.data, (y * w + x) * 4, s, s + 4);
    }
  }
  return PNG.sync.write(out, { colorType: 2 });
}

const esc = (v: string) => v.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function hostPage(domains: Array<DomainReport & { name: string | null }>): string {
  const rows = domains.map((d) => {
    const web = d.web ? `<a href="http://${esc(d.web)}/">web console</a>` : '';
    const thumb = d.state === 'running' ? `<img alt="domain ${d.domid}" src="/thumb/${d.domid}.png" width="${THUMB_WIDTH}">` : '';
    return (
      `<tr data-domid="${d.domid}"><td>${d.domid}</td><td>${esc(d.name ?? '')}</td><td>${d.state}</td>` +
      `<td>${esc(d.vnc ?? '')}</td><td>${web}</td><td>${thumb}</td></tr>`
    );
  });
  return [
    '<!doctype html><html><head><meta charset="utf-8"><title>xenvfb: domains</title>',
    '<meta http-equiv="refresh" content="10"></head><body><h1>Domains</h1>',
    '<table><thead><tr><th>id</th><th>name</th><th>state</th><th>VNC</th><th>console</th><th>screen</th></tr></thead>',
    `<tbody>${rows.join('')}</tbody></table></body></html>`,
  ].join('\n');
}

/** A thumbnail is taken at most this often per domain, however many requests come. */
export const THUMB_MAX_AGE_MS = 2000;

export class HostPageServer {
  private readonly server: http.Server;
  /** Per domain: the last thumbnail (or the one being taken) and when it was asked for. */
  private readonly thumbs = new Map<number, { at: number; png: Promise<Buffer> }>();

  constructor(private readonly domains: () => Promise<Array<DomainReport & { name: string | null }>>) {
    this.server = http.createServer((req, res) => void this.serve(req, res));
    this.server.requestTimeout = 15_000;
    this.server.maxConnections = 32;
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = (req.url ?? '/').split('?')[0]!;
    try {
      if (url === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(hostPage(await this.domains()));
        return;
      }
      const m = /^\/thumb\/(\d{1,5})\.png$/.exec(url);
      const d = m ? (await this.domains()).find((x) => x.domid === Number(m[1])) : undefined;
      if (!d || !d.control) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no such running domain\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store' }).end(await this.thumb(d.domid, d.control));
    } catch (e) {
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`);
    }
  }

  private thumb(domid: number, control: string): Promise<Buffer> {
    const now = Date.now();
    const cached = this.thumbs.get(domid);
    if (cached && now - cached.at < THUMB_MAX_AGE_MS) return cached.png;
    const png = (controlRequest(control, { op: 'screenshot' }, 10_000) as Promise<{ png: string }>).then((shot) =>
      thumbnail(Buffer.from(shot.png, 'base64')),
    );
    png.catch(() => this.thumbs.delete(domid));
    this.thumbs.set(domid, { at: now, png });
    for (const [id, t] of this.thumbs) if (now - t.at > 60_000) this.thumbs.delete(id);
    return png;
  }

  listen(host: string, port: number): Promise<BoundAddress> {
    return listenOn(this.server, host, port);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
