// `--metrics HOST:PORT` against a running demo with a VNC client: the text parses with a
// Prometheus parser nobody here wrote (parse-prometheus-text-format), and the counters
// move: frames and bytes sent, the client gauge, encode time per encoder, tile scans.

import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import { DemoProcess, freeVncPort } from '../../helpers/demo-process';
import { TinyRfbClient } from '../../helpers/rfb-client';

interface PromSample {
  labels?: Record<string, string>;
  value?: string;
  count?: string;
  sum?: string;
  buckets?: Record<string, string>;
}
interface PromFamily {
  name: string;
  type: string;
  help: string;
  metrics: PromSample[];
}
const parsePrometheusTextFormat = require('parse-prometheus-text-format') as (text: string) => PromFamily[];

function get(url: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body, type: String(res.headers['content-type']) }));
      })
      .on('error', reject);
  });
}

describe('Prometheus metrics (--metrics)', function () {
  this.timeout(60000);
  let demo: DemoProcess;
  let base: string;
  let port: number;

  before(async function () {
    port = await freeVncPort();
    demo = DemoProcess.start(['--vnc', `127.0.0.1:${port}`, '--no-web', '--no-spice', '--metrics', '127.0.0.1:0']);
    base = (await demo.waitFor(/^ {2}Metrics {3}(http:\/\/[\d.:]+)\/metrics/, 40000))[1]!;
  });
  after(async () => demo?.stop());

  it('/healthz answers ok while the backend serves', async function () {
    const r = await get(`${base}/healthz`);
    assert.deepEqual([r.status, r.body], [200, 'ok\n']);
    assert.equal((await get(`${base}/nothing`)).status, 404);
  });

  it('/metrics parses; frames, bytes, clients, encode time and tile scans move with a client connected', async function () {
    const client = await TinyRfbClient.connect('127.0.0.1', port);
    client.startUpdates();
    const deadline = Date.now() + 15000;
    while (client.updates < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(client.updates >= 5, 'the pattern workload keeps sending frames');
    const r = await get(`${base}/metrics`);
    client.close();
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/plain; version=0\.0\.4/);
    const families = new Map(parsePrometheusTextFormat(r.body).map((f) => [f.name, f]));
    const one = (name: string, labels: Record<string, string> = {}) => {
      const f = families.get(name);
      assert.ok(f, `${name} missing`);
      const s = f.metrics.find((m) => Object.entries({ domid: '1', ...labels }).every(([k, v]) => m.labels?.[k] === v));
      assert.ok(s, `${name}${JSON.stringify(labels)} missing: ${JSON.stringify(f.metrics)}`);
      return s;
    };
    assert.equal(families.get('xenvfb_frames_total')!.type, 'COUNTER');
    assert.ok(Number(one('xenvfb_frames_total', { protocol: 'vnc' }).value) >= 5);
    assert.ok(Number(one('xenvfb_sent_bytes_total', { protocol: 'vnc' }).value) > 800 * 600 * 4, 'a full 800x600 frame at least');
    assert.equal(Number(one('xenvfb_clients', { protocol: 'vnc' }).value), 1);
    // parse-prometheus-text-format 1.1.1 keeps only the buckets of a labelled histogram (no
    // labels, count or sum): the family is checked with it, the Raw encoder's series by line.
    const hist = families.get('xenvfb_encode_seconds')!;
    assert.equal(hist.type, 'HISTOGRAM');
    assert.ok(hist.metrics.some((m) => Number(m.buckets?.['+Inf']) > 0));
    const series = (prefix: string) =>
      r.body
        .split('\n')
        .find((l) => l.startsWith(prefix) && l.includes('encoder="Raw"') && l.includes('domid="1"'))
        ?.split(' ')[1];
    const count = series('xenvfb_encode_seconds_count{');
    const inf = series('xenvfb_encode_seconds_bucket{le="+Inf"');
    assert.ok(count && Number(count) > 0 && count === inf, 'Raw encode time observed');
    assert.ok(Number(one('xenvfb_tile_scans_total', { device: 'vfb/0' }).value) > 0);
    assert.ok(Number(one('xenvfb_dirty_tiles_total', { device: 'vfb/0' }).value) > 0);
    assert.equal(Number(one('xenvfb_device_connected', { device: 'vkbd/0' }).value), 1);
    assert.equal(Number(one('xenvfb_guest_errors_total', { device: 'vfb/0', kind: 'bad_event' }).value), 0);
    assert.ok(Number(one('xenvfb_process_resident_memory_bytes').value) > 0);
  });

  it('counters never go back when the client leaves', async function () {
    const frames = async () => {
      const f = parsePrometheusTextFormat((await get(`${base}/metrics`)).body).find((x) => x.name === 'xenvfb_frames_total')!;
      return Number(f.metrics.find((m) => m.labels?.protocol === 'vnc')!.value);
    };
    const before = await frames();
    await new Promise((r) => setTimeout(r, 1200));
    assert.ok((await frames()) >= before);
    const clients = parsePrometheusTextFormat((await get(`${base}/metrics`)).body).find((x) => x.name === 'xenvfb_clients')!;
    assert.equal(clients.metrics.filter((m) => Number(m.value) > 0).length, 0, 'no client connected any more');
  });
});
