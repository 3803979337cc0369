// Runs a range of seeds and sums what happened, for the CLI and the test suite alike.
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
  counters: Counters;
  violations: number;
  failures: SeedFailure[];
}

export interface RunOptions {
  readonly mutation?: Mutation;
  readonly maxEvents?: number;
  /** Stop at the first failing seed. */
  readonly stopOnFailure?: boolean;
  readonly onSeed?: (result: SeedResult) => void;
}

export function replayCommand(seed: number, options: RunOptions = {}): string {
  const extra = [options.mutation ? ` --mutation ${options.mutation}` : '', options.maxEvents ? ` --max-events ${options.maxEvents}` : ''].join('');
  return `npm run sim -- --seed ${seed}${extra} --trace`;
}

export function runSeeds(start: number, count: number, options: RunOptions = {}): RunSummary {
  const began = performance.now();
  const summary: RunSummary = {
    seeds: 0, start, elapsedMs: 0, seedsPerSecond: 0, events: 0, virtualTimeMs: 0, recoveryMsMax: 0,
    counters: emptyCounters(), violations: 0, failures: [],
  };
  for (let seed = start; seed < start + count; seed++) {
    const result = runSeed({ seed, ...(options.mutation ? { mutation: options.mutation } : {}), ...(options.maxEvents ? { maxEvents: options.maxEvents } : {}) });
    options.onSeed?.(result);
    summary.seeds++;
    summary.events += result.counters.events;
    summary.virtualTimeMs += result.virtualTimeMs;
    summary.recoveryMsMax = Math.max(summary.recoveryMsMax, result.recoveryMs ?? 0);
    addCounters(summary.counters, result.counters);
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

function emptyCounters(): Counters {
  return {
    events: 0, messagesSent: 0, messagesDropped: 0, messagesDuplicated: 0, messagesEncoded: 0,
    preCampaigns: 0, elections: 0, leaderChanges: 0, crashes: 0, crashesAfterPersist: 0, crashesAfterSend: 0,
    partitions: 0, clockJumps: 0, proposals: 0, proposalsAccepted: 0, transfersRequested: 0,
    transfersCompleted: 0, snapshotsTaken: 0, snapshotsInstalled: 0, committedEntries: 0,
  };
}

function addCounters(total: Counters, more: Counters): void {
  for (const key of Object.keys(total) as (keyof Counters)[]) total[key] += more[key];
}
