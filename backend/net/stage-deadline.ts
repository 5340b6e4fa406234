// One deadline per stage of a connection before it is served (every pre-auth stage has one,
// STYLE.md rule 18): entering a new stage replaces the running timer; entering the same stage
// again keeps it, so a peer that trickles bytes within a stage does not extend it.

import { realClock, type SchedulerClock } from '../updates/update-scheduler';

export class StageDeadline {
  /** The stage the running deadline is for. */
  stage = '';
  private timer: unknown = null;

  constructor(
    /** Called once when a stage's time is up (the caller closes the connection). */
    private readonly expired: (stage: string, ms: number) => void,
    private readonly clock: SchedulerClock = realClock,
  ) {}

  /** Enter `stage`, which must end within `ms` (0: no deadline). */
  enter(stage: string, ms: number): void {
    if (stage === this.stage) return;
    this.stage = stage;
    this.dispose();
    if (ms <= 0) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.expired(stage, ms);
    }, ms);
  }

  dispose(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
