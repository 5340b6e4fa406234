// `xenvfb backend --metrics HOST:PORT`: the backend's numbers as Prometheus metrics
// (backend/metrics/). Here because it reads the VNC server's per-encoder stats.

import type { DomainBackend } from '../../backend/daemon';
import { BackendMetrics, type MetricsClient, type MetricsSource } from '../../backend/metrics/metrics';
import { MetricsServer } from '../../backend/metrics/http';
import { listenError, type BoundAddress } from '../../backend/listen';
import { VncServer } from '../../backend/vnc/server';
import { XenbusState } from '../../shared/xenbus-state';
import type { HostPort } from './args';

/** How often counters are sampled between scrapes (a client that comes and goes is still counted). */
const METRICS_SAMPLE_MS = 1000;

export function backendMetricsSource(backend: DomainBackend): MetricsSource {
  return {
    clients: () =>
      backend.servers.flatMap(({ server }): MetricsClient[] => {
        const sessions = server instanceof VncServer ? new Map(server.clients().map((c) => [c.id, c.session.encoders])) : undefined;
        return server.clientInfo().map((c) => ({
          protocol: server.protocol,
          id: c.id,
          updates: c.updates,
          bytesOut: c.bytesOut,
          ...(sessions?.get(c.id) ? { encoders: sessions.get(c.id) } : {}),
        }));
      }),
    devices: () =>
      [...backend.devices].map(([key, dev]) => {
        const [kind, id] = key.split('/') as [string, string];
        const vfb = kind === 'vfb' ? backend.vfbs.get(Number(id)) : undefined;
        return {
          kind,
          devid: Number(id),
          connected: dev.xenbusState === XenbusState.Connected,
          ...(vfb ? { tiles: vfb.tileStats, events: vfb.stats } : {}),
        };
      }),
    damageRects: () => backend.display.stats.damageRects,
  };
}

export async function startBackendMetrics(
  backend: DomainBackend,
  domid: number,
  at: HostPort,
): Promise<{ address: BoundAddress; close: () => Promise<void> }> {
  const metrics = new BackendMetrics(backendMetricsSource(backend), domid);
  const server = new MetricsServer(metrics, () => {
    if (backend.xenstore.isClosed) return { ok: false, reason: 'the xenstore connection is closed' };
    if (backend.servers.length === 0) return { ok: false, reason: 'no display server is listening' };
    return { ok: true };
  });
  const address = await server.listen(at.host, at.port).catch((e: Error) => {
    throw listenError(e, 'metrics', '--metrics', at);
  });
  const timer = setInterval(() => metrics.sample(), METRICS_SAMPLE_MS);
  timer.unref();
  return {
    address,
    close: async () => {
      clearInterval(timer);
      await server.close();
    },
  };
}
