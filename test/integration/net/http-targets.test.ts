// Issue 15 item 1: a request target that is not a valid URL path ("//x:99999", absolute
// forms, bytes Node's parser lets through) must never throw out of a request or upgrade
// handler: the web server answers 400/404, the VNC port's own HTTP gateway 400/426, and both
// servers keep serving afterwards.

import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { VncServer } from '../../../backend/vnc/server';
import { WebServer } from '../../../backend/web/server';
import { patternSurface, RecordingInput, TestDisplay } from '../../unit/vnc/helpers';

/** Targets that made `new URL(target, base)` throw, or that are odd enough to try. */
const TARGETS = [
  '//x:99999',
  '//[::1',
  '//a:b@:0',
  'http://x:99999/',
  '//%zz',
  '*',
  '/\u00ff',
  '//x:99999/websockify',
  '/%zz',
  '/core/%E0%A4%A',
  '/core/..%2f..%2f..%2fetc%2fpasswd',
  '/' + 'a'.repeat(5000),
];

/** Send one raw request and return what came back before the server closed or went quiet. */
function raw(port: number, request: string, waitMs = 400): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    sock.on('data', (d) => (got += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => resolve(got));
    sock.on('connect', () => sock.write(Buffer.from(request, 'latin1')));
    setTimeout(() => {
      sock.destroy();
      resolve(got);
    }, waitMs);
  });
}

const upgradeHeaders =
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

function statusOf(reply: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(reply);
  return m ? Number(m[1]) : 0;
}

describe('net: hostile HTTP request targets (issue 15 item 1)', function () {
  this.timeout(15000);
  let vnc: VncServer;
  let web: WebServer;
  let vncPort: number;
  let webPort: number;

  before(async () => {
    vnc = new VncServer({ display: new TestDisplay(patternSurface(64, 32)), input: new RecordingInput(), encode: 'sync' });
    web = new WebServer({ webSockets: [{ path: '/websockify', handler: vnc }] });
    vncPort = (await vnc.listen('127.0.0.1', 0)).port;
    webPort = (await web.listen('127.0.0.1', 0)).port;
  });
  after(async () => {
    await web.close();
    await vnc.close();
  });

  it('the web server answers every odd target of a GET with an HTTP error and keeps serving', async () => {
    const seen: string[] = [];
    for (const t of TARGETS) {
      const status = statusOf(await raw(webPort, `GET ${t} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`));
      seen.push(`${t.slice(0, 40)} -> ${status}`);
      assert.ok(status >= 400 && status < 500, `GET ${t}: ${status}`);
    }
    console.log(`      web GET: ${seen.join(', ')}`);
    assert.equal(statusOf(await raw(webPort, 'GET /vnc.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')), 200);
  });

  it('the web server answers every odd target of an upgrade with an HTTP error and keeps serving', async () => {
    const seen: string[] = [];
    for (const t of TARGETS) {
      const status = statusOf(await raw(webPort, `GET ${t} HTTP/1.1\r\nHost: localhost\r\n${upgradeHeaders}\r\n`));
      seen.push(`${t.slice(0, 40)} -> ${status}`);
      assert.ok(status >= 400 && status < 500, `upgrade ${t}: ${status}`);
    }
    console.log(`      web upgrade: ${seen.join(', ')}`);
    // Origins that are not URLs are refused (403), not thrown on.
    for (const origin of ['http://[::1', 'http://x:99999', '%', 'null']) {
      const status = statusOf(
        await raw(webPort, `GET /websockify HTTP/1.1\r\nHost: localhost\r\nOrigin: ${origin}\r\n${upgradeHeaders}\r\n`),
      );
      assert.equal(status, 403, `Origin ${origin}: ${status}`);
    }
    const ok = await raw(webPort, `GET /websockify HTTP/1.1\r\nHost: localhost\r\n${upgradeHeaders}\r\n`);
    assert.equal(statusOf(ok), 101, ok);
  });

  it("the VNC port's HTTP gateway answers odd targets (GET and upgrade) and keeps serving RFB", async () => {
    for (const t of TARGETS) {
      const get = statusOf(await raw(vncPort, `GET ${t} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`));
      assert.ok(get >= 400 && get < 500, `GET ${t}: ${get}`);
      const up = statusOf(await raw(vncPort, `GET ${t} HTTP/1.1\r\nHost: localhost\r\n${upgradeHeaders}\r\n`));
      // ws takes any path here (the port has one purpose): 101, or an HTTP error; never a crash.
      assert.ok(up === 101 || (up >= 400 && up < 500), `upgrade ${t}: ${up}`);
    }
    assert.ok((await raw(vncPort, '')).startsWith('RFB 003.008\n'), 'the VNC port still speaks RFB');
  });
});
