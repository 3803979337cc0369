// A node's background worker (the log cleaner, the scrubber): one loop, started once, ended by
// aborting its signal; stop() waits for the step in progress to finish.
export abstract class BackgroundService {
  protected readonly stopController = new AbortController();
  private loop: Promise<void> | null = null;

  protected abstract get enabled(): boolean;

  /** Runs until `signal` aborts; must not throw. */
  protected abstract run(signal: AbortSignal): Promise<void>;

  start(): void {
    if (!this.enabled || this.loop !== null) return;
    this.loop = this.run(this.stopController.signal);
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    await this.loop;
  }
}
