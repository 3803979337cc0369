// One fault pass, start to verdict, on one node or (nodes > 1) a cluster whose every link runs
// through the proxy: start behind the proxy, create the topic (in a cluster RF = nodes, min ISR 2),
// run producers and the high-watermark sampler, inject a seeded schedule, heal and let it recover
// (a cluster: every link healed, every node running, every ISR full), read everything back twice
// (before and after a final clean restart of every node, so an offset that changes value across a
// restart shows up as inconsistent), and check the history.
import { SeededRandom } from '../../src/io/random.ts';
import { check, type CheckReport } from './checker.ts';
import { FaultCluster } from './fault-cluster.ts';
import { FaultNode } from './fault-node.ts';
import { countByKind, FSYNC_HOOK_FAULT_KINDS, POWER_LOSS_FAULT_KINDS, runSchedule, unavailabilityByKind, unavailabilityMs, type FaultKind, type InjectedFault, type Percentiles } from './schedule.ts';
import { createTopic, drainTopic, GroupOffsetCommitter, HighWatermarkSampler, ProduceWorkload, sleep } from './workload.ts';

export interface PassOptions {
  seed: number;
  /** 1 (default): one node. More: a cluster of voters, RF = nodes, min.insync.replicas 2. */
  nodes?: number;
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
  /** tmpfs data dir of this size, per node (needed by 'full-disk' and 'disk-enospc'). */
  tmpfsBytes?: number;
  /** Also commit group offsets throughout and check they never go backwards. */
  groupCommits?: boolean;
  /** Pause between one producer's sends (keeps long runs' histories within memory). */
  sendIntervalMs?: number;
  /** Sends per producer at most (bounds the run even if faults never end). */
  maxSendsPerProducer?: number;
  /** Keep the nodes' data dirs and logs when the checker finds an anomaly (always kept when the pass throws). */
  keepFilesOnAnomaly?: boolean;
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
  /** Acknowledged sends issued while a fault was in force (between its start and its healing). */
  ackedDuringFaults: number;
  /** Cluster: times the ISRs were not full again within the wait before a fault (then injected anyway). */
  isrNotFullBeforeFault: number;
  /** Cluster: per proxy link, connections seen per source address (proves what went through it). */
  linkSources?: Record<string, Record<string, number>>;
  /** Where the nodes' logs are (kept with FAULT_KEEP_FILES=1). */
  logs: string[];
  durationMs: number;
}

/** Broker settings of cluster passes: failover within seconds, so a short run sees several. */
export const CLUSTER_NODE_ARGS = [
  '--preset', 'sync-replica', '--min.insync.replicas', '2',
  '--broker.session.timeout.ms', '3000', '--broker.heartbeat.interval.ms', '500', '--replica.lag.time.max.ms', '3000',
  '--offsets.topic.num.partitions', '3',
];
const ISR_WAIT_BEFORE_FAULT_MS = 30_000;
const DRAIN_ATTEMPTS = 20;

export async function runFaultPass(options: PassOptions): Promise<PassResult> {
  const { log = () => {} } = options;
  const began = Date.now();
  const random = new SeededRandom(options.seed);
  const nodes = options.nodes ?? 1;
  const topic = `faults-${options.flush}-${options.seed}`;
  // Small segments: rolls, several segments and index rebuilds happen within a short run.
  const segmentArgs = ['--log.segment.bytes', String(256 * 1024)];
  const powerLossMode = options.kinds.some((kind) => POWER_LOSS_FAULT_KINDS.includes(kind));
  const diskHooks = options.kinds.some((kind) => FSYNC_HOOK_FAULT_KINDS.includes(kind));
  const diskOptions = { ...(options.tmpfsBytes !== undefined ? { tmpfsBytes: options.tmpfsBytes } : {}), ...(diskHooks ? { diskHooks } : {}) };
  const cluster = nodes > 1 ? await FaultCluster.create({ nodes, flush: options.flush, powerLossMode, ...diskOptions, extraArgs: [...segmentArgs, ...CLUSTER_NODE_ARGS] }) : null;
  const node = cluster ? cluster.node(1) : await FaultNode.create({ flush: options.flush, powerLossMode, ...diskOptions, extraArgs: segmentArgs });
  const bootstrap = cluster ? cluster.bootstrap : node.bootstrap;
  const ports = cluster ? cluster.clientPorts : [node.port];
  let isrNotFullBeforeFault = 0;
  // Kept for the logs when the pass fails or finds an anomaly.
  let keepFiles = true;
  const waitForFullIsr = async (what: string, timeoutMs: number) => {
    if (!cluster) return true;
    const full = await cluster.waitForFullIsr(topic, nodes, timeoutMs);
    if (!full) log(`ISRs of ${topic} not full within ${timeoutMs} ms (${what})`);
    return full;
  };
  try {
    if (cluster) await cluster.startAll();
    else await node.start();
    await createTopic(bootstrap, topic, options.partitions, nodes, cluster ? { 'min.insync.replicas': '2' } : {});
    await waitForFullIsr('after creation', 60_000);
    const workload = new ProduceWorkload({
      bootstrap, topic, partitions: options.partitions, producers: options.producers, batchSize: options.batchSize,
      maxSendsPerProducer: options.maxSendsPerProducer ?? 1_000_000, sendIntervalMs: options.sendIntervalMs ?? 0,
    });
    const sampler = new HighWatermarkSampler(ports, topic, options.partitions);
    const committer = options.groupCommits === true ? new GroupOffsetCommitter(ports, topic, options.partitions, `${topic}-group`) : null;
    sampler.start();
    committer?.start();
    workload.start();
    await workload.waitForAcks(50, 20_000);
    const faults = await runSchedule({ node, random, topic, partitions: options.partitions, ...(cluster ? { cluster } : {}) }, {
      kinds: options.kinds, maxFaults: options.maxFaults, durationMs: options.durationMs, calmMs: options.calmMs, coverEachKind: options.coverEachKind ?? false,
      onFault: (fault, index) => log(`fault ${index + 1}: ${fault.kind} ${JSON.stringify(fault.detail)} (${fault.healedAtMs - fault.startedAtMs} ms)`),
      ...(cluster ? { beforeFault: async () => { if (!(await waitForFullIsr('before a fault', ISR_WAIT_BEFORE_FAULT_MS))) isrNotFullBeforeFault++; } } : {}),
    });
    if (cluster) {
      cluster.heal();
      await cluster.startAll(); // a node that failed to restart inside a fault gets another chance
      await waitForFullIsr('after the last fault', 60_000);
    }
    const recovered = await workload.waitForAcks(20, 15_000);
    if (!recovered) log('no acknowledgements within 15 s after the last fault');
    await workload.stop();
    await sampler.stop();
    await committer?.stop();

    const drain = async (reader: string) => {
      // A cluster may still be moving leaderships (preferred leaders coming back): a few tries.
      let result = await drainTopic(ports, topic, options.partitions, reader);
      for (let attempt = 1; cluster && result.errors.length > 0 && attempt < DRAIN_ATTEMPTS; attempt++) {
        await sleep(1000);
        result = await drainTopic(ports, topic, options.partitions, reader);
      }
      return result;
    };
    const beforeRestart = await drain('drain');
    if (cluster) {
      await cluster.restartAll();
      await waitForFullIsr('after the final restart', 60_000);
    } else {
      await node.terminate();
      await node.start();
    }
    const afterRestart = await drain('drain-after-restart');
    for (let attempt = 1; committer !== null; attempt++) {
      try {
        await committer.sampleOnce();
        break;
      } catch (error) {
        if (attempt >= DRAIN_ATTEMPTS) throw new Error(`committed offsets unreadable after the final restart: ${(error as Error).message}`);
        await sleep(1000);
      }
    }
    const readErrors = [...beforeRestart.errors, ...afterRestart.errors];
    for (const error of readErrors) log(`read error: ${error}`);
    // The pass after the clean restart is the authoritative one: every partition must be readable.
    if (afterRestart.errors.length > 0) throw new Error(`partitions unreadable after a clean restart: ${afterRestart.errors.join('; ')}`);
    const report = check({ sends: workload.sends, reads: [...beforeRestart.passes, ...afterRestart.passes], highWatermarks: sampler.samples, committedOffsets: committer?.samples ?? [] });
    keepFiles = !report.valid && options.keepFilesOnAnomaly === true;
    if (keepFiles) log(`anomalies found: node logs and data kept in ${(cluster ? [...cluster.nodes.values()] : [node]).map((each) => each.rootDir).join(' ')}`);
    const { log: _log, ...config } = options;
    return {
      seed: options.seed, config, faults, faultsByKind: countByKind(faults),
      unavailabilityMs: unavailabilityByKind(unavailabilityMs(faults, workload.sends)),
      recoveryMs: unavailabilityByKind(unavailabilityMs(faults, workload.sends, 'healed')),
      check: report, readErrors, samples: { highWatermarks: sampler.samples.length, committedOffsets: committer?.samples.length ?? 0 },
      ackedDuringFaults: workload.sends.filter((send) => send.outcome.kind === 'acked' && faults.some((fault) => send.startedAtMs >= fault.startedAtMs && send.startedAtMs <= fault.healedAtMs)).length,
      ...(cluster ? { linkSources: Object.fromEntries(cluster.proxy.names().map((name) => [name, cluster.proxy.stats(name).connectionsBySource])) } : {}),
      isrNotFullBeforeFault, logs: (cluster ? [...cluster.nodes.values()] : [node]).map((each) => each.logPath ?? '').filter((path) => path !== ''),
      durationMs: Date.now() - began,
    };
  } finally {
    if (cluster) await cluster.destroy(keepFiles);
    else await node.destroy(keepFiles);
  }
}
