// `xenvfb capture info|import|export`: look at a capture file and convert to and from
// rfbproxy FBS recordings (docs/capture-format.md). Long conversions show a progress bar
// when stdout is a terminal. Errors name the problem and what to do; exit status 1.

import { Command, InvalidArgumentError } from 'commander';
import { captureInfo, DEFAULT_KEYFRAME_INTERVAL_MS, exportFbsFile, formatCaptureInfo, importFbsFile } from '../../backend/capture/convert';
import { isXenvfbError, type ErrorCode } from '../../shared/errors';
import { parseDomid, parseMegabytes } from './args';
import { type LiveCaptureFlags, runLiveCapture } from './live-capture-command';

const HINTS: Partial<Record<ErrorCode, string>> = {
  CAP_E_BAD_MAGIC: 'is it an FBS recording? convert it with `xenvfb capture import FILE.fbs -o FILE.xvc`',
  CAP_E_BAD_VERSION: 'the file was written by a newer xenvfb; use that version to read it',
  CAP_E_BAD_HEADER: 'the first 32 bytes are damaged; the file cannot be read',
  CAP_E_EMPTY: 'the capture holds no picture (it was cut before its first keyframe)',
  FBS_E_BAD_MAGIC: 'a xenvfb capture is read by `capture info` / `replay`; `import` takes rfbproxy .fbs files',
  FBS_E_BAD_STREAM: 'the recording is damaged or uses an encoding the decoders do not handle',
};

export function captureFail(prefix: string, e: unknown): never {
  if (isXenvfbError(e)) {
    const hint = HINTS[e.code];
    process.stderr.write(`${prefix}: ${e.code}: ${e.message}${hint ? ` (${hint})` : ''}\n`);
  } else {
    const err = e as NodeJS.ErrnoException;
    // Node's fs errors already start with their code ("ENOENT: no such file ...").
    const message = err.message ?? String(e);
    process.stderr.write(`${prefix}: ${err.code && !message.startsWith(err.code) ? `${err.code}: ` : ''}${message}\n`);
  }
  process.exit(1);
}

/** The part of the cli-progress package used here (SingleBar with a preset). */
interface CliProgress {
  SingleBar: new (
    opts: { format: string; hideCursor: boolean; clearOnComplete: boolean },
    preset: unknown,
  ) => { start(total: number, value: number): void; update(value: number): void; stop(): void };
  Presets: { shades_classic: unknown };
}

/** A progress bar on a TTY, nothing otherwise (cli-progress is loaded only for a TTY). */
export function progressBar(label: string): { update: (done: number, total: number) => void; stop: () => void } {
  if (!process.stdout.isTTY) return { update: () => undefined, stop: () => undefined };
  const cliProgress = require('cli-progress') as CliProgress;
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} MB`, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (done, total) => {
      const mb = (n: number): number => Math.round(n / 1e5) / 10;
      if (!started) bar.start(mb(total), 0);
      started = true;
      bar.update(mb(done));
    },
    stop: () => started && bar.stop(),
  };
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n <= 0 || n > 3600) throw new InvalidArgumentError(`expected seconds from 0.001 to 3600, got "${v}"`);
  return n;
}

/**
 * `capture` is both a command (record a live backend: --domid N -o FILE) and a group
 * (info, import, export). Its options are positional (before a subcommand only), so that
 * `capture import X -o Y` gives -o to import; main.ts turns positional options on for the program.
 */
export function registerCaptureCommands(program: Command): void {
  const capture = program
    .command('capture')
    .usage('--domid N -o FILE [--duration S] [--max-size MB] | --domid N --stop | info|import|export ...')
    .description(
      'record a running backend (--domid N -o FILE; the backend writes the file), inspect capture files, and convert them to and from rfbproxy FBS (docs/capture-format.md)',
    )
    .enablePositionalOptions()
    .option('--domid <n>', 'record the display of the backend of this domain', parseDomid)
    .option('-o, --output <file>', 'the capture file the backend writes (FILE.1, FILE.2... when it exists)')
    .option('--duration <s>', 'stop after this many seconds (default: at Ctrl-C or SIGTERM)', parseSeconds)
    .option('--max-size <MB>', 'stop when the file reaches this size', parseMegabytes)
    .option('--stop', 'stop the capture running on that backend (one whose xenvfb capture was killed)')
    .option('--status', 'show the capture running on that backend, or its last one')
    .option('--sim-dir <dir>', 'the simulator directory (its control/ holds the sockets)')
    .option('--control-dir <dir>', 'directory of the control sockets (default /run/xenvfb, or XENVFB_CONTROL_DIR)')
    .addHelpText(
      'after',
      `
Examples:
  xenvfb capture --domid 1 -o /tmp/d1.xvc --duration 10 --sim-dir /dev/shm/xenvfb-demo-XXXX
  xenvfb capture --domid 7 -o /var/tmp/d7.xvc            # until Ctrl-C
  xenvfb capture info /tmp/d1.xvc`,
    )
    .action((o: LiveCaptureFlags) => runLiveCapture(o).catch((e: unknown) => captureFail('xenvfb capture', e)));

  capture
    .command('info')
    .description('print duration, frames, size, geometry and index health of a capture file')
    .argument('<file>', 'a xenvfb capture file')
    .option('--json', 'print one JSON object instead of text')
    .action((file: string, o: { json?: boolean }) => {
      const bar = progressBar('scanning');
      try {
        const info = captureInfo(file, bar.update);
        bar.stop();
        process.stdout.write(o.json ? `${JSON.stringify(info)}\n` : `${formatCaptureInfo(info)}\n`);
      } catch (e) {
        bar.stop();
        captureFail('xenvfb capture info', e);
      }
    });

  capture
    .command('import')
    .description('convert an rfbproxy FBS recording (FBS 001.000/001.001) into a capture file')
    .argument('<file.fbs>', 'the FBS recording')
    .requiredOption('-o, --output <file>', 'the capture file to write (replaced if it exists)')
    .option('--keyframe-interval <s>', `seconds between keyframes (default ${DEFAULT_KEYFRAME_INTERVAL_MS / 1000})`, parseSeconds)
    .action((file: string, o: { output: string; keyframeInterval?: number }) => {
      const bar = progressBar('decoding');
      try {
        const s = importFbsFile(file, o.output, {
          keyframeIntervalMs: o.keyframeInterval ? Math.round(o.keyframeInterval * 1000) : undefined,
          progress: bar.update,
        });
        bar.stop();
        const rects = Object.entries(s.rects)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ');
        process.stdout.write(
          `${o.output}: ${s.width}x${s.height} "${s.name}", ${s.updates} updates (${rects || 'no rects'}), ${(s.durationMs / 1000).toFixed(3)} s\n`,
        );
        if (s.truncated) process.stdout.write(`warning: ${s.truncated.code}: ${s.truncated.message}; imported what came before\n`);
      } catch (e) {
        bar.stop();
        captureFail('xenvfb capture import', e);
      }
    });

  capture
    .command('export')
    .description('convert a capture file into an rfbproxy FBS 001.001 recording (Raw and CopyRect rects)')
    .argument('<file>', 'the capture file')
    .requiredOption('-o, --output <file.fbs>', 'the FBS file to write (replaced if it exists)')
    .action((file: string, o: { output: string }) => {
      const bar = progressBar('encoding');
      try {
        const s = exportFbsFile(file, o.output, bar.update);
        bar.stop();
        process.stdout.write(`${o.output}: ${s.updates} updates, ${(s.bytes / 1e6).toFixed(2)} MB\n`);
      } catch (e) {
        bar.stop();
        captureFail('xenvfb capture export', e);
      }
    });
}
