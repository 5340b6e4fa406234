// The page's logic: build the WebSocket URL from the query string (defaulting to the origin
// the page came from) and drive one noVNC RFB object. `window.xenvfb` shows the state to
// tests and to the console.
import RFB from './core/rfb.js';

const params = new URLSearchParams(window.location.search);
const status = document.getElementById('status');
const connectButton = document.getElementById('connect');
const cadButton = document.getElementById('cad');
const state = { status: 'disconnected', desktopName: '', url: '', rfb: null };
window.xenvfb = state;

function setting(name, fallback) {
  const v = params.get(name);
  return v === null || v === '' ? fallback : v;
}

function flag(name, fallback) {
  return ['1', 'true', 'yes', 'on'].includes(String(setting(name, fallback)).toLowerCase());
}

function websocketUrl() {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  let host = setting('host', window.location.hostname);
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  const port = setting('port', window.location.port);
  const path = setting('path', 'websockify').replace(/^\/+/, '');
  return `${scheme}://${host}${port ? `:${port}` : ''}/${path}`;
}

function show(text, next) {
  status.textContent = text;
  state.status = next;
  connectButton.hidden = next !== 'disconnected';
  cadButton.disabled = next !== 'connected';
}

function connect() {
  state.url = websocketUrl();
  show(`Connecting to ${state.url}`, 'connecting');
  const password = params.get('password');
  const rfb = new RFB(document.getElementById('screen'), state.url, {
    shared: flag('shared', '1'),
    credentials: password === null ? undefined : { password },
  });
  const resize = setting('resize', 'off');
  rfb.scaleViewport = resize === 'scale';
  rfb.resizeSession = resize === 'remote';
  rfb.viewOnly = flag('view_only', '0');
  rfb.addEventListener('connect', () => {
    show(`Connected${state.desktopName ? `: ${state.desktopName}` : ''}`, 'connected');
    rfb.focus();
  });
  rfb.addEventListener('disconnect', (e) => {
    state.rfb = null;
    show(e.detail.clean ? 'Disconnected' : 'Connection lost', 'disconnected');
  });
  rfb.addEventListener('credentialsrequired', () => {
    const answer = window.prompt('VNC password');
    if (answer === null) rfb.disconnect();
    else rfb.sendCredentials({ password: answer });
  });
  rfb.addEventListener('securityfailure', (e) => show(`Security failure: ${e.detail.reason ?? e.detail.status}`, 'connecting'));
  rfb.addEventListener('desktopname', (e) => {
    state.desktopName = e.detail.name;
    document.title = `${e.detail.name} - xenvfb`;
  });
  state.rfb = rfb;
}

connectButton.addEventListener('click', connect);
cadButton.addEventListener('click', () => state.rfb?.sendCtrlAltDel());
if (flag('autoconnect', '0')) connect();
else show('Not connected', 'disconnected');
