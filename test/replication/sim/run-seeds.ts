// Runs a range of seeds of the replication simulator and sums what happened (CLI and tests alike).
import { runSeed } from './simulation.ts';
import type { Counters, Mutation, SeedResult } from './simulation.ts';

export interface SeedFailure {
  readonly seed: number;
  readonly violations: readonly string[];
  readonly replay: string;
}

export interface RunSummary {
  seeds: number;
  start: number;
  elapsedMs: number;
  seedsPerSecond: number;
  events: number;
  virtualTimeMs: number;
  recoveryMsMax: number;
  counters: Partial<Counters>;
  violations: number;
  failures: SeedFailure[];
}

export interface RunOptions {
  readonly mutation?: Mutation;
  readonly maxEvents?: number;
  readonly stopOnFailure?: boolean;
  readonly onSeed?: (result: SeedResult) => void;
}

export function replayCommand(seed: number, options: RunOptions = {}): string {
  const extra = [options.mutation ? ` --mutation ${options.mutation}` : '', options.maxEvents ? ` --max-events ${options.maxEvents}` : ''].join('');
  return `node --import tsx test/replication/sim/cli.ts --seed ${seed}${extra} --trace`;
}

export function runSeeds(start: number, count: number, options: RunOptions = {}): RunSummary {
  const began = performance.now();
  const summary: RunSummary = { seeds: 0, start, elapsedMs: 0, seedsPerSecond: 0, events: 0, virtualTimeMs: 0, recoveryMsMax: 0, counters: {}, violations: 0, failures: [] };
  for (let seed = start; seed < start + count; seed++) {
    const result = runSeed({ seed, ...(options.mutation ? { mutation: options.mutation } : {}), ...(options.maxEvents ? { maxEvents: options.maxEvents } : {}) });
    options.onSeed?.(result);
    summary.seeds++;
    summary.events += result.counters.events;
    summary.virtualTimeMs += result.virtualTimeMs;
    summary.recoveryMsMax = Math.max(summary.recoveryMsMax, result.recoveryMs ?? 0);
    for (const [key, value] of Object.entries(result.counters) as [keyof Counters, number][]) summary.counters[key] = (summary.counters[key] ?? 0) + value;
    if (!result.ok) {
      summary.violations += result.violations.length;
      summary.failures.push({ seed, violations: result.violations, replay: replayCommand(seed, options) });
      if (options.stopOnFailure) break;
    }
  }
  summary.elapsedMs = Math.round(performance.now() - began);
  summary.seedsPerSecond = Math.round((summary.seeds / Math.max(1, summary.elapsedMs)) * 1000 * 10) / 10;
  return summary;
}
