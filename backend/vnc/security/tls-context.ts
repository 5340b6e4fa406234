// TLS for the VeNCrypt subtypes, on the adapter side (it reads PEM files). The TLS* subtypes
// are anonymous: no certificate, so only the aNULL suites, which exist in TLS 1.2 but not 1.3
// and which OpenSSL 3 keeps below security level 0. Verified with xtigervncviewer (GnuTLS),
// which negotiates AECDH-AES256-SHA. The X509* subtypes use the configured certificate.

import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { xerror } from '../../../shared/errors';
import { type SecurityConfig, type TlsKind, usesTls } from './options';

export const ANON_TLS_CIPHERS = 'aNULL:@SECLEVEL=0';

export type TlsContexts = Partial<Record<TlsKind, tls.SecureContext>>;

/** Build the contexts the offered types need, reading the certificate and key once, now. */
export function createTlsContexts(config: SecurityConfig, files: { cert?: string; key?: string } = {}): TlsContexts {
  const contexts: TlsContexts = {};
  if (usesTls(config, 'anon')) {
    contexts.anon = tls.createSecureContext({
      ciphers: ANON_TLS_CIPHERS,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      dhparam: 'auto',
    });
  }
  if (usesTls(config, 'x509')) {
    contexts.x509 = tls.createSecureContext({
      cert: readPem(files.cert, 'certificate'),
      key: readPem(files.key, 'key'),
      minVersion: 'TLSv1.2',
    });
  }
  return contexts;
}

function readPem(file: string | undefined, what: string): Buffer {
  if (!file) throw xerror('RFB_E_SECURITY_CONFIG', `no TLS ${what} file given`);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw xerror('RFB_E_SECURITY_CONFIG', `cannot read TLS ${what} ${file}: ${err.message}`, {
      file,
      errno: err.errno,
      syscall: err.syscall,
    });
  }
}

/** Put TLS under an accepted socket, server side (VeNCrypt: after the subtype ack). */
export function wrapServerTls(socket: import('node:net').Socket, context: tls.SecureContext): tls.TLSSocket {
  return new tls.TLSSocket(socket, { isServer: true, secureContext: context });
}
