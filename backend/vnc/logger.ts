// The logger the VNC code takes: pino's object-first signature, so a pino logger (or a
// child of one) can be passed as is. The default drops everything.

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const drop = (): void => undefined;

export const noopLogger: Logger = { info: drop, warn: drop, debug: drop, error: drop };

/** A logger that adds `fields` to every record (like pino's child(), for any Logger). */
export function withFields(log: Logger, fields: object): Logger {
  return {
    info: (obj, msg) => log.info({ ...fields, ...obj }, msg),
    warn: (obj, msg) => log.warn({ ...fields, ...obj }, msg),
    debug: (obj, msg) => log.debug({ ...fields, ...obj }, msg),
    error: (obj, msg) => log.error({ ...fields, ...obj }, msg),
  };
}
