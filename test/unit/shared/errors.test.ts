import { strict as assert } from 'node:assert';
import { errorCode, xerror } from '../../../shared/errors';

describe('errorCode', () => {
  it('reads the code of our typed errors, Node errors and plain objects', () => {
    assert.equal(errorCode(xerror('XS_E_CLOSED')), 'XS_E_CLOSED');
    const enoent = Object.assign(new Error('gone'), { code: 'ENOENT' });
    assert.equal(errorCode(enoent), 'ENOENT');
    assert.equal(errorCode({ code: 'EAGAIN' }), 'EAGAIN');
  });

  it('gives undefined for anything without a string code', () => {
    for (const v of [undefined, null, 0, 'ENOENT', new Error('x'), { code: 5 }, { code: undefined }]) {
      assert.equal(errorCode(v), undefined, String(v));
    }
  });
});
