// Which dom0 phases a lab run has (pure). `stock`: the stock Debian domU (its built-in
// xen-fbfront/kbdfront) against `xenvfb backend`; `tsfront`: our TS frontend in a Node domU;
// `xlvfb`: libxl's own `vfb = [...]` path with the device-model stand-in; `watch`: the
// `xenvfb watch` daemon serving two domUs made with plain `xl create`, kill -9 of a backend,
// and the SPICE picture grabbed by the host.

export const LAB_PHASES = ['stock', 'tsfront', 'xlvfb', 'watch'] as const;
export type LabPhase = (typeof LAB_PHASES)[number];

/** LAB_ONLY=<phase>[,<phase>] (default: all), minus LAB_SKIP_TSFRONT=1 / LAB_SKIP_XLVFB=1 / LAB_SKIP_WATCH=1. */
export function selectedPhases(env: NodeJS.ProcessEnv): LabPhase[] {
  const only = (env.LAB_ONLY ?? '').split(/[,+\s]+/).filter(Boolean);
  for (const p of only) {
    if (!(LAB_PHASES as readonly string[]).includes(p)) throw new Error(`LAB_ONLY: unknown phase '${p}' (known: ${LAB_PHASES.join(', ')})`);
  }
  return LAB_PHASES.filter(
    (p) =>
      (only.length === 0 || only.includes(p)) &&
      !(p === 'tsfront' && env.LAB_SKIP_TSFRONT === '1') &&
      !(p === 'xlvfb' && env.LAB_SKIP_XLVFB === '1') &&
      !(p === 'watch' && env.LAB_SKIP_WATCH === '1'),
  );
}
