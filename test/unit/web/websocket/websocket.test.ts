// RFB over WebSocket through a real VncServer and WebServer, with the `ws` package's client
// doing the framing: the session under test never sees a frame.

import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import * as net from 'node:net';
import WebSocket from 'ws';
import { BTN_LEFT } from '../../../../backend/input/linux-input-codes';
import { VncServer } from '../../../../backend/vnc/server';
import { closeReason, WS_CLOSE_UNSUPPORTED_DATA, WS_MAX_CLOSE_REASON } from '../../../../backend/web/websocket/bridge';
import { chooseSubprotocol, originAllowed, WS_MAX_CLIENT_MESSAGE } from '../../../../backend/web/websocket/gateway';
import { WEB_DEFAULT_PAGE, WEB_VNC_WEBSOCKET_PATHS, WebServer } from '../../../../backend/web/server';
import { patternSurface, RecordingInput, TestDisplay } from '../../vnc/helpers';

/** Bytes from a WebSocket as one stream, whatever the message boundaries. */
class WsStream {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  closed: { code: number; reason: string } | null = null;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer, isBinary) => {
      assert.ok(isBinary, 'server sent a text message');
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake?.();
    });
  }
  async read(n: number, timeoutMs = 2000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      if (this.closed) throw new Error(`closed ${this.closed.code} before ${n} bytes`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} bytes (have ${this.buf.length})`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  async waitClosed(timeoutMs = 2000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(this.closed, 'websocket did not close');
    return this.closed;
  }
}

function open(url: string, protocols?: string[], origin?: string): Promise<WsStream> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, origin ? { origin } : {});
    const s = new WsStream(ws);
    ws.once('open', () => resolve(s));
    ws.once('error', reject);
  });
}

/** RFB 3.8 with security None up to ServerInit; each client message in its own WS message, the version split in two. */
async function handshake(s: WsStream): Promise<{ width: number; height: number; name: string }> {
  assert.equal((await s.read(12)).toString('latin1'), 'RFB 003.008\n');
  s.ws.send(Buffer.from('RFB 003', 'latin1'));
  s.ws.send(Buffer.from('.008\n', 'latin1'));
  const n = (await s.read(1))[0]!;
  const types = [...(await s.read(n))];
  assert.ok(types.includes(1), `None offered: ${types}`);
  s.ws.send(Buffer.of(1));
  assert.equal((await s.read(4)).readUInt32BE(0), 0);
  s.ws.send(Buffer.of(1));
  const init = await s.read(2 + 2 + 16 + 4);
  const name = (await s.read(init.readUInt32BE(20))).toString('utf8');
  return { width: init.readUInt16BE(0), height: init.readUInt16BE(2), name };
}

describe('vnc/websocket: RFB over WebSocket on the VNC port', function () {
  this.timeout(10000);
  let display: TestDisplay;
  let input: RecordingInput;
  let server: VncServer;
  let port: number;

  beforeEach(async () => {
    display = new TestDisplay(patternSurface(64, 48), 'ws guest');
    input = new RecordingInput();
    server = new VncServer({ display, input });
    port = (await server.listen('127.0.0.1', 0)).port;
  });
  afterEach(() => server.close());

  it('no subprotocol (as noVNC): handshake, ServerInit, input reaches the display', async () => {
    const s = await open(`ws://127.0.0.1:${port}/`);
    assert.equal(s.ws.protocol, '');
    assert.deepEqual(await handshake(s), { width: 64, height: 48, name: 'ws guest' });
    // PointerEvent: u8 type=5 | u8 mask | u16 x | u16 y, sent as two messages
    s.ws.send(Buffer.of(5, 1, 0));
    s.ws.send(Buffer.of(10, 0, 20));
    const deadline = Date.now() + 2000;
    while (!input.calls.some((c) => c.kind === 'button' && c.args[0] === BTN_LEFT) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(input.calls.find((c) => c.kind === 'pointerAbs')?.args.slice(0, 2), [10, 20]);
    assert.deepEqual(input.calls.find((c) => c.kind === 'button')?.args, [BTN_LEFT, true]);
    assert.equal(server.sessions, 1);
    s.ws.close();
    await s.waitClosed();
  });

  it("accepts the 'binary' subprotocol when offered", async () => {
    const s = await open(`ws://127.0.0.1:${port}/websockify`, ['base64', 'binary']);
    assert.equal(s.ws.protocol, 'binary');
    assert.equal((await handshake(s)).name, 'ws guest');
    s.ws.close();
  });

  it('a framebuffer update comes back in binary messages', async () => {
    const s = await open(`ws://127.0.0.1:${port}/`);
    await handshake(s);
    // FramebufferUpdateRequest: u8 type=3 | u8 incremental | u16 x | u16 y | u16 w | u16 h
    s.ws.send(Buffer.of(3, 0, 0, 0, 0, 0, 0, 64, 0, 48));
    const head = await s.read(4);
    assert.equal(head[0], 0);
    const rects = head.readUInt16BE(2);
    assert.ok(rects >= 1);
  });

  it('plain RFB still works on the same port (after the sniffing wait)', async () => {
    const sock = net.connect(port, '127.0.0.1');
    const t0 = Date.now();
    const first = await new Promise<Buffer>((resolve) => sock.once('data', resolve));
    assert.equal(first.toString('latin1'), 'RFB 003.008\n');
    assert.ok(Date.now() - t0 < 1000);
    sock.destroy();
  });

  it('an RFB client that speaks first is not mistaken for HTTP', async () => {
    const sock = net.connect(port, '127.0.0.1');
    sock.write('RFB 003.008\n');
    let got = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    const deadline = Date.now() + 2000;
    while (got.length < 12 + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got.subarray(0, 12).toString('latin1'), 'RFB 003.008\n');
    assert.ok(got[12]! >= 1, 'security types followed');
    sock.destroy();
  });

  it('a plain HTTP GET gets 426', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) =>
      http.get(`http://127.0.0.1:${port}/`, (res) => resolve(res.statusCode)).on('error', reject),
    );
    assert.equal(status, 426);
  });

  it('a foreign Origin is refused with 403; same origin and listed ones are fine', async () => {
    await assert.rejects(open(`ws://127.0.0.1:${port}/`, undefined, 'http://evil.example'), /403/);
    (await open(`ws://127.0.0.1:${port}/`, undefined, `http://127.0.0.1:${port}`)).ws.close();
    assert.equal(originAllowed('http://a:1', 'b:2', ['http://a:1']), true);
    assert.equal(originAllowed('http://a:1', 'b:2', ['*']), true);
    assert.equal(originAllowed('null', 'b:2'), false);
  });

  it('a text message closes with 1003', async () => {
    const s = await open(`ws://127.0.0.1:${port}/`);
    await s.read(12);
    s.ws.send('RFB 003.008\n');
    assert.equal((await s.waitClosed()).code, WS_CLOSE_UNSUPPORTED_DATA);
  });

  it(`a message of WS_MAX_CLIENT_MESSAGE (${WS_MAX_CLIENT_MESSAGE}) bytes is taken, one more closes with 1009`, async () => {
    // ClientCutText: u8 type=6 | u8 pad[3] | u32 length | text: the session skips the text
    const cut = (total: number): Buffer => {
      const b = Buffer.alloc(total, 0x61);
      b.writeUInt32BE(0x06000000, 0);
      b.writeUInt32BE(total - 8, 4);
      return b;
    };
    const s = await open(`ws://127.0.0.1:${port}/`);
    await handshake(s);
    // Four ClientCutTexts of 1 MiB each (within RFB_MAX_CUT_TEXT) in one message.
    const atLimit = Buffer.concat(Array.from({ length: WS_MAX_CLIENT_MESSAGE / 2 ** 20 }, () => cut(2 ** 20)));
    assert.equal(atLimit.length, WS_MAX_CLIENT_MESSAGE);
    s.ws.send(atLimit);
    s.ws.send(Buffer.of(3, 0, 0, 0, 0, 0, 0, 1, 0, 1));
    assert.equal((await s.read(4))[0], 0, 'still serving after a message at the limit');
    s.ws.send(Buffer.concat([atLimit, Buffer.of(3)]));
    assert.equal((await s.waitClosed()).code, 1009);
  });

  it('the server closing the session closes the WebSocket; close() drops clients', async () => {
    const s = await open(`ws://127.0.0.1:${port}/`);
    await s.read(12);
    s.ws.send(Buffer.from('RFB 009.009\n'));
    const closed = await s.waitClosed();
    assert.ok([1000, 1006].includes(closed.code), String(closed.code));
    const t = await open(`ws://127.0.0.1:${port}/`);
    await server.close();
    await t.waitClosed();
  });

  it('closeReason fits a close frame without splitting a character', () => {
    assert.equal(closeReason('short'), 'short');
    const long = 'é'.repeat(100);
    const cut = closeReason(long);
    assert.ok(Buffer.byteLength(cut) <= WS_MAX_CLOSE_REASON);
    assert.equal(cut, 'é'.repeat(61));
    assert.equal(chooseSubprotocol(new Set(['binary'])), 'binary');
    assert.equal(chooseSubprotocol(new Set(['base64'])), false);
  });
});

describe('web/server: noVNC page and same-origin WebSocket', function () {
  this.timeout(10000);
  let vnc: VncServer;
  let web: WebServer;
  let base: string;

  before(async () => {
    vnc = new VncServer({ display: new TestDisplay(patternSurface(32, 16), 'web guest'), input: new RecordingInput() });
    await vnc.listen('127.0.0.1', 0);
    web = new WebServer({ webSockets: WEB_VNC_WEBSOCKET_PATHS.map((path) => ({ path, handler: vnc })) });
    const a = await web.listen('127.0.0.1', 0);
    base = `http://127.0.0.1:${a.port}`;
  });
  after(async () => {
    await web.close();
    await vnc.close();
  });

  const get = (p: string, method = 'GET'): Promise<{ status: number; type?: string; location?: string; body: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request(`${base}${p}`, { method }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], location: res.headers.location, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('"/" redirects to the page with autoconnect and same-origin path', async () => {
    const r = await get('/');
    assert.equal(r.status, 302);
    assert.equal(r.location, WEB_DEFAULT_PAGE);
  });

  it('serves the page, our module and noVNC modules with JavaScript MIME types', async () => {
    for (const p of ['/vnc.html', '/vnc_lite.html']) {
      const r = await get(p);
      assert.equal(r.status, 200);
      assert.match(r.type!, /^text\/html/);
      assert.match(r.body, /vnc\.js/);
    }
    for (const p of ['/vnc.js', '/core/rfb.js', '/core/util/events.js', '/vendor/pako/lib/zlib/inflate.js']) {
      const r = await get(p);
      assert.equal(r.status, 200, p);
      assert.equal(r.type, 'text/javascript; charset=utf-8', p);
    }
    assert.equal((await get('/core/rfb.js', 'HEAD')).body, '');
  });

  it('no directory traversal, no other methods', async () => {
    // Raw request lines: http.request would normalise the dots away.
    for (const p of [
      '/core/../package.json',
      '/core/%2e%2e/package.json',
      '/core/%2e%2e%2f%2e%2e%2fpackage.json',
      '/vendor/../../../../etc/passwd',
    ]) {
      const status = await new Promise<string>((resolve) => {
        const sock = net.connect(Number(new URL(base).port), '127.0.0.1', () =>
          sock.write(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
        );
        let got = '';
        sock.on('data', (d: Buffer) => (got += d.toString()));
        sock.on('end', () => resolve(got.split('\r\n')[0]!));
      });
      assert.match(status, /^HTTP\/1\.1 40[04]/, `${p}: ${status}`);
    }
    assert.equal((await get('/vnc.html', 'POST')).status, 405);
    assert.equal((await get('/nothing.js')).status, 404);
  });

  it('the WebSocket on /websockify reaches the VNC server', async () => {
    const s = await open(`${base.replace('http', 'ws')}/websockify`);
    assert.equal((await handshake(s)).name, 'web guest');
    s.ws.close();
    await assert.rejects(open(`${base.replace('http', 'ws')}/elsewhere`), /404/);
  });
});

describe('vnc/websocket: a VNC port without WebSocket (websocket: false, --no-vnc-websocket)', function () {
  this.timeout(10000);
  let vnc: VncServer;
  let web: WebServer;
  let port: number;
  let webPort: number;

  before(async () => {
    vnc = new VncServer({ display: new TestDisplay(patternSurface(32, 16), 'rfb only'), input: new RecordingInput(), websocket: false });
    port = (await vnc.listen('127.0.0.1', 0)).port;
    web = new WebServer({ webSockets: WEB_VNC_WEBSOCKET_PATHS.map((path) => ({ path, handler: vnc })) });
    webPort = (await web.listen('127.0.0.1', 0)).port;
  });
  after(async () => {
    await web.close();
    await vnc.close();
  });

  it('greets without sniffing: a client that opens with an HTTP request still gets the RFB greeting, not an HTTP answer', async () => {
    const sock = net.connect(port, '127.0.0.1');
    // Written at once: a sniffing port would take this for a WebSocket upgrade and answer HTTP.
    sock.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    const first = await new Promise<Buffer>((resolve) => sock.once('data', resolve));
    assert.equal(first.subarray(0, 12).toString('latin1'), 'RFB 003.008\n');
    sock.destroy();
  });

  it('noVNC through the web server still reaches the sessions', async () => {
    const s = await open(`ws://127.0.0.1:${webPort}/websockify`, ['binary']);
    assert.deepEqual(await handshake(s), { width: 32, height: 16, name: 'rfb only' });
    s.ws.close();
    await s.waitClosed();
  });
});
