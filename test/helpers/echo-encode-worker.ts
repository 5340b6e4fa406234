// An encode worker entry for pool tests: every job's result is the job itself.

import { serveEncodeJobs } from '../../backend/updates/encode-worker-host';

serveEncodeJobs(() => ({
  configure: () => undefined,
  run: (job) => ({ result: job, stats: null }),
}));
