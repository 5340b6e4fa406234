// A Logger that records what it is given, for tests that check what was logged.

import type { Logger } from '../../shared/log';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  obj: Record<string, unknown>;
}

export interface CapturedLog {
  logger: Logger;
  lines: LogLine[];
}

export function captureLogger(): CapturedLog {
  const lines: LogLine[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: LogLine['level']) =>
      (obj: object | string, msg?: string): void => {
        if (typeof obj === 'string') lines.push({ level, msg: obj, obj: { ...bindings } });
        else lines.push({ level, msg: msg ?? '', obj: { ...bindings, ...(obj as Record<string, unknown>) } });
      };
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => make({ ...bindings, ...b }) };
  };
  return { logger: make({}), lines };
}
