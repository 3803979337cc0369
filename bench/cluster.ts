// The replicated produce path (issue 5, item 8 a-c): 3 real nodes on this machine, topic RF=3,
// acks=all, min.insync.replicas=2, flush=sync (every replica fsyncs a batch before it counts),
// 1 KiB records, leaders spread over the nodes and each request sent to its partition's leader.
//   batched     (a) throughput with client batching: batches of --cluster-batch-bytes, pipelined
//   perMessage  (b) throughput with one record per Produce request, --cluster-in-flight-total in flight
//   latency     (c) send -> ack latency at a fixed --cluster-rate msgs/s, open loop, one record per request
//   latencyFlushAsync  (c) again with flush=async: no fdatasync on the ack path, so the difference
//               from (c) is what the disk adds and the rest is CPU, network and replication rounds
// Each scenario gets a fresh cluster and stops at its deadline or byte budget. Before them,
// `bounds` measures what this machine's disk allows for (a) and (c) without any broker, so the
// results and the targets can be read against it.
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createBenchTopic, startBenchCluster, stopBenchCluster, type BenchCluster, type BenchTopicLayout } from './cluster-nodes.ts';
import { measureBufferedWrite } from './disk.ts';
import { measureSyncedAppends, syncedAppendsDurationMs, type SyncedAppendsResult } from './synced-appends.ts';
import { DURABLE_APPEND_RECORD_BYTES, durableAppendDurationMs, measureDurableAppend, type DurableAppendResult } from './durable-append.ts';
import { runOpenLoop, type OpenLoopResult } from './open-loop-producer.ts';
import { buildBatchPool, runProducer, type ProduceResult, type ProducerRoute } from './pipelined-producer.ts';
import { round } from './stats.ts';

export const clusterScenarioNames = ['batched', 'perMessage', 'latency', 'latencyFlushAsync'] as const;
export type ClusterScenarioName = typeof clusterScenarioNames[number];

export interface ClusterSettings {
  scenarios: ClusterScenarioName[];
  /** Shorter bounds probes. */
  quick: boolean;
  nodes: number;
  partitions: number;
  recordBytes: number;
  batchBytes: number;
  /** (a): connections to each leader and requests in flight on each. */
  batchedConnectionsPerLeader: number;
  batchedInFlightPerConnection: number;
  /** (b): connections to each leader, and requests in flight over all of them. */
  perMessageConnectionsPerLeader: number;
  perMessageInFlightTotal: number;
  /** (c) */
  latencyRatePerSec: number;
  latencyDurationMs: number;
  /** Open-loop load before (c) measures, on the same schedule. */
  latencyWarmupMs: number;
  latencyConnectionsPerLeader: number;
  durationMs: number;
  warmupMs: number;
  maxBytes: number;
  profileDir: string | null;
  progress(message: string): void;
}

export interface ClusterConfigReport {
  nodes: number;
  replicationFactor: number;
  minInsyncReplicas: number;
  acks: 'all';
  flush: 'sync';
  partitions: number;
  recordBytes: number;
  leaders: number[];
}

/**
 * CPU the 3 nodes spent per acknowledged message, in microseconds: steadier than the rates while
 * other work shares the machine, and what decides the rates when the CPUs are the limit.
 */
interface CpuPerMessage {
  nodesCpuUsPerMessage: number | null;
}

/**
 * Limits of this machine's disk, measured with no broker running, where the nodes write (all 3
 * share the one disk). A target beyond them cannot be met here whatever Tide does.
 */
export interface ClusterBounds {
  directory: string;
  /** With batched: one dd run, 1 MiB writes and one fdatasync at the end. */
  diskBufferedMBps?: number;
  /** Record batch bytes per record in (a)'s batches: the value, its framing and a share of the batch header. */
  wireBytesPerRecord?: number;
  batchedMsgsPerSecCeiling?: number;
  /**
   * With batched: bench/synced-appends.ts, one file per replica log appending chunks of
   * SYNCED_APPEND_CHUNK_BYTES, each followed by its fdatasync, all at once: what this disk gives
   * flush=sync's write pattern, and (a)'s rate at that many bytes per second. Not a hard ceiling
   * (fewer, larger fdatasyncs move more) but the one (a)'s nodes meet.
   */
  syncedAppends?: SyncedAppendsResult;
  batchedMsgsPerSecAtSyncedAppends?: number;
  /** With latency: bench/durable-append.ts at (c)'s rate into one file, from due time to durable. */
  latencyRatePerSec?: number;
  fsyncLatencyFloorMs?: { p50: number; p99: number; p999: number; max: number };
  durableAppend?: DurableAppendResult;
  /** Whether each target is within the bound above (null: that bound was not measured). */
  targetsWithinBounds: { batchedMsgsPerSec: boolean | null; latencyP99Ms: boolean | null };
}

type Flush = 'sync' | 'async';

type LatencyReport = OpenLoopResult & CpuPerMessage & { connectionsPerLeader: number; durationMs: number; flush: Flush };

export interface ClusterReport {
  config: ClusterConfigReport;
  bounds?: ClusterBounds;
  batched?: ProduceResult & CpuPerMessage & { connectionsPerLeader: number; inFlightPerConnection: number };
  perMessage?: ProduceResult & CpuPerMessage & { connectionsPerLeader: number; inFlightTotal: number };
  latency?: LatencyReport;
  /** (c) with flush=async on every node and the topic; everything else as in `latency`. */
  latencyFlushAsync?: LatencyReport;
  targets: { batchedMsgsPerSec: number; perMessageMsgsPerSec: number; latencyP99Ms: number };
}

const TOPIC = 'bench-replicated';
const MIN_INSYNC_REPLICAS = 2;
const SYNC_TIMEOUT_MS = 120_000;
const DISCARD_SETTLE_MS = 5_000;
/** What a follower wrote and fdatasynced per fetch in (a) (p50 509 KiB, measured in the fetcher). */
const SYNCED_APPEND_CHUNK_BYTES = 512 * 1024;
/** libuv's default thread pool, per node. */
const NODE_THREAD_POOL = 4;
const execFileAsync = promisify(execFile);

export async function runClusterSuite(settings: ClusterSettings): Promise<ClusterReport> {
  const report: ClusterReport = {
    config: {
      nodes: settings.nodes, replicationFactor: settings.nodes, minInsyncReplicas: MIN_INSYNC_REPLICAS, acks: 'all', flush: 'sync',
      partitions: settings.partitions, recordBytes: settings.recordBytes, leaders: [],
    },
    // Issue 5: (a) >= 150k msgs/s, (b) >= 20k msgs/s, (c) p99 <= 3 ms at 2,000 msgs/s.
    targets: { batchedMsgsPerSec: 150_000, perMessageMsgsPerSec: 20_000, latencyP99Ms: 3 },
  };
  if (settings.scenarios.includes('batched') || settings.scenarios.includes('latency')) report.bounds = await measureBounds(settings, report.targets);
  for (const [index, name] of settings.scenarios.entries()) {
    if (index > 0) {
      // The previous scenario's cluster wrote gigabytes and its data dirs were just deleted: let
      // writeback and the discard of those blocks finish, as after dd, before measuring again
      // (the second scenario of a full run measured up to 20 % lower without this).
      await execFileAsync('sync', [], { timeout: SYNC_TIMEOUT_MS });
      await new Promise((resolve) => setTimeout(resolve, DISCARD_SETTLE_MS));
    }
    const flush: Flush = name === 'latencyFlushAsync' ? 'async' : 'sync';
    await withCluster(settings, flush, async (cluster, layout) => {
      report.config.leaders = layout.leaders;
      const routes = routesOf(cluster, layout);
      const nodePid = cluster.nodes.map((node) => node.process.pid);
      const common = {
        port: routes[0]!.port, topic: TOPIC, partitions: settings.partitions, recordBytes: settings.recordBytes, acks: -1 as const,
        durationMs: settings.durationMs, maxBytes: settings.maxBytes, warmupMs: settings.warmupMs, nodePid, routes,
      };
      if (name === 'batched') {
        settings.progress(`cluster (a) batched: ${settings.batchBytes} B batches, ${settings.batchedConnectionsPerLeader} connection(s) per leader x ${settings.batchedInFlightPerConnection} in flight`);
        const produce = await runProducer({ ...common, connections: settings.batchedConnectionsPerLeader, inFlightPerConnection: settings.batchedInFlightPerConnection, batchBytes: settings.batchBytes });
        settings.progress(`cluster (a) batched: ${produce.msgsPerSec} msgs/s ${produce.mbPerSec} MB/s p99 ${produce.latencyMs.p99} ms, cpu client ${produce.cpu.clientPercent} % nodes ${produce.cpu.nodesPercent?.join('/')} % (${cpuPerMessage(produce.cpu.nodePercent, produce.msgsPerSec).nodesCpuUsPerMessage} us/msg)${errorText(produce.firstError)}`);
        report.batched = { ...produce, ...cpuPerMessage(produce.cpu.nodePercent, produce.msgsPerSec), connectionsPerLeader: settings.batchedConnectionsPerLeader, inFlightPerConnection: settings.batchedInFlightPerConnection };
        return produce.errors > 0;
      }
      if (name === 'perMessage') {
        settings.progress(`cluster (b) one record per request: ${settings.perMessageInFlightTotal} in flight over ${settings.perMessageConnectionsPerLeader} connection(s) per leader`);
        const produce = await runProducer({
          ...common, connections: settings.perMessageConnectionsPerLeader, inFlightPerConnection: 1, inFlightTotal: settings.perMessageInFlightTotal,
          // Smaller than one record: every batch holds exactly one.
          batchBytes: 1,
        });
        settings.progress(`cluster (b) one record per request: ${produce.msgsPerSec} msgs/s p50 ${produce.latencyMs.p50} ms p99 ${produce.latencyMs.p99} ms, cpu client ${produce.cpu.clientPercent} % nodes ${produce.cpu.nodesPercent?.join('/')} % (${cpuPerMessage(produce.cpu.nodePercent, produce.msgsPerSec).nodesCpuUsPerMessage} us/msg)${errorText(produce.firstError)}`);
        report.perMessage = { ...produce, ...cpuPerMessage(produce.cpu.nodePercent, produce.msgsPerSec), connectionsPerLeader: settings.perMessageConnectionsPerLeader, inFlightTotal: settings.perMessageInFlightTotal };
        return produce.errors > 0;
      }
      const label = flush === 'sync' ? '(c)' : '(c) flush=async';
      settings.progress(`cluster ${label} latency at ${settings.latencyRatePerSec} msgs/s for ${settings.latencyDurationMs} ms after ${settings.latencyWarmupMs} ms of warm-up, open loop`);
      const latency = await runOpenLoop({
        routes, topic: TOPIC, connectionsPerRoute: settings.latencyConnectionsPerLeader, recordBytes: settings.recordBytes, ratePerSec: settings.latencyRatePerSec,
        durationMs: settings.latencyDurationMs, warmupMs: settings.latencyWarmupMs, acks: -1, nodePid,
      });
      const l = latency.latencyMs;
      settings.progress(`cluster ${label} latency: p50 ${l.p50} ms p99 ${l.p99} ms p99.9 ${l.p999} ms max ${l.max} ms (service p99 ${latency.serviceLatencyMs.p99} ms; warm-up p50 ${latency.warmupLatencyMs?.p50} ms p99 ${latency.warmupLatencyMs?.p99} ms), ${latency.achievedMsgsPerSec} msgs/s, cpu nodes ${latency.cpu.nodesPercent?.join('/')} % (${cpuPerMessage(latency.cpu.nodePercent, latency.achievedMsgsPerSec).nodesCpuUsPerMessage} us/msg)${errorText(latency.firstError)}`);
      const result: LatencyReport = { ...latency, ...cpuPerMessage(latency.cpu.nodePercent, latency.achievedMsgsPerSec), connectionsPerLeader: settings.latencyConnectionsPerLeader, durationMs: settings.latencyDurationMs, flush };
      if (flush === 'sync') report.latency = result;
      else report.latencyFlushAsync = result;
      return latency.errors > 0;
    });
  }
  return report;
}

async function measureBounds(settings: ClusterSettings, targets: ClusterReport['targets']): Promise<ClusterBounds> {
  const directory = tmpdir();
  const bounds: Omit<ClusterBounds, 'targetsWithinBounds'> = { directory };
  const targetsWithinBounds: ClusterBounds['targetsWithinBounds'] = { batchedMsgsPerSec: null, latencyP99Ms: null };
  const parts: string[] = [];
  // The probe first: deleting dd's 1 GiB file makes the disk discard its blocks (ext4 `discard`),
  // which stalls fdatasyncs for a while after.
  if (settings.scenarios.includes('latency')) {
    const probe = await measureDurableAppend(directory, {
      ratePerSec: settings.latencyRatePerSec, durationMs: durableAppendDurationMs(settings.quick), recordBytes: DURABLE_APPEND_RECORD_BYTES,
    });
    const { p50, p99, p999, max } = probe.latencyMs;
    bounds.latencyRatePerSec = settings.latencyRatePerSec;
    bounds.fsyncLatencyFloorMs = { p50, p99, p999, max };
    bounds.durableAppend = probe;
    targetsWithinBounds.latencyP99Ms = p99 <= targets.latencyP99Ms;
    parts.push(`durable append at ${settings.latencyRatePerSec}/s p50 ${p50} ms p99 ${p99} ms p99.9 ${p999} ms (target (c) p99 ${targets.latencyP99Ms} ms), ${probe.fdatasyncs} fdatasyncs`);
  }
  if (settings.scenarios.includes('batched')) {
    const pool = buildBatchPool(settings.recordBytes, settings.batchBytes, 1);
    const wireBytesPerRecord = pool.batches[0]!.length / pool.recordsPerBatch;
    const synced = await measureSyncedAppends(directory, {
      files: settings.nodes * settings.partitions, chunkBytes: SYNCED_APPEND_CHUNK_BYTES, durationMs: syncedAppendsDurationMs(settings.quick), threads: settings.nodes * NODE_THREAD_POOL,
    });
    const atSynced = Math.round((synced.mbPerSec * 1_000_000) / (settings.nodes * wireBytesPerRecord));
    bounds.syncedAppends = synced;
    bounds.batchedMsgsPerSecAtSyncedAppends = atSynced;
    parts.push(`${synced.files} files appending ${synced.chunkBytes / 1024} KiB + fdatasync: ${synced.mbPerSec} MB/s (append p50 ${synced.appendMs.p50} ms) -> (a) at that rate ${atSynced} msgs/s`);
    // The discard of the probe's deleted files would otherwise slow dd.
    await execFileAsync('sync', [], { timeout: SYNC_TIMEOUT_MS });
    await new Promise((resolve) => setTimeout(resolve, DISCARD_SETTLE_MS));
    const dd = await measureBufferedWrite(directory, settings.quick ? 256 : 1024);
    // Every replica writes every batch to the same disk, so at best
    //   msgs/s = disk bytes/s / (replicationFactor x wireBytesPerRecord),
    // wireBytesPerRecord = 64 KiB batch bytes / records in it ~= 1024 + ~10 framing + ~1 of header.
    // Indexes, metadata and the fdatasyncs of flush=sync only take more, so this is a ceiling.
    const ceiling = Math.round((dd.mbPerSec * 1_000_000) / (settings.nodes * wireBytesPerRecord));
    bounds.diskBufferedMBps = dd.mbPerSec;
    bounds.wireBytesPerRecord = round(wireBytesPerRecord, 1);
    bounds.batchedMsgsPerSecCeiling = ceiling;
    targetsWithinBounds.batchedMsgsPerSec = targets.batchedMsgsPerSec <= ceiling;
    parts.push(`dd buffered ${dd.mbPerSec} MB/s -> (a) ceiling ${ceiling} msgs/s (target ${targets.batchedMsgsPerSec})`);
  }
  settings.progress(`cluster bounds: ${parts.join('; ')}`);
  // What dd left for writeback, and the discard of its blocks, should not slow the first scenario.
  await execFileAsync('sync', [], { timeout: SYNC_TIMEOUT_MS });
  if (settings.scenarios.includes('batched')) await new Promise((resolve) => setTimeout(resolve, DISCARD_SETTLE_MS));
  return { ...bounds, targetsWithinBounds };
}

function cpuPerMessage(nodesPercent: number | null, msgsPerSec: number): CpuPerMessage {
  // percent of one core = 10^4 us of CPU per second.
  return { nodesCpuUsPerMessage: nodesPercent === null || msgsPerSec <= 0 ? null : Math.round((nodesPercent * 10_000) / msgsPerSec) };
}

function errorText(error: string | null): string {
  return error ? ` ERROR ${error}` : '';
}

/** Each leader with the partitions it leads. */
function routesOf(cluster: BenchCluster, layout: BenchTopicLayout): ProducerRoute[] {
  return cluster.nodes.flatMap((node) => {
    const partitions = layout.leaders.flatMap((leader, partition) => (leader === node.nodeId ? [partition] : []));
    return partitions.length > 0 ? [{ port: node.process.kafkaPort, partitions }] : [];
  });
}

/** `body` returns true when it saw errors: the nodes' logs are then kept. */
async function withCluster(settings: ClusterSettings, flush: Flush, body: (cluster: BenchCluster, layout: BenchTopicLayout) => Promise<boolean>): Promise<void> {
  const env: Record<string, string> = {};
  if (settings.profileDir) {
    env['NODE_OPTIONS'] = `--import tsx --import ${join(import.meta.dirname, 'cpu-profile-hook.ts')}`;
    env['BENCH_CPU_PROFILE_DIR'] = settings.profileDir;
  }
  const cluster = await startBenchCluster(settings.nodes, [
    '--log.flush', flush, '--min.insync.replicas', String(MIN_INSYNC_REPLICAS), '--default.replication.factor', String(settings.nodes),
    '--offsets.topic.num.partitions', '1',
  ], env);
  let keepLogs = true;
  try {
    const layout = await createBenchTopic(cluster, TOPIC, settings.partitions, { 'min.insync.replicas': String(MIN_INSYNC_REPLICAS), flush });
    keepLogs = await body(cluster, layout);
  } finally {
    const codes = await stopBenchCluster(cluster, keepLogs);
    if (keepLogs || codes.some((code) => code !== 0)) settings.progress(`cluster exit codes ${codes.join(', ')}; logs kept in ${cluster.baseDir}`);
  }
}
