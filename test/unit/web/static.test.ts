import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { type Mount, resolveStatic, WEB_MAX_PATH } from '../../../backend/web/static';

const ROOT = path.resolve('/srv/novnc');
const mounts: Mount[] = [
  { path: '/vnc.html', file: '/srv/page/vnc.html' },
  { prefix: '/core/', dir: path.join(ROOT, 'core') },
];

describe('web/static resolveStatic', () => {
  it('exact paths and files under a prefix, with JavaScript as a module MIME type', () => {
    assert.deepEqual(resolveStatic('/vnc.html', mounts), { file: '/srv/page/vnc.html', mime: 'text/html; charset=utf-8' });
    assert.deepEqual(resolveStatic('/core/util/events.js', mounts), {
      file: path.join(ROOT, 'core/util/events.js'),
      mime: 'text/javascript; charset=utf-8',
    });
  });

  it('percent-escapes are decoded once', () => {
    assert.deepEqual(resolveStatic('/core/a%20b.js', mounts), {
      file: path.join(ROOT, 'core/a b.js'),
      mime: 'text/javascript; charset=utf-8',
    });
  });

  for (const p of [
    '/core/../package.json',
    '/core/%2e%2e/package.json',
    '/core/..%2f..%2fetc/passwd.js',
    '/core/a/../../x.js',
    '/core/',
    '/core/..',
  ]) {
    it(`refuses ${p}`, () => {
      const r = resolveStatic(p, mounts);
      assert.ok('status' in r, JSON.stringify(r));
    });
  }

  it('a path that stays inside after ".." is fine', () => {
    assert.deepEqual(resolveStatic('/core/x/../rfb.js', mounts), {
      file: path.join(ROOT, 'core/rfb.js'),
      mime: 'text/javascript; charset=utf-8',
    });
  });

  it('NUL, backslashes and bad escapes are 400', () => {
    for (const p of ['/core/rfb.js%00', '/core/..%5c..%5cx.js', '/core/%zz.js', 'core/rfb.js'])
      assert.deepEqual(resolveStatic(p, mounts), { status: 400 }, p);
  });

  it('unknown extensions and unmounted paths are 404', () => {
    assert.deepEqual(resolveStatic('/core/secret.key', mounts), { status: 404 });
    assert.deepEqual(resolveStatic('/etc/passwd', mounts), { status: 404 });
  });

  it(`paths up to WEB_MAX_PATH (${WEB_MAX_PATH}) are considered, one longer is 400`, () => {
    const at = `/core/${'a'.repeat(WEB_MAX_PATH - '/core/'.length - 3)}.js`;
    assert.equal(at.length, WEB_MAX_PATH);
    assert.ok('file' in resolveStatic(at, mounts));
    assert.deepEqual(resolveStatic(`/core/a${at.slice('/core/'.length)}`, mounts), { status: 400 });
  });
});
