import { diskUsedRatio } from '../storage/disk-guard.ts';
import type { Logger } from '../util/log.ts';

/**
 * Refuses appends while the data dir's file system is fuller than disk.max.used.ratio, so a full disk
 * produces a clear error instead of a half-written segment. The ratio is sampled, not read per append.
 * In a cluster the broker reports this state in its heartbeats (`onChange` heartbeats at once), and
 * the controller moves the node's leaderships to in-sync replicas with room.
 */
export class DiskGuard {
  private usedRatio = 0;
  private timer: NodeJS.Timeout | null = null;
  private warned = false;
  private readonly listeners: Array<(full: boolean) => void> = [];

  constructor(private readonly dataDir: string, private readonly maxUsedRatio: number, private readonly logger: Logger) {}

  async start(sampleIntervalMs = 1000): Promise<void> {
    await this.sample();
    this.timer = setInterval(() => void this.sample(), sampleIntervalMs);
    this.timer.unref();
  }

  get ratio(): number {
    return this.usedRatio;
  }

  /** True while appends are refused (the last sample was above disk.max.used.ratio). */
  isFull(): boolean {
    return this.usedRatio > this.maxUsedRatio;
  }

  /** Called after a sample that flips the state (full, or room again). */
  onChange(listener: (full: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Null when appends may go ahead, else the reason they are refused. */
  refusal(): string | null {
    if (this.usedRatio <= this.maxUsedRatio) return null;
    return `disk ${(this.usedRatio * 100).toFixed(1)}% full, above disk.max.used.ratio ${this.maxUsedRatio}`;
  }

  private async sample(): Promise<void> {
    try {
      this.usedRatio = await diskUsedRatio(this.dataDir);
    } catch (error) {
      this.logger.warn('cannot read disk usage', { error: (error as Error).message });
      return;
    }
    const over = this.usedRatio > this.maxUsedRatio;
    if (over && !this.warned) this.logger.warn('disk above disk.max.used.ratio: refusing appends', { usedRatio: this.usedRatio, max: this.maxUsedRatio });
    if (!over && this.warned) this.logger.info('disk back below disk.max.used.ratio: accepting appends', { usedRatio: this.usedRatio });
    const changed = over !== this.warned;
    this.warned = over;
    if (!changed) return;
    for (const listener of this.listeners) {
      try {
        listener(over);
      } catch (error) {
        this.logger.warn('disk state listener failed', { error: (error as Error).message });
      }
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
