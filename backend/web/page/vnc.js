// The page's logic: build the WebSocket URL from the query string (defaulting to the origin
// the page came from) and drive one noVNC RFB object, with the controls a console needs:
// disconnect, reconnect with backoff, keys the browser keeps for itself (Ctrl-Alt-Del,
// Ctrl-Alt-Fn, Esc, Tab), text typed as keystrokes (a PV guest has no clipboard channel),
// scaling, view-only, fullscreen. `window.xenvfb` shows the state to tests and to the console.
import RFB from './core/rfb.js';
import KeyTable from './core/input/keysym.js';
import keysyms from './core/input/keysymdef.js';

const params = new URLSearchParams(window.location.search);
const $ = (id) => document.getElementById(id);
const status = $('status');
const state = { status: 'disconnected', desktopName: '', url: '', rfb: null, reconnects: 0, typed: 0 };
window.xenvfb = state;

/** Reconnect delays after a lost connection: 1 s doubling up to 30 s. */
const RECONNECT_FIRST_MS = 1000;
const RECONNECT_MAX_MS = 30000;
/** Keystrokes per batch when typing text, and the pause between batches (the guest's ring is small). */
const TYPE_BATCH = 16;
const TYPE_PAUSE_MS = 40;

let reconnectTimer = null;
let reconnectDelay = RECONNECT_FIRST_MS;
let userClosed = false;

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
  const connected = next === 'connected';
  $('connect').hidden = next !== 'disconnected';
  $('disconnect').disabled = next === 'disconnected';
  for (const id of ['cad', 'keys', 'paste']) $(id).disabled = !connected || $('view-only').checked;
}

function connect() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  userClosed = false;
  state.url = websocketUrl();
  show(`Connecting to ${state.url}`, 'connecting');
  const password = params.get('password');
  const rfb = new RFB($('screen'), state.url, {
    shared: flag('shared', '1'),
    credentials: password === null ? undefined : { password },
  });
  const resize = setting('resize', 'off');
  rfb.scaleViewport = $('scale').checked;
  rfb.resizeSession = resize === 'remote';
  rfb.viewOnly = $('view-only').checked;
  rfb.addEventListener('connect', () => {
    reconnectDelay = RECONNECT_FIRST_MS;
    show(`Connected${state.desktopName ? `: ${state.desktopName}` : ''}`, 'connected');
    rfb.focus();
  });
  rfb.addEventListener('disconnect', (e) => {
    state.rfb = null;
    if (userClosed || !flag('reconnect', '1')) return show(e.detail.clean ? 'Disconnected' : 'Connection lost', 'disconnected');
    scheduleReconnect(e.detail.clean ? 'Disconnected' : 'Connection lost');
  });
  rfb.addEventListener('credentialsrequired', () => {
    const answer = window.prompt('VNC password');
    if (answer === null) disconnect();
    else rfb.sendCredentials({ password: answer });
  });
  rfb.addEventListener('securityfailure', (e) => {
    // A wrong password will not get better by retrying: stop here.
    userClosed = true;
    show(`Security failure: ${e.detail.reason ?? e.detail.status}`, 'disconnected');
  });
  rfb.addEventListener('desktopname', (e) => {
    state.desktopName = e.detail.name;
    document.title = `${e.detail.name} - xenvfb`;
  });
  state.rfb = rfb;
}

function scheduleReconnect(why) {
  const delay = reconnectDelay;
  reconnectDelay = Math.min(RECONNECT_MAX_MS, reconnectDelay * 2);
  state.reconnects += 1;
  show(`${why}; reconnecting in ${Math.round(delay / 1000)} s`, 'reconnecting');
  reconnectTimer = setTimeout(connect, delay);
}

function disconnect() {
  userClosed = true;
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  if (state.rfb) state.rfb.disconnect();
  else show('Disconnected', 'disconnected');
}

/** Press the modifiers, tap the key, release the modifiers in reverse order. */
function combo(modifiers, keysym, code) {
  const rfb = state.rfb;
  if (!rfb) return;
  for (const [sym, c] of modifiers) rfb.sendKey(sym, c, true);
  rfb.sendKey(keysym, code);
  for (const [sym, c] of [...modifiers].reverse()) rfb.sendKey(sym, c, false);
}

const CTRL_ALT = [
  [KeyTable.XK_Control_L, 'ControlLeft'],
  [KeyTable.XK_Alt_L, 'AltLeft'],
];

function sendNamedKey(name) {
  if (name === 'Escape') return combo([], KeyTable.XK_Escape, 'Escape');
  if (name === 'Tab') return combo([], KeyTable.XK_Tab, 'Tab');
  const f = /^ctrl-alt-F(\d+)$/.exec(name);
  if (f) return combo(CTRL_ALT, KeyTable.XK_F1 + Number(f[1]) - 1, `F${f[1]}`);
}

/** Keysyms for text: Return for newlines, Tab, else the character's keysym. */
function textKeysyms(text) {
  const out = [];
  for (const ch of text.replace(/\r\n?/g, '\n')) {
    if (ch === '\n') out.push(KeyTable.XK_Return);
    else if (ch === '\t') out.push(KeyTable.XK_Tab);
    else out.push(keysyms.lookup(ch.codePointAt(0)));
  }
  return out;
}

/** Type text as keysym presses (no scancodes: the server gives each the Shift it needs), paced. */
async function typeText(text) {
  const list = textKeysyms(text);
  for (let i = 0; i < list.length; i += TYPE_BATCH) {
    if (!state.rfb) return;
    for (const sym of list.slice(i, i + TYPE_BATCH)) {
      state.rfb.sendKey(sym, null);
      state.typed += 1;
    }
    await new Promise((r) => setTimeout(r, TYPE_PAUSE_MS));
  }
}

$('connect').addEventListener('click', connect);
$('disconnect').addEventListener('click', disconnect);
$('cad').addEventListener('click', () => state.rfb?.sendCtrlAltDel());
$('keys').addEventListener('change', (e) => {
  sendNamedKey(e.target.value);
  e.target.value = '';
  state.rfb?.focus();
});
$('paste').addEventListener('click', () => {
  $('paste-box').hidden = !$('paste-box').hidden;
  if (!$('paste-box').hidden) $('paste-text').focus();
});
$('paste-send').addEventListener('click', async () => {
  const text = $('paste-text').value;
  $('paste-text').value = '';
  $('paste-box').hidden = true;
  await typeText(text);
  state.rfb?.focus();
});
$('scale').addEventListener('change', (e) => {
  if (state.rfb) state.rfb.scaleViewport = e.target.checked;
});
$('view-only').addEventListener('change', (e) => {
  if (state.rfb) state.rfb.viewOnly = e.target.checked;
  show(status.textContent, state.status);
});
$('fullscreen').addEventListener('click', () => {
  if (document.fullscreenElement) void document.exitFullscreen();
  else void document.documentElement.requestFullscreen?.();
});

$('scale').checked = setting('resize', 'off') === 'scale';
$('view-only').checked = flag('view_only', '0');
if (flag('autoconnect', '0')) connect();
else show('Not connected', 'disconnected');
