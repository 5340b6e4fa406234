// The SPICE command-line flags: the password from a file or the environment (never argv),
// ticketing off only when asked, a warning when that is not on loopback, and the flags passed
// on to the demo's backend child.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spiceArgs, spiceFromFlags } from '../../../scripts/cli/spice-flags';
import { captureLogger } from '../../helpers/capture-logger';
import { SPICE_PASSWORD_ENV } from '../../../backend/spice/ticket';

describe('SPICE flags', function () {
  const spice = { host: '127.0.0.1', port: 5930 };

  it('no --spice: no SPICE server', function () {
    assert.equal(spiceFromFlags({}, undefined, {}), null);
  });

  it('needs a password or --spice-disable-ticketing, and not both', function () {
    assert.throws(() => spiceFromFlags({ spice }, undefined, {}), /SPICE needs a password/);
    assert.throws(
      () => spiceFromFlags({ spice, spiceDisableTicketing: true }, undefined, { [SPICE_PASSWORD_ENV]: 'x' }),
      /exclude each other/,
    );
    assert.deepEqual(spiceFromFlags({ spice, spiceDisableTicketing: true }, undefined, {})?.ticketing, { password: null });
  });

  it('the password comes from the first line of a file, or the environment; a lifetime sets the expiry', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spice-flags-'));
    try {
      const file = path.join(dir, 'pw');
      fs.writeFileSync(file, 'sesame\nignored\n');
      const o = spiceFromFlags({ spice, spicePasswordFile: file, spiceTicketLifetime: 60 }, undefined, {}, 1000);
      assert.deepEqual(o?.ticketing, { password: 'sesame', expiresAt: 61_000 });
      assert.equal(spiceFromFlags({ spice }, undefined, { [SPICE_PASSWORD_ENV]: 'envpw' })?.ticketing.password, 'envpw');
      assert.throws(() => spiceFromFlags({ spice }, undefined, { [SPICE_PASSWORD_ENV]: 'x'.repeat(60) }), /longer than 59/);
      assert.deepEqual(spiceArgs({ spice, spicePasswordFile: file, spiceShared: true }), [
        '--spice',
        '127.0.0.1:5930',
        '--spice-password-file',
        file,
        '--spice-shared',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ticketing off on a non-loopback address is warned about', function () {
    const log = captureLogger();
    spiceFromFlags({ spice: { host: '0.0.0.0', port: 5930 }, spiceDisableTicketing: true }, log.logger, {});
    assert.ok(log.lines.some((l) => l.level === 'warn' && /ticketing is disabled/.test(l.msg)));
    const quiet = captureLogger();
    spiceFromFlags({ spice, spiceDisableTicketing: true }, quiet.logger, {});
    assert.equal(quiet.lines.length, 0);
  });
});
