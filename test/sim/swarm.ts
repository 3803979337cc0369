// Swarm testing (after TigerBeetle's VOPR): each seed draws its own fault mix and configuration,
// so some seeds hammer one fault hard while others see none of it, instead of every seed getting
// the same mild average.
import type { SeededRandom } from '../../src/io/random.ts';

export interface SwarmParameters {
  voterCount: 3 | 5;
  learnerCount: number;
  preVote: boolean;
  checkQuorum: boolean;
  electionTicks: number;
  heartbeatTicks: number;
  /** Each node's tick period: baseTickMs scaled by its own drift (clock skew). */
  baseTickMs: number;
  tickDriftMax: number;
  maxInflightMessages: number;
  /** Small values split replication into many one-entry Appends. */
  maxSizePerMessageBytes: number;
  /** Apply state-machine snapshots (and compact) every this many applied entries. */
  snapshotEveryEntries: number;
  /** Entries kept behind a snapshot for slow followers; 0 forces snapshots on any lag. */
  retainEntries: number;
  delayMinMs: number;
  delayMaxMs: number;
  dropRate: number;
  duplicateRate: number;
  /** Whether a link may reorder messages; otherwise it is FIFO like a TCP connection. */
  reorder: boolean;
  /** Share of messages held back much longer than usual (they overtake nothing on a FIFO link). */
  longDelayRate: number;
  longDelayMaxMs: number;
  /** Mean gap between fault events of each kind; Infinity disables the kind. */
  partitionMeanIntervalMs: number;
  partitionDurationMaxMs: number;
  crashMeanIntervalMs: number;
  downtimeMaxMs: number;
  /** Chance a Ready's processing is cut short by a crash right after the fsync, before sending. */
  crashAfterPersistRate: number;
  /** Chance of a crash right after a Ready's messages went out, before applying. */
  crashAfterSendRate: number;
  clockJumpMeanIntervalMs: number;
  proposalMeanIntervalMs: number;
  transferMeanIntervalMs: number;
  /** Length of the faulty phase; the healed phase that must make progress follows. */
  faultPhaseMs: number;
}

function pick<T>(random: SeededRandom, choices: readonly T[]): T {
  return choices[random.nextInt(choices.length)]!;
}

function between(random: SeededRandom, low: number, high: number): number {
  return low + random.nextFloat() * (high - low);
}

/** Sometimes off, otherwise a mean interval drawn from [low, high]. */
function maybeInterval(random: SeededRandom, offChance: number, low: number, high: number): number {
  return random.nextFloat() < offChance ? Number.POSITIVE_INFINITY : Math.round(between(random, low, high));
}

export function drawSwarm(random: SeededRandom): SwarmParameters {
  const delayMinMs = random.nextInt(4);
  const dropRate = random.nextFloat() < 0.2 ? 0 : between(random, 0, 0.3);
  return {
    voterCount: random.nextFloat() < 0.5 ? 3 : 5,
    learnerCount: pick(random, [0, 0, 0, 1, 1, 2]),
    preVote: random.nextFloat() < 0.85,
    checkQuorum: random.nextFloat() < 0.85,
    electionTicks: pick(random, [5, 8, 10, 10]),
    heartbeatTicks: pick(random, [1, 1, 2]),
    baseTickMs: 10,
    tickDriftMax: pick(random, [0, 0.05, 0.2, 0.4]),
    maxInflightMessages: pick(random, [1, 2, 8, 256]),
    maxSizePerMessageBytes: pick(random, [1, 64, 1024 * 1024]),
    snapshotEveryEntries: pick(random, [3, 8, 20, 50, 1_000_000]),
    retainEntries: pick(random, [0, 0, 2, 10]),
    delayMinMs,
    delayMaxMs: delayMinMs + pick(random, [1, 5, 10, 25]),
    dropRate,
    duplicateRate: random.nextFloat() < 0.4 ? 0 : between(random, 0, 0.5),
    reorder: random.nextFloat() < 0.6,
    longDelayRate: random.nextFloat() < 0.5 ? 0 : between(random, 0, 0.1),
    longDelayMaxMs: pick(random, [50, 200, 500]),
    partitionMeanIntervalMs: maybeInterval(random, 0.25, 100, 800),
    partitionDurationMaxMs: pick(random, [100, 400, 1000]),
    crashMeanIntervalMs: maybeInterval(random, 0.25, 100, 800),
    downtimeMaxMs: pick(random, [20, 200, 800]),
    crashAfterPersistRate: random.nextFloat() < 0.5 ? 0 : between(random, 0, 0.02),
    crashAfterSendRate: random.nextFloat() < 0.5 ? 0 : between(random, 0, 0.02),
    clockJumpMeanIntervalMs: maybeInterval(random, 0.5, 100, 1000),
    proposalMeanIntervalMs: pick(random, [5, 20, 60]),
    transferMeanIntervalMs: maybeInterval(random, 0.5, 200, 1000),
    faultPhaseMs: pick(random, [1000, 2000, 3000]),
  };
}
