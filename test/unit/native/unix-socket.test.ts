// The addon's unix stream sockets (native/src/unix-socket.cc), below the xenstored adapter
// that client.test.ts drives end to end: errors name their syscall and path, a stream reports
// the peer's data and end, and refused output waits for writability.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { type NativeError, UNIX_STREAM_EVENT, type UnixStreamHandle, listenUnix, openUnixStream } from '../../../native';

const isNativeError = (code: string, syscall: string) => (e: unknown) =>
  (e as NativeError).code === code && (e as NativeError).syscall === syscall;

describe('native unix sockets (listenUnix, openUnixStream)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-unix-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a path in use (bind EADDRINUSE) and one too long for sun_path (ENAMETOOLONG)', () => {
    const p = path.join(dir, 's');
    const l = listenUnix(p, 8, () => undefined);
    try {
      assert.throws(() => listenUnix(p, 8, () => undefined), isNativeError('EADDRINUSE', 'bind'));
    } finally {
      l.close();
    }
    assert.throws(() => listenUnix(path.join(dir, 'x'.repeat(120)), 8, () => undefined), isNativeError('ENAMETOOLONG', 'bind'));
    assert.throws(() => listenUnix(p, 0, () => undefined), RangeError);
    assert.throws(() => openUnixStream(-1, Buffer.alloc(16), () => undefined), RangeError);
    assert.throws(() => openUnixStream(0, Buffer.alloc(0), () => undefined), /readBuffer must not be empty/);
  });

  it('accepts, reads into the lent buffer, writes until the kernel is full, then reports writability and the end', async () => {
    const p = path.join(dir, 's');
    const readBuffer = Buffer.alloc(4096);
    const got: string[] = [];
    let stream: UnixStreamHandle | undefined;
    const events: number[] = [];
    const accepted = new Promise<void>((resolve) => {
      const l = listenUnix(p, 8, (err, fd) => {
        assert.equal(err, null);
        l.close();
        stream = openUnixStream(fd!, readBuffer, (kind, value) => {
          events.push(kind);
          if (kind === UNIX_STREAM_EVENT.data) got.push(readBuffer.subarray(0, value).toString());
        });
        resolve();
      });
    });
    const client = net.createConnection(p);
    await accepted;
    client.write('hello');
    while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(got, ['hello']);

    // The client does not read: the kernel takes a few hundred KB, then nothing.
    client.pause();
    const chunk = Buffer.alloc(64 * 1024, 7);
    let sent = 0;
    for (let i = 0; i < 1000; i++) {
      const n = stream!.write(chunk, 0, chunk.length);
      assert.ok(n >= 0);
      sent += n;
      if (n < chunk.length) break;
    }
    assert.ok(sent < 1000 * chunk.length, 'the kernel stopped taking bytes');
    stream!.setWritable(true);
    let received = 0;
    client.on('data', (d: Buffer) => (received += d.length));
    client.resume();
    while (!events.includes(UNIX_STREAM_EVENT.writable)) await new Promise((r) => setTimeout(r, 5));
    stream!.setWritable(false);
    while (received < sent) await new Promise((r) => setTimeout(r, 5));
    assert.equal(received, sent);

    client.end();
    while (!events.includes(UNIX_STREAM_EVENT.end)) await new Promise((r) => setTimeout(r, 5));
    client.destroy();
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(stream!.write(chunk, 0, 10) < 0, 'writing to a gone peer gives -errno (EPIPE), no SIGPIPE');
    stream!.close();
    stream!.close(); // idempotent
    assert.equal(stream!.write(chunk, 0, 10), -9, 'EBADF once closed');
  });
});
