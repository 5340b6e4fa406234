// Polling for a condition a test cannot be told about (sessions closing, workers exiting,
// updates arriving): every 5 ms, failing with what was awaited after `ms`.

/** Resolves once `cond()` holds; throws "timed out waiting for <what>" after `ms`. */
export async function waitFor(cond: () => boolean, what: string, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
