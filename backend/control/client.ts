// The CLI's side of the control socket: one request, one reply (protocol.ts).

import * as net from 'node:net';
import { xerror } from '../../shared/errors';
import { CTL_MAX_REPLY, type ControlReply, LineSplitter } from './protocol';

export async function controlRequest(socketPath: string, req: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
  const reply = await new Promise<ControlReply>((resolve, reject) => {
    const sock = net.connect(socketPath);
    const lines = new LineSplitter(CTL_MAX_REPLY);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(xerror('CTL_E_CONNECT', `${socketPath}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => sock.write(`${JSON.stringify({ id: 1, ...req })}\n`));
    sock.on('data', (chunk: Buffer) => {
      let got: string[];
      try {
        got = lines.push(chunk);
      } catch (e) {
        clearTimeout(timer);
        sock.destroy();
        reject(e);
        return;
      }
      if (got.length === 0) return;
      clearTimeout(timer);
      sock.end();
      try {
        resolve(JSON.parse(got[0]!) as ControlReply);
      } catch {
        reject(xerror('CTL_E_FAILED', `${socketPath}: the reply is not JSON`));
      }
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why =
        e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
          ? 'no backend is running for it'
          : e.code === 'EACCES'
            ? 'permission denied (the control socket is root-only: run as root)'
            : e.message;
      reject(xerror('CTL_E_CONNECT', `${socketPath}: ${why}`, { errno: e.code }));
    });
  });
  if (!reply.ok) throw xerror('CTL_E_FAILED', reply.error.message, { remoteCode: reply.error.code });
  return reply.result;
}
