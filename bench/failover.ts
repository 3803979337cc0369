// Failover time (issue 5, item 8d): 3 real nodes, RF=3, acks=all, min.insync.replicas=2,
// flush=sync, 1 KiB records; one producer writes continuously (one record per Produce request, one
// at a time, a raw client on Tide's own codecs that refreshes metadata at once on any error and on
// NOT_LEADER_OR_FOLLOWER); the partition's leader gets a signal, and the bench measures from the
// signal to the first acknowledged write on the new leader (sent after the signal).
//   sigkill            SIGKILL of the partition leader, which is not the active controller
//   sigterm            SIGTERM of the partition leader (controlled shutdown), not the controller
//   sigkillController  SIGKILL of the node that is both the active controller and the leader
// Each trial uses a fresh topic led by the victim; afterwards everything acknowledged is read back
// from the new leader (at the acknowledged offset, with the acknowledged value) and the victim is
// restarted and waited for until it is back in the ISR. Default settings unless --failover-args.
//
//   node --import tsx bench/failover.ts [--trials 5] [--cases sigkill,sigterm,sigkillController]
//                                      [--args="--broker.connection.loss.fence.ms 300"] [--keep-logs]
// or through `npm run bench -- --only failover`. JSON on stdout, progress on stderr.
import { parseArgs } from 'node:util';
import { createTopicsCodec } from '../src/protocol/messages/create-topics.ts';
import { metadataCodec } from '../src/protocol/messages/metadata.ts';
import { defaultProduceRequest, produceCodec } from '../src/protocol/messages/produce.ts';
import { ZERO_UUID } from '../src/protocol/reader.ts';
import { buildRecordBatchSync } from '../src/protocol/records.ts';
import { readPartition } from '../test/helpers/read-all.ts';
import { liveNodes, startCluster, startNode, stopCluster, type TideCluster } from '../test/helpers/tide-cluster.ts';
import { BenchConnection } from './connection.ts';

export const failoverCaseNames = ['sigkill', 'sigterm', 'sigkillController'] as const;
export type FailoverCaseName = typeof failoverCaseNames[number];

export interface FailoverSettings {
  cases: FailoverCaseName[];
  trials: number;
  /** Extra `tide start` flags for every node (default settings when empty). */
  nodeArgs: string[];
  keepLogs: boolean;
  progress(message: string): void;
}

export interface FailoverTrial {
  victim: number;
  newLeader: number | null;
  /** Signal -> first acknowledged write (sent after the signal) on another node; null: none within the trial's limit. */
  failoverMs: number | null;
  /** Signal -> first Metadata answer naming another leader. */
  metadataMs: number | null;
  ackedBeforeSignal: number;
  /** Median send -> ack time before the signal: the floor under any failover time. */
  steadyLatencyMs: number | null;
  acked: number;
  /** What the client saw after the signal, in order (the first few events): ms since the signal. */
  timeline: string[];
  lost: number;
  errors: Record<string, number>;
}

export interface FailoverCaseReport {
  trials: FailoverTrial[];
  p50Ms: number | null;
  maxMs: number | null;
  lost: number;
}

export interface FailoverReport {
  settings: { nodes: 3; replicationFactor: 3; acks: 'all'; minInsyncReplicas: 2; flush: 'sync'; recordBytes: number; trials: number; nodeArgs: string[] };
  cases: Partial<Record<FailoverCaseName, FailoverCaseReport>>;
  /** The issue's targets, for the max over trials: SIGKILL of a leader <= 2000 ms (sigkill), SIGTERM <= 200 ms. */
  targets: { sigkillMaxMs: 2000; sigtermMaxMs: 200; sigkillMet: boolean | null; sigtermMet: boolean | null };
}

const RECORD_BYTES = 1024;
const PRODUCE_VERSION = 9;
const METADATA_VERSION = 12;
const CREATE_TOPICS_VERSION = 5;
const REQUEST_TIMEOUT_MS = 5000;
const RETRY_PAUSE_MS = 5;
const WARMUP_ACKS = 50;
const AFTER_FAILOVER_ACKS = 100;
const FAILOVER_LIMIT_MS = 30_000;
const READY_TIMEOUT_MS = 60_000;
const TOPIC_EXISTS = 36;
const SERVER_ERRORS: Record<number, string> = { 5: 'LEADER_NOT_AVAILABLE', 6: 'NOT_LEADER_OR_FOLLOWER', 7: 'REQUEST_TIMED_OUT', 19: 'NOT_ENOUGH_REPLICAS', 20: 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 74: 'FENCED_LEADER_EPOCH' };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
    promise.then((value) => { clearTimeout(timer); resolve(value); }, (error: unknown) => { clearTimeout(timer); reject(error as Error); });
  });
}

/** Connections to the nodes' Kafka ports, opened on demand and dropped on any failure. */
class Connections {
  private readonly open = new Map<number, BenchConnection>();

  constructor(private readonly cluster: TideCluster) {}

  async get(nodeId: number): Promise<BenchConnection> {
    const existing = this.open.get(nodeId);
    if (existing) return existing;
    const port = this.cluster.nodes.get(nodeId)?.process?.kafkaPort;
    if (port === undefined) throw new Error(`node ${nodeId} has no Kafka port`);
    const connection = await withTimeout(BenchConnection.open(port), 1000, `connect to node ${nodeId}`);
    this.open.set(nodeId, connection);
    return connection;
  }

  drop(nodeId: number): void {
    this.open.get(nodeId)?.close();
    this.open.delete(nodeId);
  }

  closeAll(): void {
    for (const nodeId of [...this.open.keys()]) this.drop(nodeId);
  }
}

interface PartitionInfo { leader: number; isr: number[] }

async function describePartition(connections: Connections, nodeId: number, topic: string): Promise<PartitionInfo | null> {
  try {
    const connection = await connections.get(nodeId);
    const { body } = await withTimeout(connection.send(metadataCodec, METADATA_VERSION, {
      topics: [{ name: topic, topicId: ZERO_UUID }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    }), 2000, 'metadata');
    const partition = body.topics[0]?.partitions[0];
    if (!partition || body.topics[0]!.errorCode !== 0 || partition.errorCode !== 0) return null;
    return { leader: partition.leaderId, isr: [...partition.isrNodes].sort() };
  } catch {
    connections.drop(nodeId);
    return null;
  }
}

async function controllerOf(cluster: TideCluster): Promise<number> {
  for (const node of liveNodes(cluster)) {
    try {
      const response = await fetch(`http://127.0.0.1:${node.process!.httpPort}/api/v1/cluster/quorum`, { signal: AbortSignal.timeout(2000) });
      const body = await response.json() as { controllerId: number };
      if (body.controllerId > 0) return body.controllerId;
    } catch {
      // Another node may know.
    }
  }
  return -1;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 100_000 && Date.now() < deadline; attempt++) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

async function createTopic(cluster: TideCluster, connections: Connections, topic: string, replicas: number[]): Promise<void> {
  await until(`topic ${topic} created`, READY_TIMEOUT_MS, async () => {
    try {
      const connection = await connections.get(replicas[1]!);
      const { body } = await withTimeout(connection.send(createTopicsCodec, CREATE_TOPICS_VERSION, {
        topics: [{ name: topic, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: replicas }], configs: [] }],
        timeoutMs: 30_000, validateOnly: false,
      }), 35_000, 'create topic');
      const errorCode = body.topics[0]!.errorCode;
      return errorCode === 0 || errorCode === TOPIC_EXISTS ? true : undefined;
    } catch {
      connections.drop(replicas[1]!);
      return undefined;
    }
  });
  // Ready when every live node names the victim as leader with the full ISR.
  await until(`topic ${topic} has its full ISR`, READY_TIMEOUT_MS, async () => {
    const views = await Promise.all(liveNodes(cluster).map((node) => describePartition(connections, node.nodeId, topic)));
    return views.every((view) => view !== null && view.leader === replicas[0] && view.isr.length === replicas.length) ? true : undefined;
  });
}

interface Ack { value: string; offset: number; leader: number; sentAtMs: number; ackedAtMs: number }

/** One producer: one Produce at a time to the leader it believes in; any failure -> fresh metadata. */
class FailoverProducer {
  readonly acks: Ack[] = [];
  readonly errors: Record<string, number> = {};
  private stopped = false;
  private sequence = 0;
  private leader = -1;
  private readonly padding = 'x'.repeat(RECORD_BYTES);
  signalAtMs: number | null = null;
  victim = -1;
  firstNewLeaderAck: Ack | null = null;
  firstNewLeaderMetadataMs: number | null = null;
  readonly timeline: string[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly cluster: TideCluster, private readonly connections: Connections, private readonly topic: string) {}

  start(): void {
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private count(kind: string, leader: number): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
    this.note(`produce to ${leader}: ${kind}`);
  }

  private note(event: string): void {
    if (this.signalAtMs === null || this.timeline.length >= 16) return;
    this.timeline.push(`${Math.round(performance.now() - this.signalAtMs)} ms ${event}`);
  }

  private async refreshLeader(): Promise<void> {
    this.leader = -1;
    // The nodes in turn; a dead one fails fast (connection refused).
    for (const nodeId of [...this.cluster.nodes.keys()]) {
      const view = await describePartition(this.connections, nodeId, this.topic);
      this.note(`metadata from ${nodeId}: ${view === null ? 'no answer' : `leader ${view.leader}`}`);
      if (view === null || view.leader < 0) continue;
      if (this.signalAtMs !== null && view.leader !== this.victim && this.firstNewLeaderMetadataMs === null) this.firstNewLeaderMetadataMs = performance.now() - this.signalAtMs;
      this.leader = view.leader;
      return;
    }
  }

  private async run(): Promise<void> {
    // Bounded by stop() and by a cap on attempts.
    for (let attempt = 0; attempt < 10_000_000 && !this.stopped; attempt++) {
      if (this.leader < 0) {
        await this.refreshLeader();
        if (this.leader < 0) {
          await sleep(RETRY_PAUSE_MS);
          continue;
        }
      }
      const leader = this.leader;
      const value = `${this.topic}:${this.sequence++}:`;
      const records = buildRecordBatchSync({ records: [{ value: Buffer.from(value + this.padding.slice(value.length)) }] });
      const sentAtMs = performance.now();
      try {
        const connection = await this.connections.get(leader);
        const { body } = await withTimeout(connection.send(produceCodec, PRODUCE_VERSION, {
          ...defaultProduceRequest(), transactionalId: null, acks: -1, timeoutMs: REQUEST_TIMEOUT_MS,
          topicData: [{ name: this.topic, partitionData: [{ index: 0, records }] }],
        }), REQUEST_TIMEOUT_MS + 2000, 'produce');
        const answer = body.responses[0]!.partitionResponses[0]!;
        if (answer.errorCode === 0) {
          const ack: Ack = { value, offset: Number(answer.baseOffset), leader, sentAtMs, ackedAtMs: performance.now() };
          this.acks.push(ack);
          if (this.signalAtMs !== null && this.firstNewLeaderAck === null && leader !== this.victim && sentAtMs >= this.signalAtMs) {
            this.firstNewLeaderAck = ack;
            this.note(`acknowledged by ${leader} (sent at ${Math.round(sentAtMs - this.signalAtMs)} ms)`);
          }
          continue;
        }
        this.count(SERVER_ERRORS[answer.errorCode] ?? `error ${answer.errorCode}`, leader);
      } catch (error) {
        this.connections.drop(leader);
        this.count((error as Error).message.includes('no answer') ? 'timeout' : 'connection', leader);
      }
      await sleep(RETRY_PAUSE_MS);
      await this.refreshLeader();
    }
  }
}

function percentile(sorted: number[], fraction: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

async function verify(cluster: TideCluster, topic: string, leader: number, acks: Ack[]): Promise<number> {
  const port = cluster.nodes.get(leader)!.process!.kafkaPort;
  const lastAcked = acks.reduce((max, ack) => Math.max(max, ack.offset), -1);
  // The HW may trail the last answer by a moment on a follower-turned-leader; read until it covers every ack.
  const { records } = await until(`HW of ${topic} covers every acknowledged offset`, 20_000, async () => {
    const read = await readPartition(port, topic, 0).catch(() => undefined);
    return read && read.highWatermark > lastAcked ? read : undefined;
  });
  const byOffset = new Map(records.map((record) => [record.offset, record.value?.toString('utf8').slice(0, 64) ?? '']));
  let lost = 0;
  for (const ack of acks) if (!(byOffset.get(ack.offset) ?? '').startsWith(ack.value)) lost++;
  return lost;
}

async function runTrial(cluster: TideCluster, connections: Connections, name: FailoverCaseName, trial: number, settings: FailoverSettings): Promise<FailoverTrial> {
  const controller = await until('an active controller', READY_TIMEOUT_MS, async () => {
    const id = await controllerOf(cluster);
    return id > 0 ? id : undefined;
  });
  const ids = [...cluster.nodes.keys()].sort();
  const victim = name === 'sigkillController' ? controller : ids.find((id) => id !== controller && id !== ((trial % 2) + 1)) ?? ids.find((id) => id !== controller)!;
  const topic = `failover-${name}-${trial}`;
  await createTopic(cluster, connections, topic, [victim, ...ids.filter((id) => id !== victim)]);

  const producer = new FailoverProducer(cluster, connections, topic);
  producer.victim = victim;
  producer.start();
  try {
    await until('warm-up acknowledgements', 30_000, async () => (producer.acks.length >= WARMUP_ACKS ? true : undefined));
    const victimProcess = cluster.nodes.get(victim)!.process!;
    const ackedBeforeSignal = producer.acks.length;
    producer.signalAtMs = performance.now();
    victimProcess.child.kill(name === 'sigterm' ? 'SIGTERM' : 'SIGKILL');
    const deadline = Date.now() + FAILOVER_LIMIT_MS;
    for (let round = 0; round < 100_000 && producer.firstNewLeaderAck === null && Date.now() < deadline; round++) await sleep(10);
    const resumed = producer.acks.length;
    for (let round = 0; round < 100_000 && producer.acks.length < resumed + AFTER_FAILOVER_ACKS && Date.now() < deadline + 10_000; round++) await sleep(10);
    await producer.stop();
    await withTimeout(victimProcess.exited, 30_000, `node ${victim} exit`).catch(() => victimProcess.child.kill('SIGKILL'));

    const first = producer.firstNewLeaderAck as Ack | null;
    const newLeader = first?.leader ?? null;
    const lost = newLeader === null ? producer.acks.length : await verify(cluster, topic, newLeader, producer.acks);
    const result: FailoverTrial = {
      victim, newLeader,
      failoverMs: first ? Math.round(first.ackedAtMs - producer.signalAtMs) : null,
      metadataMs: producer.firstNewLeaderMetadataMs === null ? null : Math.round(producer.firstNewLeaderMetadataMs),
      ackedBeforeSignal,
      steadyLatencyMs: percentile(producer.acks.slice(0, ackedBeforeSignal).map((ack) => ack.ackedAtMs - ack.sentAtMs).sort((a, b) => a - b), 0.5),
      acked: producer.acks.length, lost, errors: producer.errors, timeline: producer.timeline,
    };
    settings.progress(`${name} #${trial + 1}: victim ${victim} (controller ${controller}) -> leader ${newLeader}: ${result.failoverMs} ms (metadata ${result.metadataMs} ms, steady produce latency ${result.steadyLatencyMs?.toFixed(1)} ms), ${result.acked} acked, ${lost} lost, errors ${JSON.stringify(result.errors)}`);
    return result;
  } finally {
    await producer.stop();
    connections.drop(victim);
    // Back to three live nodes with the victim in the ISR before the next trial.
    await startNode(cluster, victim);
    await until(`node ${victim} back in the ISR of ${topic}`, READY_TIMEOUT_MS, async () => {
      const view = await describePartition(connections, victim, topic);
      return view !== null && view.isr.length === 3 ? true : undefined;
    });
  }
}

export async function runFailoverBench(settings: FailoverSettings): Promise<FailoverReport> {
  const cluster = await startCluster(3, ['--min.insync.replicas', '2', '--log.flush', 'sync', '--default.replication.factor', '3', '--offsets.topic.num.partitions', '1', ...settings.nodeArgs]);
  const connections = new Connections(cluster);
  let failed = false;
  const cases: Partial<Record<FailoverCaseName, FailoverCaseReport>> = {};
  try {
    for (const name of settings.cases) {
      const trials: FailoverTrial[] = [];
      for (let trial = 0; trial < settings.trials; trial++) trials.push(await runTrial(cluster, connections, name, trial, settings));
      const times = trials.map((trial) => trial.failoverMs ?? Infinity).sort((a, b) => a - b);
      const lost = trials.reduce((sum, trial) => sum + trial.lost, 0);
      if (lost > 0 || times.includes(Infinity)) failed = true;
      cases[name] = { trials, p50Ms: percentile(times, 0.5), maxMs: times.length > 0 ? times[times.length - 1]! : null, lost };
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    connections.closeAll();
    const keep = settings.keepLogs || failed;
    await stopCluster(cluster, keep);
    if (keep) settings.progress(`cluster data and logs kept in ${cluster.baseDir}`);
  }
  return {
    settings: { nodes: 3, replicationFactor: 3, acks: 'all', minInsyncReplicas: 2, flush: 'sync', recordBytes: RECORD_BYTES, trials: settings.trials, nodeArgs: settings.nodeArgs },
    cases,
    targets: {
      sigkillMaxMs: 2000, sigtermMaxMs: 200,
      sigkillMet: cases.sigkill ? (cases.sigkill.maxMs ?? Infinity) <= 2000 : null,
      sigtermMet: cases.sigterm ? (cases.sigterm.maxMs ?? Infinity) <= 200 : null,
    },
  };
}

export function parseFailoverCases(text: string): FailoverCaseName[] {
  const names = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
  for (const name of names) if (!(failoverCaseNames as readonly string[]).includes(name)) throw new Error(`unknown failover case "${name}" (${failoverCaseNames.join(', ')})`);
  return names as FailoverCaseName[];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string', default: '5' },
      cases: { type: 'string', default: failoverCaseNames.join(',') },
      args: { type: 'string', default: '' },
      'keep-logs': { type: 'boolean', default: false },
    },
  });
  const trials = Number(values.trials);
  if (!Number.isInteger(trials) || trials < 1 || trials > 100) throw new Error(`--trials must be an integer in [1, 100], got ${values.trials}`);
  const report = await runFailoverBench({
    cases: parseFailoverCases(values.cases!),
    trials,
    nodeArgs: values.args!.split(' ').filter((item) => item !== ''),
    keepLogs: values['keep-logs'] === true,
    progress: (message) => process.stderr.write(`[failover] ${message}\n`),
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}
