// `xenvfb watch`: one dom0 daemon that watches /local/domain/0/backend/{vfb,vkbd} and runs one
// `xenvfb backend --domid N` process per guest domain that has devices there (separate
// processes: a hostile guest can only take its own console down). A backend that dies is
// restarted with backoff and a limit; the new one reattaches to the live guest. A domain's
// backend is stopped once the toolstack has removed its devices (after libxl's
// online=0 / Closing / Closed teardown, which the running backend answers). When xenstored
// goes away the daemon reconnects with backoff and resynchronises.

import type { ChildProcess } from 'node:child_process';
import { XsClient } from '../../../shared/xenstore/client';
import { spawnXenvfb, stopChild } from '../children';
import { formatHostPort } from '../args';
import { RestartPolicy } from '../restart-policy';
import { EXIT_CONFIG } from '../backend-command';
import { type DomainPorts, portsFor, securityArgsFor, type WatchConfig } from './config';
import { say } from './notify';

const BACKEND_KINDS = ['vfb', 'vkbd'] as const;
/** Reconnect delays to xenstored: doubling from 500 ms to 30 s. */
const XS_RETRY_MIN_MS = 500;
const XS_RETRY_MAX_MS = 30_000;

export type DomainRunState = 'starting' | 'running' | 'waiting' | 'failed' | 'stopping';

interface Managed {
  domid: number;
  state: DomainRunState;
  child?: ChildProcess;
  startedAt: number;
  policy: RestartPolicy;
  ports?: DomainPorts;
  listening?: { vnc: string | null; web: string | null; control?: string; metrics?: string | null };
  restarts: number;
  lastError?: string;
  timer?: NodeJS.Timeout;
}

export interface WatchOptions {
  config: WatchConfig;
  /** Passed to every backend (simulator runs). */
  simDir?: string;
  controlDir?: string;
  xenstorePath?: string;
}

export interface DomainReport {
  domid: number;
  state: DomainRunState;
  pid: number | null;
  vnc: string | null;
  web: string | null;
  metrics: string | null;
  control: string | null;
  restarts: number;
  lastError: string | null;
}

export class WatchDaemon {
  private xs: XsClient | undefined;
  private readonly domains = new Map<number, Managed>();
  private stopping = false;
  private syncing = Promise.resolve();
  private xsRetryMs = XS_RETRY_MIN_MS;
  private readyResolve: () => void = () => undefined;
  /** Resolves after the first synchronisation with xenstore. */
  readonly ready = new Promise<void>((r) => (this.readyResolve = r));

  constructor(private readonly opts: WatchOptions) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopping) return;
    try {
      const xs = await XsClient.connect(this.opts.xenstorePath ? { path: this.opts.xenstorePath } : {});
      this.xs = xs;
      xs.once('close', () => this.lostXenstore());
      for (const kind of BACKEND_KINDS) {
        const w = await xs.watch(`/local/domain/0/backend/${kind}`, `xenvfb-watch-${kind}`);
        w.on('event', () => this.sync());
      }
      this.xsRetryMs = XS_RETRY_MIN_MS;
      say('info', 'xenstore connected; watching /local/domain/0/backend/{vfb,vkbd}');
      this.sync();
    } catch (e) {
      say('warn', `xenstore unavailable (${(e as Error).message}); retrying in ${this.xsRetryMs} ms`);
      setTimeout(() => void this.connect(), this.xsRetryMs).unref();
      this.xsRetryMs = Math.min(XS_RETRY_MAX_MS, this.xsRetryMs * 2);
    }
  }

  private lostXenstore(): void {
    if (this.stopping) return;
    this.xs = undefined;
    say('warn', `xenstore connection lost; reconnecting in ${this.xsRetryMs} ms (backends keep running or restart on their own)`);
    setTimeout(() => void this.connect(), this.xsRetryMs).unref();
    this.xsRetryMs = Math.min(XS_RETRY_MAX_MS, this.xsRetryMs * 2);
  }

  /** Re-read the device directories; one sync at a time. */
  private sync(): void {
    this.syncing = this.syncing
      .then(() => this.syncOnce())
      .then(() => this.readyResolve())
      .catch((e: Error) => say('warn', `device scan failed: ${e.message}`));
  }

  private async syncOnce(): Promise<void> {
    const xs = this.xs;
    if (!xs || this.stopping) return;
    const present = new Set<number>();
    for (const kind of BACKEND_KINDS) {
      const ids = await xs.directory(`/local/domain/0/backend/${kind}`).catch(() => [] as string[]);
      for (const id of ids) if (/^\d+$/.test(id) && Number(id) > 0) present.add(Number(id));
    }
    for (const domid of present) if (!this.domains.has(domid)) this.adopt(domid);
    for (const [domid, m] of this.domains) if (!present.has(domid) && m.state !== 'stopping') void this.release(m, 'its devices are gone');
  }

  private adopt(domid: number): void {
    const { restart } = this.opts.config;
    const m: Managed = {
      domid,
      state: 'starting',
      startedAt: 0,
      policy: new RestartPolicy({ limit: restart.limit, baseMs: restart.baseMs }),
      restarts: 0,
    };
    this.domains.set(domid, m);
    this.spawn(m);
  }

  private vncPortsInUse(except: number): Set<number> {
    const used = new Set<number>();
    for (const m of this.domains.values()) if (m.domid !== except && m.ports) used.add(m.ports.vnc.port);
    return used;
  }

  private spawn(m: Managed): void {
    const { config } = this.opts;
    try {
      m.ports = portsFor(config, m.domid, this.vncPortsInUse(m.domid));
    } catch (e) {
      m.state = 'failed';
      m.lastError = (e as Error).message;
      say('error', `domain ${m.domid}: ${m.lastError}`);
      return;
    }
    const args = ['backend', '--domid', String(m.domid), '--vnc', formatHostPort(m.ports.vnc)];
    if (m.ports.web) args.push('--web', formatHostPort(m.ports.web));
    if (m.ports.metrics) args.push('--metrics', formatHostPort(m.ports.metrics));
    if (m.ports.spice) args.push('--spice', formatHostPort(m.ports.spice));
    args.push(...securityArgsFor(config, m.domid));
    if (config.vncWebsocket === false) args.push('--no-vnc-websocket');
    if (this.opts.simDir) args.push('--sim-dir', this.opts.simDir);
    if (this.opts.controlDir) args.push('--control-dir', this.opts.controlDir);
    m.state = 'starting';
    m.startedAt = Date.now();
    m.listening = undefined;
    let fatal: string | undefined;
    const child = spawnXenvfb(args, {
      onStdoutLine: (line) => {
        let ev: { event?: string; message?: string; vnc?: string | null; web?: string | null; control?: string; metrics?: string | null };
        try {
          ev = JSON.parse(line);
        } catch {
          say('info', `domain ${m.domid}: ${line}`);
          return;
        }
        if (ev.event === 'listening') {
          m.state = 'running';
          m.listening = { vnc: ev.vnc ?? null, web: ev.web ?? null, control: ev.control, metrics: ev.metrics ?? null };
          say('info', `domain ${m.domid}: backend pid ${child.pid} serving VNC ${ev.vnc}${ev.web ? `, web http://${ev.web}/` : ''}`);
        } else if (ev.event === 'fatal') fatal = ev.message;
        else if (ev.event === 'warning') say('warn', `domain ${m.domid}: ${ev.message}`);
      },
      onStderrLine: (line) => process.stderr.write(`domain ${m.domid}: ${line}\n`),
    });
    m.child = child;
    child.once('exit', (code, signal) => this.exited(m, child, code, signal, fatal));
  }

  private exited(m: Managed, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, fatal: string | undefined): void {
    if (m.child !== child) return;
    m.child = undefined;
    if (m.state === 'stopping' || this.stopping) return;
    const how = signal ?? `code ${code}`;
    if (code === EXIT_CONFIG) {
      m.state = 'failed';
      m.lastError = fatal ?? `backend refused its configuration (${how})`;
      say('error', `domain ${m.domid}: ${m.lastError}; not restarting (fix the configuration, then restart xenvfb-watch)`);
      return;
    }
    const d = m.policy.onExit(m.startedAt, Date.now());
    if (d.action === 'give-up') {
      m.state = 'failed';
      m.lastError = `backend exited ${d.failures} times in a row (last: ${how})`;
      say('error', `domain ${m.domid}: ${m.lastError}; giving up until its devices are re-created`);
      return;
    }
    m.state = 'waiting';
    m.restarts++;
    m.lastError = `backend exited (${how})`;
    say('warn', `domain ${m.domid}: ${m.lastError}; restarting in ${d.delayMs} ms (failure ${d.failures})`);
    m.timer = setTimeout(() => {
      m.timer = undefined;
      if (this.domains.get(m.domid) === m && m.state === 'waiting') this.spawn(m);
    }, d.delayMs);
  }

  private async release(m: Managed, why: string): Promise<void> {
    m.state = 'stopping';
    if (m.timer) clearTimeout(m.timer);
    say('info', `domain ${m.domid}: ${why}; stopping its backend${m.child ? ` (pid ${m.child.pid})` : ''}`);
    await stopChild(m.child);
    if (this.domains.get(m.domid) === m) this.domains.delete(m.domid);
  }

  /** The domain's name from xenstore (`/local/domain/N/name`), when connected. */
  async domainName(domid: number): Promise<string | null> {
    return (await this.xs?.tryRead(`/local/domain/${domid}/name`).catch(() => undefined)) ?? null;
  }

  report(): DomainReport[] {
    return [...this.domains.values()]
      .sort((a, b) => a.domid - b.domid)
      .map((m) => ({
        domid: m.domid,
        state: m.state,
        pid: m.child?.pid ?? null,
        vnc: m.listening?.vnc ?? null,
        web: m.listening?.web ?? null,
        metrics: m.listening?.metrics ?? null,
        control: m.listening?.control ?? null,
        restarts: m.restarts,
        lastError: m.lastError ?? null,
      }));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.domains.values()].map((m) => this.release(m, 'xenvfb watch is stopping')));
    this.xs?.close();
  }
}
