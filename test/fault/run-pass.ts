// One fault pass on one node, start to verdict: start the node behind the proxy, create the topic,
// run producers and the high-watermark sampler, inject a seeded schedule, let the node recover,
// read everything back twice (before and after a final clean restart, so an offset that changes
// value across a restart shows up as inconsistent), and check the history.
import { SeededRandom } from '../../src/io/random.ts';
import { check, type CheckReport } from './checker.ts';
import { FaultNode } from './fault-node.ts';
import { countByKind, runSchedule, unavailabilityByKind, unavailabilityMs, type FaultKind, type InjectedFault, type Percentiles } from './schedule.ts';
import { createTopic, drainTopic, GroupOffsetCommitter, HighWatermarkSampler, ProduceWorkload } from './workload.ts';

export interface PassOptions {
  seed: number;
  flush: 'sync' | 'async';
  kinds: readonly FaultKind[];
  maxFaults: number;
  durationMs: number;
  calmMs: [number, number];
  partitions: number;
  producers: number;
  batchSize: number;
  /** Every kind once before random draws (see ScheduleOptions.coverEachKind). */
  coverEachKind?: boolean;
  /** tmpfs data dir of this size (needed by 'full-disk' and 'disk-enospc'). */
  tmpfsBytes?: number;
  /** Also commit group offsets throughout and check they never go backwards. */
  groupCommits?: boolean;
  /** Pause between one producer's sends (keeps long runs' histories within memory). */
  sendIntervalMs?: number;
  /** Sends per producer at most (bounds the run even if faults never end). */
  maxSendsPerProducer?: number;
  log?: (line: string) => void;
}

export interface PassResult {
  seed: number;
  config: Omit<PassOptions, 'log'>;
  faults: InjectedFault[];
  faultsByKind: Partial<Record<FaultKind, number>>;
  /** Fault start -> first acknowledged write issued after it. */
  unavailabilityMs: Partial<Record<FaultKind, Percentiles>>;
  /** Fault healed (restarted, thawed, freed, link restored) -> first acknowledged write issued after that. */
  recoveryMs: Partial<Record<FaultKind, Percentiles>>;
  check: CheckReport;
  /** How many high-watermark and committed-offset samples the checker had. */
  samples: { highWatermarks: number; committedOffsets: number };
  /** Partitions that could not be read before the final restart (e.g. a log stopped by ENOSPC). */
  readErrors: string[];
  durationMs: number;
}

export async function runFaultPass(options: PassOptions): Promise<PassResult> {
  const { log = () => {} } = options;
  const began = Date.now();
  const random = new SeededRandom(options.seed);
  const topic = `faults-${options.flush}-${options.seed}`;
  const node = await FaultNode.create({
    flush: options.flush,
    powerLossMode: options.kinds.includes('power-loss'),
    ...(options.tmpfsBytes !== undefined ? { tmpfsBytes: options.tmpfsBytes } : {}),
    // Small segments: rolls, several segments and index rebuilds happen within a short run.
    extraArgs: ['--log.segment.bytes', String(256 * 1024)],
  });
  try {
    await node.start();
    await createTopic(node.bootstrap, topic, options.partitions);
    const workload = new ProduceWorkload({
      bootstrap: node.bootstrap, topic, partitions: options.partitions, producers: options.producers, batchSize: options.batchSize,
      maxSendsPerProducer: options.maxSendsPerProducer ?? 1_000_000, sendIntervalMs: options.sendIntervalMs ?? 0,
    });
    const sampler = new HighWatermarkSampler(node.port, topic, options.partitions);
    const committer = options.groupCommits === true ? new GroupOffsetCommitter(node.port, topic, options.partitions, `${topic}-group`) : null;
    sampler.start();
    committer?.start();
    workload.start();
    await workload.waitForAcks(50, 10_000);
    const faults = await runSchedule({ node, random, topic, partitions: options.partitions }, {
      kinds: options.kinds, maxFaults: options.maxFaults, durationMs: options.durationMs, calmMs: options.calmMs, coverEachKind: options.coverEachKind ?? false,
      onFault: (fault, index) => log(`fault ${index + 1}: ${fault.kind} ${JSON.stringify(fault.detail)} (${fault.healedAtMs - fault.startedAtMs} ms)`),
    });
    const recovered = await workload.waitForAcks(20, 15_000);
    if (!recovered) log('no acknowledgements within 15 s after the last fault');
    await workload.stop();
    await sampler.stop();
    await committer?.stop();

    const beforeRestart = await drainTopic(node.port, topic, options.partitions, 'drain');
    await node.terminate();
    await node.start();
    const afterRestart = await drainTopic(node.port, topic, options.partitions, 'drain-after-restart');
    await committer?.sampleOnce();
    const readErrors = [...beforeRestart.errors, ...afterRestart.errors];
    for (const error of readErrors) log(`read error: ${error}`);
    // The pass after the clean restart is the authoritative one: every partition must be readable.
    if (afterRestart.errors.length > 0) throw new Error(`partitions unreadable after a clean restart: ${afterRestart.errors.join('; ')}`);
    const report = check({ sends: workload.sends, reads: [...beforeRestart.passes, ...afterRestart.passes], highWatermarks: sampler.samples, committedOffsets: committer?.samples ?? [] });
    const { log: _log, ...config } = options;
    return {
      seed: options.seed, config, faults, faultsByKind: countByKind(faults),
      unavailabilityMs: unavailabilityByKind(unavailabilityMs(faults, workload.sends)),
      recoveryMs: unavailabilityByKind(unavailabilityMs(faults, workload.sends, 'healed')),
      check: report, readErrors, samples: { highWatermarks: sampler.samples.length, committedOffsets: committer?.samples.length ?? 0 }, durationMs: Date.now() - began,
    };
  } finally {
    await node.destroy();
  }
}
