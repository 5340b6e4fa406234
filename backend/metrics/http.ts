// `--metrics HOST:PORT`: GET /metrics (Prometheus text) and GET /healthz (200 "ok", or 503
// with the reason) on a small HTTP server of its own, apart from the console ports.

import * as http from 'node:http';
import { type BoundAddress, listenOn } from '../listen';
import type { BackendMetrics } from './metrics';

export class MetricsServer {
  private readonly server: http.Server;

  constructor(
    private readonly metrics: BackendMetrics,
    private readonly health: () => { ok: boolean; reason?: string },
  ) {
    this.server = http.createServer((req, res) => void this.serve(req, res));
    this.server.requestTimeout = 10_000;
    this.server.headersTimeout = 5_000;
    this.server.maxConnections = 16;
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (url === '/metrics') {
      try {
        const body = await this.metrics.text();
        res.writeHead(200, { 'content-type': this.metrics.contentType }).end(body);
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(e as Error).message}\n`);
      }
    } else if (url === '/healthz') {
      const h = this.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'text/plain' }).end(h.ok ? 'ok\n' : `${h.reason ?? 'unhealthy'}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics or /healthz\n');
    }
  }

  listen(host: string, port: number): Promise<BoundAddress> {
    return listenOn(this.server, host, port);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
