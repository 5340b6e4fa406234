// The backend's scan stream as the inspector reads it: the control socket's "tiles" op polled
// with a cursor, plus the status and screenshot ops it shows beside the tiles.

import { controlRequest } from '../../../backend/control/client';
import type { BackendStatus } from '../../../backend/control/status';
import { type ScanReport, scanReportFromJson } from '../../../shared/dirty-tiles/scan-report';

/** The backend's scan stream over its control socket. */
export class ScanFeed {
  private seq = -1;
  constructor(readonly socketPath: string) {}

  /** New reports since the last call (the first call only sets the cursor: older ones are stale). */
  async next(): Promise<ScanReport[]> {
    const r = (await controlRequest(this.socketPath, { op: 'tiles', since: Math.max(0, this.seq) })) as { reports: unknown[] };
    const reports = r.reports.map(scanReportFromJson);
    const first = this.seq < 0;
    if (reports.length > 0) this.seq = reports[reports.length - 1]!.seq;
    else if (first) this.seq = 0;
    return first ? [] : reports;
  }

  async status(): Promise<BackendStatus> {
    return (await controlRequest(this.socketPath, { op: 'status' })) as BackendStatus;
  }

  async screenshot(): Promise<Buffer> {
    const r = (await controlRequest(this.socketPath, { op: 'screenshot' }, 30_000)) as { png: string };
    return Buffer.from(r.png, 'base64');
  }
}
