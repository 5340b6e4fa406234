// Reading the lab's serial log (Xen's COM1: Xen, dom0's hvc0 and the dom0 lab script).
// Pure: text in, report out.

export interface LabCheck {
  name: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
}

export interface SerialReport {
  checks: LabCheck[];
  /** Guest-side phases in the order they ran: name -> seconds. */
  phases: { name: string; seconds: number }[];
  /** dom0 uptime at its /init and at the end of the run. */
  dom0InitAt?: number;
  endCode?: number;
  /** Signs of a crash or of a missing piece that explain an absent END. */
  problems: string[];
}

const PROBLEMS = [
  /Kernel panic[^\n]*/,
  /\(XEN\) [^\n]*(crashed|Panic)[^\n]*/,
  /Initramfs unpacking failed[^\n]*/,
  /Out of memory[^\n]*/,
  /VFS: Unable to mount root[^\n]*/,
];

export function parseSerialLog(text: string): SerialReport {
  const report: SerialReport = { checks: [], phases: [], problems: [] };
  for (const raw of text.split(/\r*\n/)) {
    const at = raw.indexOf('LAB ');
    if (at < 0) continue;
    // A detail quoting a domU console line may carry its CR: not a line end here.
    const line = raw
      .slice(at + 4)
      .replace(/\r/g, ' ')
      .trimEnd();
    let m: RegExpExecArray | null;
    if ((m = /^CHECK (\S+) (PASS|FAIL|SKIP) ?(.*)$/.exec(line))) {
      report.checks.push({ name: m[1]!, status: m[2] as LabCheck['status'], detail: m[3]! });
    } else if (line.startsWith('CHECK ')) {
      // Printed but unreadable: never let a check vanish from the summary.
      report.checks.push({ name: 'unparsed-check', status: 'FAIL', detail: line.slice(0, 300) });
    } else if ((m = /^PHASE (\S+) ([\d.]+)$/.exec(line))) {
      report.phases.push({ name: m[1]!, seconds: Number(m[2]) });
    } else if ((m = /^DOM0 init t=([\d.]+)/.exec(line))) {
      report.dom0InitAt = Number(m[1]);
    } else if ((m = /^END rc=(\d+)/.exec(line))) {
      report.endCode = Number(m[1]);
    }
  }
  for (const re of PROBLEMS) {
    const m = re.exec(text);
    if (m) report.problems.push(m[0].trim());
  }
  return report;
}
