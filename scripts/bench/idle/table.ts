// The bench:idle report: one row per domain, then totals and the targets of issue 14.
// Pure: samples in, text out.

export interface DomainSample {
  domid: number;
  pid: number;
  /** Backend resident set (VmRSS), kB. */
  rssKb?: number;
  /** Backend CPU over the window as a share of one core (0.0002 = 0.02%). */
  cpuShare?: number;
  /** Backend voluntary context switches per second, all threads. */
  wakeupsPerSec?: number;
  guestRssKb?: number;
  guestCpuShare?: number;
}

/** Issue 14's targets for one idle backend with no client. */
export const IDLE_TARGETS = { rssMb: 64, cpuPercent: 0.02 };

const mb = (kb: number | undefined) => (kb === undefined ? '-' : (kb / 1024).toFixed(1));
const pct = (share: number | undefined) => (share === undefined ? '-' : (share * 100).toFixed(3));
const num = (v: number | undefined, d = 2) => (v === undefined ? '-' : v.toFixed(d));

function stats(values: Array<number | undefined>): { min: number; median: number; max: number; sum: number; n: number } {
  const v = values.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  if (v.length === 0) return { min: NaN, median: NaN, max: NaN, sum: NaN, n: 0 };
  const mid = v.length >> 1;
  return {
    min: v[0]!,
    median: v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2,
    max: v[v.length - 1]!,
    sum: v.reduce((a, b) => a + b, 0),
    n: v.length,
  };
}

function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padStart(widths[i]!)).join('  ')).join('\n');
}

export function formatIdleTable(
  samples: DomainSample[],
  ctx: { windowS: number; simShare?: number; simRssKb?: number; mode: string },
): string {
  const rows: string[][] = [['domain', 'backend pid', 'RSS MB', 'CPU % core', 'wake-ups/s', 'guest RSS MB', 'guest CPU %']];
  for (const s of samples) {
    rows.push([String(s.domid), String(s.pid), mb(s.rssKb), pct(s.cpuShare), num(s.wakeupsPerSec), mb(s.guestRssKb), pct(s.guestCpuShare)]);
  }
  const rss = stats(samples.map((s) => s.rssKb));
  const cpu = stats(samples.map((s) => s.cpuShare));
  const wake = stats(samples.map((s) => s.wakeupsPerSec));
  const gone = samples.length - rss.n;
  const rssOk = rss.max / 1024 <= IDLE_TARGETS.rssMb;
  const cpuOk = cpu.max * 100 < IDLE_TARGETS.cpuPercent;
  const lines = [
    columns(rows),
    '',
    `${samples.length} idle backends (${ctx.mode}), no VNC client, measured over ${ctx.windowS.toFixed(1)} s:`,
    `  RSS MB        min ${mb(rss.min)}  median ${mb(rss.median)}  max ${mb(rss.max)}  total ${mb(rss.sum)}   target <= ${IDLE_TARGETS.rssMb} per domain: ${rssOk ? 'met' : 'NOT met'}`,
    `  CPU % core    min ${pct(cpu.min)}  median ${pct(cpu.median)}  max ${pct(cpu.max)}  total ${pct(cpu.sum)}   target < ${IDLE_TARGETS.cpuPercent} per domain: ${cpuOk ? 'met' : 'NOT met'}`,
    `  wake-ups/s    min ${num(wake.min)}  median ${num(wake.median)}  max ${num(wake.max)}  total ${num(wake.sum)}   (voluntary context switches, all threads)`,
    `  simulator (xenstored, grants, event channels; not part of a real dom0 backend): CPU ${pct(ctx.simShare)}% of a core, RSS ${mb(ctx.simRssKb)} MB`,
  ];
  if (gone > 0) lines.push(`  ${gone} backend(s) exited before the end: see --verbose`);
  return `${lines.join('\n')}\n`;
}
