// The XsClient spec run twice: against our XenstoredServer and against Debian's C
// xenstored (pending with the reason when scripts/fetch-xen-utils.sh has not run or gcc
// is missing). Both daemons must pass the same assertions.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { type XenstoredServer } from '../../shared/xenstore/server/socket-server';
import { type XenstoredUnderTest, skipUnlessRealXenstored, startOurXenstored, startRealXenstored } from '../helpers/real-xenstored';
import { xsClientSpec } from '../xenstore-real/client-spec';

xsClientSpec('our XenstoredServer', {
  start: () => startOurXenstored(),
  guestSocket: async (d, domid) => {
    const server = (d as XenstoredUnderTest & { server: XenstoredServer }).server;
    const socket = path.join(path.dirname(d.socketPath), `guest-${domid}`);
    if (!fs.existsSync(socket)) await server.listen(socket, { domid, privileged: false });
    return socket;
  },
});

xsClientSpec('C xenstored 4.17 (xen-utils-4.17 + fakexen.so)', {
  start: async (ctx) => {
    skipUnlessRealXenstored(ctx);
    return startRealXenstored();
  },
  noGuestReason:
    'every socket connection to C xenstored is privileged dom0; a guest needs a ring (XS_INTRODUCE), which the shim only stubs',
});
