// Runs an async "look at the state and take the next steps" function one pass at a time:
// a kick while a pass runs asks for one more pass afterwards instead of running twice at
// once. Both ends of a xenbus device drive their lifecycle tables with it.

export class Reconciler {
  private running = false;
  private pending = false;
  private stopped = false;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly onError: (e: unknown) => void,
  ) {}

  /** Run a pass now, or once more after the current one. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = true;
    void (async () => {
      try {
        do {
          this.pending = false;
          await this.pass();
        } while (this.pending && !this.stopped);
      } catch (e) {
        this.onError(e);
      } finally {
        this.running = false;
      }
    })();
  }

  /** From inside a pass: the state moved on, look again when this pass ends. */
  again(): void {
    this.pending = true;
  }

  stop(): void {
    this.stopped = true;
  }

  get isStopped(): boolean {
    return this.stopped;
  }
}
