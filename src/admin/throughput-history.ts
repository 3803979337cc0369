// A short in-memory history of the traffic totals, so the dashboard can draw throughput over the
// last minutes as soon as it opens instead of starting from an empty chart.
import { trafficTotals } from './metrics.ts';

export interface TrafficSample {
  timeMs: number;
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
}

export class ThroughputHistory {
  private readonly samples: TrafficSample[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly maxSamples = 120, private readonly nowMs: () => number = Date.now) {}

  start(intervalMs: number): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  sample(): void {
    this.samples.push(this.current());
    if (this.samples.length > this.maxSamples) this.samples.shift();
  }

  current(): TrafficSample {
    return { timeMs: this.nowMs(), ...trafficTotals };
  }

  /** The kept samples plus one taken now, oldest first; totals are cumulative. */
  history(): TrafficSample[] {
    return [...this.samples, this.current()];
  }
}
