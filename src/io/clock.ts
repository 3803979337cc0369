// Injected time. Drivers ask a Clock for the time and for repeating timers, so that tests can run
// them on a ManualClock that moves only when told to, and real nodes run on the system clock.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic-enough scale; only differences are meaningful. */
  nowMs(): number;
  /** Calls `callback` every `intervalMs` until cancelled. */
  setInterval(callback: () => void, intervalMs: number): TimerHandle;
  /** Calls `callback` once after `delayMs` unless cancelled first. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
}

/** The real clock. Its timers are unref'd: Raft ticks alone must not keep a stopped process alive. */
export class SystemClock implements Clock {
  nowMs(): number {
    return performance.now();
  }

  setInterval(callback: () => void, intervalMs: number): TimerHandle {
    const timer = setInterval(callback, intervalMs);
    timer.unref?.();
    return { cancel: () => clearInterval(timer) };
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer = setTimeout(callback, delayMs);
    timer.unref?.();
    return { cancel: () => clearTimeout(timer) };
  }
}

interface ManualTimer {
  dueMs: number;
  intervalMs: number | undefined;
  callback: () => void;
  cancelled: boolean;
  sequence: number;
}

/** A clock for tests: time stands still until advance() moves it, firing due timers in order. */
export class ManualClock implements Clock {
  private currentMs: number;
  private timers: ManualTimer[] = [];
  private nextSequence = 0;

  constructor(startMs = 0) {
    this.currentMs = startMs;
  }

  nowMs(): number {
    return this.currentMs;
  }

  setInterval(callback: () => void, intervalMs: number): TimerHandle {
    if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${intervalMs}`);
    return this.add(callback, intervalMs, intervalMs);
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    return this.add(callback, Math.max(0, delayMs), undefined);
  }

  /** Moves time forward by `durationMs`, firing every timer that falls due, earliest first. */
  advance(durationMs: number): void {
    const targetMs = this.currentMs + durationMs;
    // Bounded: a repeating timer fires at most durationMs / intervalMs times.
    const firingsMax = 1_000_000;
    for (let firing = 0; firing < firingsMax; firing++) {
      const next = this.nextDue(targetMs);
      if (next === undefined) break;
      this.currentMs = next.dueMs;
      if (next.intervalMs === undefined) next.cancelled = true;
      else next.dueMs += next.intervalMs;
      next.callback();
    }
    this.timers = this.timers.filter((timer) => !timer.cancelled);
    this.currentMs = targetMs;
  }

  private add(callback: () => void, delayMs: number, intervalMs: number | undefined): TimerHandle {
    const timer: ManualTimer = { dueMs: this.currentMs + delayMs, intervalMs, callback, cancelled: false, sequence: this.nextSequence++ };
    this.timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }

  private nextDue(limitMs: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const timer of this.timers) {
      if (timer.cancelled || timer.dueMs > limitMs) continue;
      if (best === undefined || timer.dueMs < best.dueMs || (timer.dueMs === best.dueMs && timer.sequence < best.sequence)) best = timer;
    }
    return best;
  }
}
