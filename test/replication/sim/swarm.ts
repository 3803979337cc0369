// Swarm testing (after TigerBeetle's VOPR): each seed draws its own configuration and fault mix, so
// some seeds hammer one fault hard while others see none of it.
import type { SeededRandom } from '../../../src/io/random.ts';

export interface SwarmParameters {
  flushSync: boolean;
  /** Followers find divergence from the Fetch answer instead of asking OffsetForLeaderEpoch first. */
  truncateOnFetch: boolean;
  replicaLagTimeMaxMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** How long a produce waits for acks=all before REQUEST_TIMED_OUT. */
  produceTimeoutMs: number;
  /** flush=async: the periodic fsync (flush.ms); flush=sync: the fsync latency. */
  flushIntervalMs: number;
  fsyncLatencyMs: number;
  fetchBackoffMs: number;
  requestTimeoutMs: number;
  maxRecordsPerFetch: number;
  delayMinMs: number;
  delayMaxMs: number;
  dropRate: number;
  produceMeanIntervalMs: number;
  consumeMeanIntervalMs: number;
  /** Mean gap between fault events of each kind; Infinity disables the kind. */
  crashMeanIntervalMs: number;
  downtimeMaxMs: number;
  partitionMeanIntervalMs: number;
  partitionDurationMaxMs: number;
  fenceLeaderMeanIntervalMs: number;
  faultPhaseMs: number;
}

function between(random: SeededRandom, low: number, high: number): number {
  return low + random.nextFloat() * (high - low);
}

function maybeInterval(random: SeededRandom, offChance: number, low: number, high: number): number {
  return random.nextFloat() < offChance ? Number.POSITIVE_INFINITY : Math.round(between(random, low, high));
}

export function drawSwarm(random: SeededRandom): SwarmParameters {
  const delayMinMs = between(random, 0.2, 3);
  const delayMaxMs = delayMinMs + between(random, 0, random.nextInt(3) === 0 ? 80 : 10);
  const fsyncLatencyMs = between(random, 0.1, random.nextInt(2) === 0 ? 3 : 30);
  const fetchBackoffMs = between(random, 1, 30);
  const sessionTimeoutMs = Math.round(between(random, 150, 1200));
  // A lag limit below a few fetch round trips keeps even healthy followers out of the ISR (a
  // misconfiguration, not a fault worth simulating).
  const roundTripMs = 2 * delayMaxMs + fsyncLatencyMs + fetchBackoffMs;
  return {
    flushSync: random.nextInt(2) === 0,
    truncateOnFetch: random.nextInt(3) === 0,
    replicaLagTimeMaxMs: Math.round(Math.max(between(random, 80, 1500), 3 * roundTripMs)),
    sessionTimeoutMs,
    heartbeatIntervalMs: Math.round(sessionTimeoutMs / between(random, 3, 6)),
    produceTimeoutMs: Math.round(between(random, 100, 2000)),
    flushIntervalMs: Math.round(between(random, 5, 400)),
    fsyncLatencyMs,
    fetchBackoffMs,
    requestTimeoutMs: Math.round(between(random, 50, 400)),
    maxRecordsPerFetch: 1 + random.nextInt(random.nextInt(2) === 0 ? 4 : 50),
    delayMinMs,
    delayMaxMs,
    dropRate: random.nextInt(3) === 0 ? 0 : between(random, 0, 0.2),
    produceMeanIntervalMs: between(random, 2, 40),
    consumeMeanIntervalMs: between(random, 10, 100),
    crashMeanIntervalMs: maybeInterval(random, 0.2, 200, 2000),
    downtimeMaxMs: Math.round(between(random, 5, 1500)),
    partitionMeanIntervalMs: maybeInterval(random, 0.3, 200, 2000),
    partitionDurationMaxMs: Math.round(between(random, 20, 2000)),
    fenceLeaderMeanIntervalMs: maybeInterval(random, 0.2, 100, 2000),
    faultPhaseMs: Math.round(between(random, 2000, 6000)),
  };
}
