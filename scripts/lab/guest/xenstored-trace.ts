// Reading C xenstored's request trace (`xenstored -T FILE`): who wrote which backend state.
// Pure: trace text in, writes out. The lab's teardown check uses it because a backend's
// Closing -> Closed answer lasts only until libxl removes the directory, too short to poll.

/** State values written to `<backend>/state` and `online`, in order, from xenstored's trace (-T). */
export function backendWrites(trace: string, be: string): string[] {
  const out: string[] = [];
  // trace line: IN <conn> <time> WRITE (<path> <value>)  -- NULs become spaces
  const re = /^IN (\S+) .*? WRITE \((\S+) (\S*) ?\)/;
  for (const line of trace.split('\n')) {
    const m = re.exec(line);
    if (m && (m[2] === `${be}/state` || m[2] === `${be}/online`)) out.push(`${m[2]!.slice(be.length + 1)}=${m[3]}`);
  }
  return out;
}

/**
 * Every trace line (IN/OUT) of the first connection that sent a request matching `request`
 * (e.g. a relative-path read only one domain makes): a domain's ring is one connection, so
 * this is all its kernel and processes said to xenstored and heard back.
 */
export function connectionLines(trace: string, request: RegExp): string[] {
  const lines = trace.split('\n');
  const re = /^(IN|OUT) (\S+) /;
  let conn: string | undefined;
  for (const line of lines) {
    const m = re.exec(line);
    if (m && m[1] === 'IN' && request.test(line)) {
      conn = m[2];
      break;
    }
  }
  if (conn === undefined) return [];
  return lines.filter((l) => re.exec(l)?.[2] === conn);
}
