// The pure parts of the HTTP/WebSocket gateway a network client meets before any protocol:
// the first-bytes sniff (RFB or HTTP), the request target (requestPath), the static file
// resolution of the web server, the Origin check and the close reason. The input is split at
// its first two newlines into target, Origin and Host. Invariants: a resolved file lies under
// its mount; a close reason fits a close frame. The socket-level part (Node's HTTP parser and
// ws) is fuzzed over real sockets in test/fuzz/websocket-gateway.test.ts.

import type * as http from 'node:http';
import * as path from 'node:path';
import { closeReason, WS_MAX_CLOSE_REASON } from '../../../backend/web/websocket/bridge';
import { originAllowed } from '../../../backend/web/websocket/gateway';
import { classifyFirstBytes } from '../../../backend/web/websocket/sniff';
import { requestPath } from '../../../backend/web/server';
import { resolveStatic } from '../../../backend/web/static';
import type { FuzzTarget } from '../harness/target';

const ROOT = path.resolve('/srv/novnc');
const MOUNTS = [
  { path: '/vnc.html', file: path.join(ROOT, 'vnc.html') },
  { prefix: '/core/', dir: path.join(ROOT, 'core') },
];

export const target: FuzzTarget = {
  name: 'websocket-gateway-head',
  description: 'a request target, Origin and Host from an HTTP client of the web server or the VNC port, and its first bytes',
  covers: ['backend/web/'],
  maxLength: 2048,
  seeds: () =>
    [
      '/websockify\nhttp://localhost:6080\nlocalhost:6080',
      '//x:99999\n\n',
      '/core/../../etc/passwd\nnull\nx',
      '/core/%E0%A4%A\nhttp://[::1\n',
    ].map((s) => Buffer.from(s, 'latin1')),
  // Everything here promises never to throw: any error is a finding.
  expected: () => false,
  run(input) {
    classifyFirstBytes(input);
    const [target = '', origin, host] = Buffer.from(input).toString('latin1').split('\n');
    const pathname = requestPath({ url: target } as http.IncomingMessage);
    if (pathname !== null) {
      const found = resolveStatic(pathname, MOUNTS);
      if ('file' in found && found.file !== MOUNTS[0]!.file && !found.file.startsWith(path.join(ROOT, 'core') + path.sep)) {
        throw new Error(`resolved outside its mount: ${found.file}`);
      }
    }
    originAllowed(origin, host, ['http://allowed:1']);
    const reason = closeReason(Buffer.from(input).toString('utf8'));
    if (Buffer.byteLength(reason, 'utf8') > WS_MAX_CLOSE_REASON) throw new Error('close reason longer than a close frame allows');
  },
};
