// Mocha root hooks (loaded by .mocharc.json for every run).
//
// After the last test, any child process a suite left running is listed and killed: a child
// whose pipes stay open keeps Node's loop alive, and mocha would wait on it after printing its
// summary (a CI run once hung that way for the rest of its time). `.mocharc.json` also sets
// `exit: true`, so a leaked socket or timer cannot hold the run either; this list says what
// leaked instead of leaving it silent.

import * as fs from 'node:fs';

function childPids(): { pid: number; name: string }[] {
  const out: { pid: number; name: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split at the last ')'.
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (ppid === process.pid) out.push({ pid: Number(entry), name: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

export const mochaHooks = {
  afterAll(): void {
    const left = childPids();
    if (left.length === 0) return;
    console.log(`\n  left running by a suite, now killed: ${left.map((c) => `${c.name} (pid ${c.pid})`).join(', ')}`);
    for (const c of left) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  },
};
