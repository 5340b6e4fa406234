// Demo guest workloads: what the guest frontend draws into its framebuffer.

import { xerror } from '../../shared/errors';
import { createPatternWorkload } from './pattern';
import { createStillWorkload } from './still';
import { createTerminalWorkload } from './terminal';
import { createReplayWorkload } from './replay';
import { WORKLOAD_NAMES, type Workload, type WorkloadName, type WorkloadOptions } from './workload';

export * from './workload';
export { PatternWorkload, PATTERN_DEFAULT_FPS } from './pattern';
export { StillWorkload, decodePng, readPng, drawTestCard, stillOffset } from './still';
export { TerminalWorkload } from './terminal';
export { ReplayWorkload } from './replay';

export function isWorkloadName(name: string): name is WorkloadName {
  return (WORKLOAD_NAMES as readonly string[]).includes(name);
}

/** Build a workload by name. Throws CLI_E_USAGE for an unknown name, and the workload's own errors. */
export async function createWorkload(name: WorkloadName, opts: WorkloadOptions = {}): Promise<Workload> {
  switch (name) {
    case 'still':
      return createStillWorkload(opts);
    case 'pattern':
      return createPatternWorkload(opts);
    case 'terminal':
      return createTerminalWorkload(opts);
    case 'replay':
      return createReplayWorkload(opts);
    default:
      throw xerror('CLI_E_USAGE', `unknown workload '${String(name)}'; choose one of ${WORKLOAD_NAMES.join(', ')}`, {
        name,
      });
  }
}
