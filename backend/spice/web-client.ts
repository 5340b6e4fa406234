// spice-html5 on the web server: Debian's package (spice-html5, /usr/share/spice-html5) served
// under /spice/, and /spice redirecting to its spice_auto.html, which connects back to the
// host and port it came from, on the path given in the query: the web server routes that
// path's WebSocket upgrades to the SPICE server (SpiceServer.handleUpgrade).

import * as fs from 'node:fs';
import type { Mount } from '../web/static';

/** Where Debian's spice-html5 package installs the client. */
export const SPICE_HTML5_DIR = '/usr/share/spice-html5';
/** The WebSocket path on the web server that reaches the SPICE server. */
export const SPICE_WEB_WEBSOCKET_PATH = '/spice/websocket';
/** The page a browser opens. */
export const SPICE_WEB_PAGE = '/spice';

export interface SpiceWebClient {
  mounts: Mount[];
  redirects: Record<string, string>;
}

/** The mounts and redirect for spice-html5, or null when it is not installed (the SPICE port still serves spice-html5 hosted elsewhere). */
export function spiceWebClient(dir = process.env.XENVFB_SPICE_HTML5_DIR ?? SPICE_HTML5_DIR): SpiceWebClient | null {
  if (!fs.existsSync(`${dir}/main.js`)) return null;
  return {
    mounts: [{ prefix: '/spice/', dir }],
    // spice_auto.html reads host and port from the page's own URL; path is ours.
    redirects: { [SPICE_WEB_PAGE]: `/spice/spice_auto.html?path=${SPICE_WEB_WEBSOCKET_PATH.slice(1)}` },
  };
}
