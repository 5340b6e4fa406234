// The one way a server handler refuses a request: a typed error carrying the xenstore errno
// that the engine turns into an XS_ERROR reply.

import { xerror } from '../../errors';
import type { XsErrno } from '../wire';

/** Abort the current request with an XS_ERROR reply carrying `errno`. */
export function failWith(errno: XsErrno, why: string): Error {
  return xerror('XS_E_REPLY', `${errno}: ${why}`, { errno });
}
