// What the benchmarks read from /proc about a process (proc(5)): CPU time of the whole
// thread group, resident memory, context switches of every thread. Parsers are pure; the
// readers return undefined once the process is gone.

import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Clock ticks per second of /proc times (sysconf(_SC_CLK_TCK)); 100 on every Linux build we know. */
let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * utime + stime from a /proc/PID/stat line, in ticks. For a process (not a task) these count
 * every thread, so a server's worker threads are included. Field 2 (comm) is in parentheses
 * and may hold spaces or ')': the fields after it are counted from the last ')'.
 * Layout after comm: state(3) ppid(4) ... utime(14) stime(15).
 */
export function parseStatTicks(stat: string): number {
  const close = stat.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/PID/stat line');
  const fields = stat
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('no utime/stime in /proc/PID/stat');
  return utime + stime;
}

/** CPU time (user + system, all threads) of a process in ms, or undefined if it is gone. */
export function cpuMs(pid: number): number | undefined {
  try {
    return (parseStatTicks(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')) * 1000) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/**
 * CPU time in ns summed over every thread, from /proc/PID/task/TID/schedstat (first field:
 * time spent on the CPU, in ns; needs CONFIG_SCHED_INFO, which Debian kernels have). Finer
 * than the 10 ms ticks of /proc/PID/stat, which an idle process never reaches in 30 s.
 * Threads that ended in between are not counted; undefined if the process is gone.
 */
export function cpuNs(pid: number): number | undefined {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let sum = 0;
  for (const tid of tids) {
    try {
      sum += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) || 0;
    } catch {
      // the thread ended between readdir and read
    }
  }
  return sum;
}

/** A `Name:  value kB` field of /proc/PID/status as a number (kB for the Vm* fields). */
export function parseStatusField(status: string, name: string): number | undefined {
  const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
  return m ? Number(m[1]) : undefined;
}

/** Resident set size in kB (VmRSS), or undefined if the process is gone. */
export function rssKb(pid: number): number | undefined {
  try {
    return parseStatusField(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
  } catch {
    return undefined;
  }
}

/**
 * Voluntary context switches summed over every thread (/proc/PID/task/TID/status): each is
 * a thread that went to sleep and was woken again, so over an idle spell it counts wake-ups.
 * Threads that ended in between are not counted; undefined if the process is gone.
 */
export function voluntarySwitches(pid: number): number | undefined {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let sum = 0;
  for (const tid of tids) {
    try {
      sum += parseStatusField(fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'), 'voluntary_ctxt_switches') ?? 0;
    } catch {
      // the thread ended between readdir and read
    }
  }
  return sum;
}

/** Child processes of `pid` (from /proc/PID/task/* /children, Linux 3.5+). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}
