// Where the VNC password comes from: a file (first line) or an environment variable, never
// the command line, where every user of the host could read it in the process list.

import * as fs from 'node:fs';
import { xerror } from '../../../shared/errors';

export const VNC_PASSWORD_ENV = 'XENVFB_VNC_PASSWORD';

/** The first line of `file`, without its line ending. */
export function readPasswordFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw xerror('RFB_E_SECURITY_CONFIG', `cannot read password file ${file}: ${err.message}`, {
      file,
      errno: err.errno,
      syscall: err.syscall,
    });
  }
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  if (line.length === 0) throw xerror('RFB_E_SECURITY_CONFIG', `password file ${file} has an empty first line`, { file });
  return line;
}

/** --password-file wins over XENVFB_VNC_PASSWORD; undefined when neither is set. */
export function loadVncPassword(file: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (file !== undefined) return readPasswordFile(file);
  const fromEnv = env[VNC_PASSWORD_ENV];
  return fromEnv !== undefined && fromEnv.length > 0 ? fromEnv : undefined;
}
