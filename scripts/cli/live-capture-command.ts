// `xenvfb capture --domid N -o FILE [--duration S] [--max-size MB]`: record a running backend.
// The backend writes the file (capture-start on its control socket); this command waits for
// --duration, Ctrl-C or SIGTERM, stops the capture and prints what it holds. A backend that
// goes away mid-capture leaves a file that reads back to its last complete record.
// `--stop` ends a capture left running (its starter was killed); `--status` shows it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { controlRequest } from '../../backend/control/client';
import type { CaptureStatus } from '../../backend/capture/live-capture';
import { isXenvfbError, xerror } from '../../shared/errors';
import { backendSocketPath, controlDir } from './control-paths';

export interface LiveCaptureFlags {
  domid?: number;
  output?: string;
  duration?: number;
  maxSize?: number;
  stop?: boolean;
  status?: boolean;
  simDir?: string;
  controlDir?: string;
}

/** How often the command asks whether the capture still runs (size limit, backend gone). */
const POLL_MS = 500;

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function formatCaptureSummary(s: CaptureStatus): string {
  const why = s.recording ? 'recording' : !s.stoppedBecause || s.stoppedBecause === 'closed' ? 'stopped' : `stopped: ${s.stoppedBecause}`;
  return `${s.path}: ${s.frames} frames, ${s.records} records, ${(s.bytes / 1e6).toFixed(2)} MB, ${(s.durationMs / 1000).toFixed(3)} s (${why})`;
}

/** The control request, with what to do when nobody answers. */
async function ask(socket: string, domid: number, req: Record<string, unknown>): Promise<unknown> {
  try {
    return await controlRequest(socket, req);
  } catch (e) {
    if (isXenvfbError(e, 'CTL_E_CONNECT')) {
      throw xerror(
        'CTL_E_CONNECT',
        `${e.message}. Is \`xenvfb backend --domid ${domid}\` running? For the simulator or the demo pass --sim-dir DIR (the demo prints it); elsewhere --control-dir DIR`,
        e.details,
      );
    }
    if (isXenvfbError(e, 'CTL_E_FAILED') && typeof e.details.remoteCode === 'string' && e.details.remoteCode.startsWith('CAP_E_')) {
      throw xerror(e.details.remoteCode as 'CAP_E_BUSY', e.message, e.details);
    }
    throw e;
  }
}

export async function runLiveCapture(o: LiveCaptureFlags): Promise<void> {
  if (o.domid === undefined) {
    throw xerror('CLI_E_USAGE', 'capture a running backend with --domid N -o FILE, or use a subcommand: info, import, export');
  }
  const socket = backendSocketPath(o.controlDir ? path.resolve(o.controlDir) : controlDir(o.simDir), o.domid);
  if (o.status) {
    const s = (await ask(socket, o.domid, { op: 'capture-status' })) as CaptureStatus | null;
    out(s ? formatCaptureSummary(s) : `domain ${o.domid}: no capture since the backend started`);
    return;
  }
  if (o.stop) {
    const s = (await ask(socket, o.domid, { op: 'capture-stop' })) as CaptureStatus;
    out(formatCaptureSummary(s));
    return;
  }
  if (!o.output) throw xerror('CLI_E_USAGE', 'capture --domid N needs -o FILE (the capture file to write)');
  const file = path.resolve(o.output);
  const dir = path.dirname(file);
  if (!fs.existsSync(dir)) throw xerror('CAP_E_WRITE', `cannot write the capture file ${file}: directory ${dir} does not exist`);
  const started = (await ask(socket, o.domid, {
    op: 'capture-start',
    path: file,
    ...(o.maxSize ? { maxBytes: Math.round(o.maxSize * 1e6) } : {}),
    ...(o.duration ? { maxMs: Math.round(o.duration * 1000) } : {}),
  })) as CaptureStatus;
  if (started.path !== file) out(`${file} exists: recording to ${started.path}`);
  out(
    `domain ${o.domid}: recording to ${started.path}${o.duration ? ` for ${o.duration} s` : ''}${o.maxSize ? ` (at most ${o.maxSize} MB)` : ''}; Ctrl-C stops`,
  );
  const final = await waitForEnd(socket, o.domid, started.path);
  out(formatCaptureSummary(final));
}

/** Until the backend stopped the capture itself (duration, size limit) or a signal came; then the final status. */
async function waitForEnd(socket: string, domid: number, file: string): Promise<CaptureStatus> {
  let signalled = false;
  let wake: () => void = () => undefined;
  const onSignal = (): void => {
    signalled = true;
    wake();
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const sig of signals) process.on(sig, onSignal);
  try {
    for (;;) {
      if (signalled) {
        try {
          return (await ask(socket, domid, { op: 'capture-stop', path: file })) as CaptureStatus;
        } catch (e) {
          // It ended on its own (duration, size limit) while the signal came: report that.
          const s = (await ask(socket, domid, { op: 'capture-status' })) as CaptureStatus | null;
          if (s && s.path === file && !s.recording) return s;
          throw e;
        }
      }
      let s: CaptureStatus | null;
      try {
        s = (await ask(socket, domid, { op: 'capture-status' })) as CaptureStatus | null;
      } catch (e) {
        if (!isXenvfbError(e, 'CTL_E_CONNECT')) throw e;
        throw xerror(
          'CTL_E_CONNECT',
          `the backend of domain ${domid} stopped answering during the capture; ${file} reads back to its last complete record (xenvfb capture info ${file})`,
        );
      }
      if (!s || s.path !== file) throw xerror('CTL_E_FAILED', `domain ${domid}: the capture to ${file} was replaced by another one`);
      if (!s.recording) return s;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, POLL_MS);
      });
    }
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
  }
}
