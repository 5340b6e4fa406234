// systemd integration without a native library: readiness through `systemd-notify --ready`
// (the unit sets NotifyAccess=all, since the notification comes from that helper process),
// and log lines with sd-daemon(3) priority prefixes ("<3>" error ... "<7>" debug) when
// stdout is the journal (JOURNAL_STREAM is set), plain lines otherwise.

import { execFile } from 'node:child_process';

export type Level = 'error' | 'warn' | 'info' | 'debug';
const PRIORITY: Record<Level, number> = { error: 3, warn: 4, info: 6, debug: 7 };

export function logLine(level: Level, msg: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.JOURNAL_STREAM ? `<${PRIORITY[level]}>${msg}` : `${level === 'info' ? '' : `${level}: `}${msg}`;
}

export function say(level: Level, msg: string): void {
  const line = `${logLine(level, msg)}\n`;
  if (level === 'error' || level === 'warn') process.stderr.write(line);
  else process.stdout.write(line);
}

/** Tells systemd we are ready (Type=notify); a no-op outside systemd. */
export function notifyReady(status: string, env: NodeJS.ProcessEnv = process.env): void {
  if (!env.NOTIFY_SOCKET) return;
  execFile('systemd-notify', ['--ready', `--pid=${process.pid}`, `--status=${status}`], (err) => {
    if (err) say('warn', `systemd-notify failed (${err.message}); is NotifyAccess=all set in the unit?`);
  });
}
