// A short in-memory history of each consumer group's total lag, so the dashboard's group page can
// draw lag over the last minutes as soon as it opens (the same idea as throughput-history.ts).
import type { GroupLagSample } from './groups-api.ts';

export interface LagPoint {
  timeMs: number;
  /** Sum of the known partition lags; null when none is known (nothing committed yet). */
  totalLag: number | null;
}

/** Groups tracked; beyond this, new groups get no history (their current lag is still shown). */
const maxGroupsTracked = 1000;

export class LagHistory {
  private readonly byGroup = new Map<string, LagPoint[]>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly snapshot: () => GroupLagSample[],
    private readonly maxSamples = 120,
    private readonly nowMs: () => number = Date.now,
  ) {}

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
    const timeMs = this.nowMs();
    const totals = totalsByGroup(this.snapshot());
    for (const [groupId, totalLag] of totals) {
      let points = this.byGroup.get(groupId);
      if (!points) {
        if (this.byGroup.size >= maxGroupsTracked) continue;
        points = [];
        this.byGroup.set(groupId, points);
      }
      points.push({ timeMs, totalLag });
      if (points.length > this.maxSamples) points.shift();
    }
    // A group with no known lag any more (deleted, offsets expired) stops being tracked.
    for (const groupId of this.byGroup.keys()) if (!totals.has(groupId)) this.byGroup.delete(groupId);
  }

  /** The kept points of one group plus the current total (the caller has just computed it), oldest first. */
  history(groupId: string, currentTotalLag: number | null): LagPoint[] {
    return [...(this.byGroup.get(groupId) ?? []), { timeMs: this.nowMs(), totalLag: currentTotalLag }];
  }
}

function totalsByGroup(samples: readonly GroupLagSample[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const sample of samples) totals.set(sample.groupId, (totals.get(sample.groupId) ?? 0) + sample.lag);
  return totals;
}
