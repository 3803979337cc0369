// `npm run bench`: disk baseline with dd, then one fresh single node per scenario
// ({100 B, 1 KiB} x {acks=1, acks=all} x {flush=async, flush=sync}): pipelined produce, a read of
// everything from offset 0, and a tail phase (consumer following a live producer). One JSON
// document on stdout, progress on stderr. Not part of `npm test`: figures depend on the machine.
// `npm run -s bench > report.json` keeps npm's own banner out of stdout.
//
//   npm run bench                       full run: disk, single, cluster, failover (about 15 s of produce per scenario)
//   npm run bench -- --quick            short runs
//   npm run bench -- --only disk        one suite: disk, single, sweep, cluster (comma list)
//   npm run -s bench -- --only cluster  3 nodes, RF=3, acks=all, min ISR 2, flush=sync (bench/cluster.ts)
//   npm run -s bench -- --only cluster --cluster-scenarios latency   one of batched, perMessage, latency, latencyFlushAsync
//   npm run -s bench -- --only failover  SIGKILL/SIGTERM failover times on 3 nodes (bench/failover.ts;
//                                       --failover-trials N, --failover-cases sigkill,sigterm,sigkillController)
//   npm run bench -- --only single --record-bytes 1024 --acks 1 --flush async --in-flight 64
//   npm run bench -- --produce-only        skip the consume and tail phases
//   npm run bench -- --profile-dir /tmp/prof   nodes write a V8 CPU profile there on exit
//                                       (summarize with bench/profile-summary.ts)
import { cpus, tmpdir, totalmem } from 'node:os';
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultFetchRequest, defaultFetchRequestFetchPartition, defaultFetchRequestFetchTopic, fetchCodec } from '../src/protocol/messages/fetch.ts';
import { metadataCodec } from '../src/protocol/messages/metadata.ts';
import { ZERO_UUID } from '../src/protocol/reader.ts';
import { removeDir, startTide, stopTide, type TideProcess } from '../test/helpers/tide-process.ts';
import { BenchConnection } from './connection.ts';
import { consume, type ConsumeOptions, type ConsumeResult } from './consumer.ts';
import { measureDisk, type DiskReport } from './disk.ts';
import { failoverCaseNames, parseFailoverCases, runFailoverBench, type FailoverCaseName } from './failover.ts';
import { clusterScenarioNames, runClusterSuite, type ClusterScenarioName, type ClusterSettings } from './cluster.ts';
import { runProducer, type ProduceResult, type ProducerOptions } from './pipelined-producer.ts';
import { round } from './stats.ts';

const execFileAsync = promisify(execFile);
const SYNC_TIMEOUT_MS = 120_000;
const METADATA_VERSION = 12;
const TOPIC_READY_ATTEMPTS = 50;
const TOPIC_READY_RETRY_MS = 100;
const MiB = 1024 * 1024;

interface Settings {
  quick: boolean;
  suites: Set<string>;
  recordBytes: number[];
  acks: Array<1 | -1>;
  flush: Array<'async' | 'sync'>;
  partitions: number;
  connections: number;
  inFlightPerConnection: number;
  batchBytes: number;
  durationMs: number;
  warmupMs: number;
  maxBytes: number;
  tailMs: number;
  fetchMaxBytes: number;
  partitionMaxBytes: number;
  profileDir: string | null;
  produceOnly: boolean;
  failover: { trials: number; cases: FailoverCaseName[] };
  cluster: Omit<ClusterSettings, 'quick' | 'durationMs' | 'warmupMs' | 'maxBytes' | 'profileDir' | 'progress'>;
}

// Suites in the order they run: cluster is issue 5 item 8 a-c (bench/cluster.ts), failover item 8d (bench/failover.ts).
const SUITES = ['disk', 'single', 'sweep', 'cluster', 'failover'];

interface Scenario {
  recordBytes: number;
  acks: 1 | -1;
  flush: 'async' | 'sync';
  inFlightPerConnection: number;
  batchBytes: number;
}

interface ScenarioReport {
  recordBytes: number;
  acks: '1' | 'all';
  flush: 'async' | 'sync';
  connections: number;
  inFlightPerConnection: number;
  partitions: number;
  produce: ProduceResult;
  /** null with --produce-only. */
  consume: ConsumeResult | null;
  tail: { produce: ProduceResult; consume: ConsumeResult } | null;
}

function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', default: 'disk,single,cluster,failover' },
      'record-bytes': { type: 'string', default: '100,1024' },
      acks: { type: 'string', default: '1,all' },
      flush: { type: 'string', default: 'async,sync' },
      partitions: { type: 'string', default: '1' },
      connections: { type: 'string', default: '1' },
      // Measured with --only sweep on a 2-core VM: about 512 KiB in flight per connection did best;
      // deeper pipelines made writes larger and slower and the p99 much worse.
      'in-flight': { type: 'string', default: '16' },
      'batch-bytes': { type: 'string', default: String(32 * 1024) },
      'duration-ms': { type: 'string' },
      'max-mb': { type: 'string', default: '4000' },
      'tail-ms': { type: 'string' },
      'fetch-max-bytes': { type: 'string', default: String(16 * MiB) },
      'partition-max-bytes': { type: 'string', default: String(8 * MiB) },
      'profile-dir': { type: 'string' },
      'produce-only': { type: 'boolean', default: false },
      'cluster-scenarios': { type: 'string', default: clusterScenarioNames.join(',') },
      'cluster-partitions': { type: 'string', default: '6' },
      'cluster-batch-bytes': { type: 'string', default: String(64 * 1024) },
      'cluster-connections': { type: 'string', default: '1' },
      'cluster-in-flight': { type: 'string', default: '16' },
      'cluster-per-message-connections': { type: 'string', default: '4' },
      'cluster-in-flight-total': { type: 'string', default: '1000' },
      'cluster-rate': { type: 'string', default: '2000' },
      'cluster-latency-ms': { type: 'string' },
      'cluster-latency-warmup-ms': { type: 'string' },
      'failover-trials': { type: 'string' },
      'failover-cases': { type: 'string', default: failoverCaseNames.join(',') },
    },
  });
  const quick = values.quick === true;
  const list = (text: string) => text.split(',').map((item) => item.trim()).filter((item) => item !== '');
  const positive = (name: string, text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer, got "${text}"`);
    return value;
  };
  const suites = new Set(list(values.only!));
  for (const suite of suites) if (!SUITES.includes(suite)) throw new Error(`unknown suite "${suite}" (${SUITES.join(', ')})`);
  const clusterScenarios = list(values['cluster-scenarios']!).map((text) => {
    if (!(clusterScenarioNames as readonly string[]).includes(text)) throw new Error(`--cluster-scenarios takes ${clusterScenarioNames.join(', ')}, got "${text}"`);
    return text as ClusterScenarioName;
  });
  return {
    quick,
    suites,
    recordBytes: list(values['record-bytes']!).map((text) => positive('record-bytes', text)),
    acks: list(values.acks!).map((text) => {
      if (text === '1') return 1;
      if (text === 'all' || text === '-1') return -1;
      throw new Error(`--acks takes 1 and all, got "${text}"`);
    }),
    flush: list(values.flush!).map((text) => {
      if (text !== 'async' && text !== 'sync') throw new Error(`--flush takes async and sync, got "${text}"`);
      return text;
    }),
    partitions: positive('partitions', values.partitions!),
    connections: positive('connections', values.connections!),
    inFlightPerConnection: positive('in-flight', values['in-flight']!),
    batchBytes: positive('batch-bytes', values['batch-bytes']!),
    durationMs: positive('duration-ms', values['duration-ms'] ?? (quick ? '3000' : '15000')),
    // Three nodes on two cores are still compiling hot paths after 1 s (TurboFan ~5 % of their CPU
    // in the measured window then): 3 s lets the JIT settle before measuring.
    warmupMs: quick ? 300 : 3000,
    maxBytes: positive('max-mb', values['max-mb']!) * 1_000_000,
    tailMs: positive('tail-ms', values['tail-ms'] ?? (quick ? '1500' : '5000')),
    fetchMaxBytes: positive('fetch-max-bytes', values['fetch-max-bytes']!),
    partitionMaxBytes: positive('partition-max-bytes', values['partition-max-bytes']!),
    profileDir: values['profile-dir'] ?? null,
    produceOnly: values['produce-only'] === true,
    failover: { trials: positive('failover-trials', values['failover-trials'] ?? (quick ? '2' : '5')), cases: parseFailoverCases(values['failover-cases']!) },
    cluster: {
      scenarios: clusterScenarios,
      nodes: 3,
      partitions: positive('cluster-partitions', values['cluster-partitions']!),
      recordBytes: 1024,
      batchBytes: positive('cluster-batch-bytes', values['cluster-batch-bytes']!),
      batchedConnectionsPerLeader: positive('cluster-connections', values['cluster-connections']!),
      batchedInFlightPerConnection: positive('cluster-in-flight', values['cluster-in-flight']!),
      perMessageConnectionsPerLeader: positive('cluster-per-message-connections', values['cluster-per-message-connections']!),
      perMessageInFlightTotal: positive('cluster-in-flight-total', values['cluster-in-flight-total']!),
      latencyRatePerSec: positive('cluster-rate', values['cluster-rate']!),
      latencyDurationMs: positive('cluster-latency-ms', values['cluster-latency-ms'] ?? (quick ? '5000' : '20000')),
      // At 2,000 msgs/s the hot paths get hot slowly: on fresh nodes TurboFan took a third of all
      // CPU for the first 4 s of load, and (c) settled only ~6 s in (per-second p50/p99 from
      // 130/208 ms in the first second to ~10/30 ms from the sixth on). What the warm-up saw is
      // reported as `warmupLatencyMs`.
      latencyWarmupMs: positive('cluster-latency-warmup-ms', values['cluster-latency-warmup-ms'] ?? (quick ? '300' : '10000')),
      latencyConnectionsPerLeader: 1,
    },
  };
}

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function startNode(settings: Settings, flush: string): Promise<TideProcess> {
  const env: Record<string, string> = {};
  if (settings.profileDir) {
    env['NODE_OPTIONS'] = `--import tsx --import ${join(import.meta.dirname, 'cpu-profile-hook.ts')}`;
    env['BENCH_CPU_PROFILE_DIR'] = settings.profileDir;
  }
  return startTide({ args: ['--log.flush', flush, '--num.partitions', String(settings.partitions)], env });
}

/** Removes the node's data; its log stays when `keepLog` (a scenario saw errors) and its path is printed. */
async function stopNode(node: TideProcess, keepLog: boolean): Promise<void> {
  const exit = await stopTide(node);
  await removeDir(node.dataDir);
  if (keepLog || exit.code !== 0) progress(`node exited with code ${exit.code}; its log is kept: ${node.logPath}`);
  else await rm(node.logPath, { force: true });
}

/**
 * Creates the topic through Metadata auto-creation, then waits until every partition serves a
 * Fetch: the metadata image names a leader slightly before its replica is open.
 */
async function createTopic(port: number, topic: string, partitions: number): Promise<void> {
  const connection = await BenchConnection.open(port);
  try {
    for (let attempt = 0; attempt < TOPIC_READY_ATTEMPTS; attempt++) {
      if (await topicReady(connection, topic, partitions)) return;
      await new Promise((resolve) => setTimeout(resolve, TOPIC_READY_RETRY_MS));
    }
    throw new Error(`topic ${topic} not ready after ${TOPIC_READY_ATTEMPTS} attempts`);
  } finally {
    connection.close();
  }
}

async function topicReady(connection: BenchConnection, topic: string, partitions: number): Promise<boolean> {
  const { body: metadata } = await connection.send(metadataCodec, METADATA_VERSION, {
    topics: [{ name: topic, topicId: ZERO_UUID }],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  const described = metadata.topics[0];
  if (!described || described.errorCode !== 0 || described.partitions.length !== partitions) return false;
  const { body: fetched } = await connection.send(fetchCodec, 12, {
    ...defaultFetchRequest(),
    topics: [{
      ...defaultFetchRequestFetchTopic(),
      topic,
      partitions: Array.from({ length: partitions }, (_, partition) => ({ ...defaultFetchRequestFetchPartition(), partition, partitionMaxBytes: 1024 })),
    }],
  });
  const answered = fetched.responses[0]?.partitions ?? [];
  return fetched.errorCode === 0 && answered.length === partitions && answered.every((partition) => partition.errorCode === 0);
}

interface NodeRun {
  node: TideProcess;
  topic: string;
  /** Keep the node's log after the run (call when something failed). */
  keepLog(): void;
}

async function withNode<T>(settings: Settings, flush: string, body: (run: NodeRun) => Promise<T>): Promise<T> {
  // Write back what earlier scenarios (or dd) left dirty, so its writeback does not throttle this one.
  await execFileAsync('sync', [], { timeout: SYNC_TIMEOUT_MS });
  const node = await startNode(settings, flush);
  let keepLog = false;
  try {
    const topic = 'bench';
    await createTopic(node.kafkaPort, topic, settings.partitions);
    return await body({ node, topic, keepLog: () => { keepLog = true; } });
  } catch (error) {
    keepLog = true;
    throw error;
  } finally {
    await stopNode(node, keepLog);
  }
}

function describe(scenario: Scenario): string {
  return `${scenario.recordBytes} B acks=${scenario.acks === 1 ? '1' : 'all'} flush=${scenario.flush} in-flight=${scenario.inFlightPerConnection} batch=${scenario.batchBytes}`;
}

function producerOptions(settings: Settings, scenario: Scenario, node: TideProcess, topic: string): ProducerOptions {
  return {
    port: node.kafkaPort,
    nodePid: node.pid,
    topic,
    partitions: settings.partitions,
    connections: settings.connections,
    inFlightPerConnection: scenario.inFlightPerConnection,
    recordBytes: scenario.recordBytes,
    batchBytes: scenario.batchBytes,
    acks: scenario.acks,
    durationMs: settings.durationMs,
    maxBytes: settings.maxBytes,
    warmupMs: settings.warmupMs,
  };
}

async function runProducePhase(nodeRun: NodeRun, options: ProducerOptions, label: string): Promise<ProduceResult> {
  progress(`${label}: producing`);
  const produce = await runProducer(options);
  if (produce.errors > 0) nodeRun.keepLog();
  progress(`${label}: produce ${produce.mbPerSec} MB/s ${produce.msgsPerSec} msgs/s p99 ${produce.latencyMs.p99} ms, cpu client ${produce.cpu.clientPercent} % node ${produce.cpu.nodePercent} %${produce.firstError ? ` ERROR ${produce.firstError}` : ''}`);
  return produce;
}

/** Produce, read everything from offset 0, then a tail phase: a consumer at the log end while the producer runs again. */
async function runScenario(settings: Settings, scenario: Scenario): Promise<ScenarioReport> {
  const label = describe(scenario);
  return withNode(settings, scenario.flush, async (nodeRun) => {
    const { node, topic } = nodeRun;
    const options = producerOptions(settings, scenario, node, topic);
    const produce = await runProducePhase(nodeRun, options, label);
    const base = {
      recordBytes: scenario.recordBytes,
      acks: scenario.acks === 1 ? '1' as const : 'all' as const,
      flush: scenario.flush,
      connections: settings.connections,
      inFlightPerConnection: scenario.inFlightPerConnection,
      partitions: settings.partitions,
      produce,
    };
    if (settings.produceOnly) return { ...base, consume: null, tail: null };

    const consumerOptions: ConsumeOptions = {
      port: node.kafkaPort,
      nodePid: node.pid,
      topic,
      partitions: settings.partitions,
      recordBytes: scenario.recordBytes,
      startOffsets: Array.from({ length: settings.partitions }, () => 0),
      durationMs: Math.max(30_000, settings.durationMs * 4),
      maxWaitMs: 500,
      fetchMaxBytes: settings.fetchMaxBytes,
      partitionMaxBytes: settings.partitionMaxBytes,
    };
    const consumed = await consume(consumerOptions);
    progress(`${label}: consume from start ${consumed.mbPerSec} MB/s ${consumed.msgsPerSec} msgs/s (${consumed.messages} messages), cpu client ${consumed.cpu.clientPercent} % node ${consumed.cpu.nodePercent} %`);

    const stopTail = new AbortController();
    const tailConsumer = consume({ ...consumerOptions, startOffsets: consumed.endOffsets }, stopTail.signal);
    const tailProduce = await runProducer({ ...options, durationMs: settings.tailMs, warmupMs: 0 }).finally(() => stopTail.abort());
    const tailConsume = await tailConsumer;
    if (tailProduce.errors > 0) nodeRun.keepLog();
    progress(`${label}: tail produce ${tailProduce.msgsPerSec} msgs/s, consume ${tailConsume.msgsPerSec} msgs/s, caught up ${tailConsume.catchUpMs} ms after the producer stopped`);

    return { ...base, consume: consumed, tail: { produce: tailProduce, consume: tailConsume } };
  });
}

function singleNodeScenarios(settings: Settings): Scenario[] {
  const scenarios: Scenario[] = [];
  for (const recordBytes of settings.recordBytes) {
    for (const acks of settings.acks) {
      for (const flush of settings.flush) {
        scenarios.push({ recordBytes, acks, flush, inFlightPerConnection: settings.inFlightPerConnection, batchBytes: settings.batchBytes });
      }
    }
  }
  return scenarios;
}

// What pipelining depth and batch size suit this machine: acks=1, flush=async, 1 KiB records.
function sweepScenarios(): Scenario[] {
  const scenarios: Scenario[] = [];
  for (const batchBytes of [16 * 1024, 32 * 1024, 64 * 1024, 256 * 1024]) {
    for (const inFlightPerConnection of [1, 8, 16, 32, 64]) {
      scenarios.push({ recordBytes: 1024, acks: 1, flush: 'async', inFlightPerConnection, batchBytes });
    }
  }
  return scenarios;
}

async function runSweepPoint(settings: Settings, scenario: Scenario) {
  return withNode(settings, scenario.flush, async (nodeRun) => {
    const produce = await runProducePhase(nodeRun, producerOptions(settings, scenario, nodeRun.node, nodeRun.topic), describe(scenario));
    const { mbPerSec, wireMbPerSec, msgsPerSec, latencyMs, batchBytes, errors, cpu } = produce;
    return { batchBytes, inFlightPerConnection: scenario.inFlightPerConnection, mbPerSec, wireMbPerSec, msgsPerSec, latencyMs, errors, cpu };
  });
}

/** The issue's two targets, as ratios, per record size. */
function targets(disk: DiskReport | null, reports: ScenarioReport[]) {
  return reports.map((report) => ({
    recordBytes: report.recordBytes,
    acks: report.acks,
    flush: report.flush,
    produceWireVsDiskBuffered: disk ? round(report.produce.wireMbPerSec / disk.buffered.mbPerSec, 2) : null,
    produceWireVsDiskDsync1MiB: disk ? round(report.produce.wireMbPerSec / disk.dsync1MiB.mbPerSec, 2) : null,
    produceWireVsNodeWriter: disk ? round(report.produce.wireMbPerSec / disk.nodeWriter.mbPerSec, 2) : null,
    consumeVsProduce: report.consume ? round(report.consume.msgsPerSec / Math.max(1, report.produce.msgsPerSec), 2) : null,
    // Kept up: at most a second behind once the producer stopped.
    tailConsumeKeptUp: report.tail ? report.tail.consume.caughtUp && (report.tail.consume.catchUpMs ?? Infinity) < 1000 : null,
  }));
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  const cpuList = cpus();
  const result: Record<string, unknown> = {
    machine: { cpus: cpuList.length, cpuModel: cpuList[0]?.model ?? 'unknown', memoryGiB: round(totalmem() / 2 ** 30, 1), node: process.version, platform: process.platform },
    settings: { ...settings, suites: [...settings.suites], units: 'MB = 10^6 bytes; mbPerSec counts record values, wireMbPerSec whole batches' },
  };
  let disk: DiskReport | null = null;
  if (settings.suites.has('disk')) {
    progress(`dd in ${tmpdir()}`);
    disk = await measureDisk(tmpdir(), settings.quick);
    progress(`disk: buffered ${disk.buffered.mbPerSec} MB/s (runs ${disk.buffered.runsMbPerSec.join(', ')}), dsync 1 MiB ${disk.dsync1MiB.mbPerSec} MB/s, dsync 4 KiB ${disk.dsync4KiB.writesPerSec} writes/s, node writer ${disk.nodeWriter.mbPerSec} MB/s, durable append at ${disk.durableAppend.ratePerSec}/s p50 ${disk.durableAppend.latencyMs.p50} ms p99 ${disk.durableAppend.latencyMs.p99} ms p99.9 ${disk.durableAppend.latencyMs.p999} ms`);
    result['disk'] = disk;
  }
  if (settings.suites.has('single')) {
    const reports: ScenarioReport[] = [];
    for (const scenario of singleNodeScenarios(settings)) reports.push(await runScenario(settings, scenario));
    result['singleNode'] = reports;
    result['targets'] = targets(disk, reports);
  }
  if (settings.suites.has('sweep')) {
    const reports: Array<Awaited<ReturnType<typeof runSweepPoint>>> = [];
    for (const scenario of sweepScenarios()) reports.push(await runSweepPoint(settings, scenario));
    result['sweep'] = reports;
  }
  if (settings.suites.has('cluster')) {
    await execFileAsync('sync', [], { timeout: SYNC_TIMEOUT_MS });
    result['cluster'] = await runClusterSuite({
      ...settings.cluster, quick: settings.quick, durationMs: settings.durationMs, warmupMs: settings.warmupMs, maxBytes: settings.maxBytes, profileDir: settings.profileDir, progress,
    });
  }
  if (settings.suites.has('failover')) {
    result['failover'] = await runFailoverBench({ ...settings.failover, nodeArgs: [], keepLogs: false, progress });
  }
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench] failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
