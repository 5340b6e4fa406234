// Debian's Chromium for the browser tests (noVNC), driven by playwright-core.

export const CHROMIUM = '/usr/bin/chromium';

/** What this machine needs to start Chromium without reaching the network (env: machines/node.md). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
