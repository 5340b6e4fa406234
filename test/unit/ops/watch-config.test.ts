// The watch daemon's JSON config (errors name the key) and port policy (base + domid, a
// range, fixed per domain), and its journald-friendly log lines.

import { strict as assert } from 'node:assert';
import { isXenvfbError } from '../../../shared/errors';
import { DEFAULT_WATCH_CONFIG, parseWatchConfig, portsFor, securityArgsFor } from '../../../scripts/cli/watch/config';
import { logLine } from '../../../scripts/cli/watch/notify';

function badKey(json: unknown): string {
  try {
    parseWatchConfig(json);
  } catch (e) {
    assert.ok(isXenvfbError(e, 'CFG_E_INVALID'), String(e));
    return e.details.key as string;
  }
  assert.fail('accepted');
}

describe('watch config', function () {
  it('names the offending key', function () {
    assert.equal(badKey([]), '(top level)');
    assert.equal(badKey({ lisen: '0.0.0.0' }), 'lisen');
    assert.equal(badKey({ ports: { policy: 'base', base: 70000 } }), 'ports.base');
    assert.equal(badKey({ ports: { policy: 'range', from: 5999, to: 5900 } }), 'ports.to');
    assert.equal(badKey({ ports: { policy: 'nearest' } }), 'ports.policy');
    assert.equal(badKey({ web: { base: 'x' } }), 'web.base');
    assert.equal(badKey({ restart: { limit: -1 } }), 'restart.limit');
    assert.equal(badKey({ domains: { '0': {} } }), 'domains.0');
    assert.equal(badKey({ domains: { '5': { vnc: '5905' } } }), 'domains.5.vnc');
    assert.equal(badKey({ domains: { '5': { vnc: '0.0.0.0:5905' }, '6': { vnc: '0.0.0.0:5905' } } }), 'domains.6.vnc');
    assert.equal(badKey({ domains: { '5': { colour: 'red' } } }), 'domains.5.colour');
  });

  it('base + domid, with web and metrics beside it, and the limit past port 65535', function () {
    const cfg = parseWatchConfig({ listen: '0.0.0.0', web: { base: 6080 }, metrics: { base: 9600 } });
    assert.deepEqual(portsFor(cfg, 7, new Set()), {
      vnc: { host: '0.0.0.0', port: 5907 },
      web: { host: '0.0.0.0', port: 6087 },
      metrics: { host: '0.0.0.0', port: 9607 },
      spice: null,
    });
    const high = parseWatchConfig({ ports: { policy: 'base', base: 65000 } });
    assert.throws(
      () => portsFor(high, 600, new Set()),
      (e: unknown) => isXenvfbError(e, 'CFG_E_INVALID') && e.details.key === 'ports.base',
    );
  });

  it('a range gives the lowest free port and says when it is exhausted', function () {
    const cfg = parseWatchConfig({ ports: { policy: 'range', from: 5900, to: 5902 } });
    assert.equal(portsFor(cfg, 40, new Set([5900])).vnc.port, 5901);
    assert.throws(() => portsFor(cfg, 40, new Set([5900, 5901, 5902])), /every VNC port in 5900-5902 is taken/);
  });

  it('a domain fixed in the config keeps its own address and security files', function () {
    const cfg = parseWatchConfig({
      passwordFile: '/etc/xenvfb/pw',
      domains: { '9': { vnc: '[::1]:5999', passwordFile: '/etc/xenvfb/pw9', security: 'vnc' } },
    });
    assert.deepEqual(portsFor(cfg, 9, new Set()).vnc, { host: '::1', port: 5999 });
    assert.deepEqual(securityArgsFor(cfg, 9), ['--password-file', '/etc/xenvfb/pw9', '--security', 'vnc']);
    assert.deepEqual(securityArgsFor(cfg, 3), ['--password-file', '/etc/xenvfb/pw']);
    assert.equal(DEFAULT_WATCH_CONFIG.domains.size, 0, 'the defaults are not modified');
  });

  it('vncWebsocket: a boolean, unset by default', function () {
    assert.equal(parseWatchConfig({}).vncWebsocket, undefined);
    assert.equal(parseWatchConfig({ vncWebsocket: false }).vncWebsocket, false);
    assert.equal(badKey({ vncWebsocket: 'no' }), 'vncWebsocket');
  });

  it('SPICE at base + domid needs a ticket file or disableTicketing', function () {
    assert.equal(badKey({ spice: { base: 5930 } }), 'spice');
    assert.equal(badKey({ spice: { base: 5930, disableTicketing: 'yes' } }), 'spice.disableTicketing');
    const cfg = parseWatchConfig({ spice: { base: 5930, passwordFile: '/etc/xenvfb/spice' } });
    assert.deepEqual(portsFor(cfg, 4, new Set()).spice, { host: '127.0.0.1', port: 5934 });
    assert.deepEqual(securityArgsFor(cfg, 4), ['--spice-password-file', '/etc/xenvfb/spice']);
    assert.equal(portsFor(parseWatchConfig({}), 4, new Set()).spice, null);
  });

  it('log lines carry sd-daemon priorities only when stdout is the journal', function () {
    assert.equal(logLine('error', 'x', { JOURNAL_STREAM: '8:1' }), '<3>x');
    assert.equal(logLine('info', 'x', { JOURNAL_STREAM: '8:1' }), '<6>x');
    assert.equal(logLine('warn', 'x', {}), 'warn: x');
    assert.equal(logLine('info', 'x', {}), 'x');
  });
});
