// Throughput and latency arithmetic for the benchmark report. MB means 10^6 bytes, as dd and
// kafka-producer-perf-test print it, so the figures compare directly.

const BYTES_PER_MB = 1_000_000;
const NS_PER_MS = 1_000_000;

/** Latency samples in a growable typed array; bounded by the caller's request budget. */
export class LatencyRecorder {
  private samplesNs = new Float64Array(4096);
  private count = 0;

  add(latencyNs: number): void {
    if (this.count === this.samplesNs.length) {
      const grown = new Float64Array(this.samplesNs.length * 2);
      grown.set(this.samplesNs);
      this.samplesNs = grown;
    }
    this.samplesNs[this.count++] = latencyNs;
  }

  get size(): number {
    return this.count;
  }

  summary(): LatencySummaryMs {
    const sorted = this.samplesNs.slice(0, this.count).sort();
    const atMs = (fraction: number) => round(percentileOfSorted(sorted, fraction) / NS_PER_MS, 3);
    let totalNs = 0;
    for (const sample of sorted) totalNs += sample;
    return {
      samples: this.count,
      p50: atMs(0.5),
      p99: atMs(0.99),
      p999: atMs(0.999),
      max: atMs(1),
      mean: this.count === 0 ? 0 : round(totalNs / this.count / NS_PER_MS, 3),
    };
  }
}

export interface LatencySummaryMs {
  samples: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile (the smallest sample with at least `fraction` of all samples at or below it). */
export function percentileOfSorted(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface Throughput {
  msgsPerSec: number;
  mbPerSec: number;
}

export function throughput(messages: number, bytes: number, elapsedNs: number): Throughput {
  const seconds = elapsedNs / 1e9;
  if (seconds <= 0) return { msgsPerSec: 0, mbPerSec: 0 };
  return { msgsPerSec: Math.round(messages / seconds), mbPerSec: round(bytes / BYTES_PER_MB / seconds, 1) };
}

export function mbPerSec(bytes: number, seconds: number): number {
  return seconds <= 0 ? 0 : round(bytes / BYTES_PER_MB / seconds, 1);
}

export function round(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

export function elapsedSince(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs);
}
