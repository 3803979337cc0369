// One seeded run of a 3-replica partition under faults (after test/sim for Raft and KRaft's
// RaftEventSimulationTest). Everything happens on one event queue in virtual time: node ticks,
// message deliveries over lossy, delayed FIFO links that partitions can cut (one way or both),
// crashes and restarts (flush=sync: a crash is a power loss that keeps only fsynced records;
// flush=async: a process crash that keeps the page cache, see crash()), the controller fencing the leader, and clients producing with
// acks=all and min.insync.replicas=2 and consuming up to the HW. Invariants (invariants.ts) are
// checked after every event. Then faults stop, every node restarts, and the partition must
// accept a new acks=all write and bring all three replicas back in sync within a virtual budget.
import { SeededRandom } from '../../../src/io/random.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { PartitionReplica } from '../../../src/replication/partition-replica.ts';
import { ReplicaLog } from '../../../src/replication/replica-log.ts';
import type { EpochEntry } from '../../../src/storage/epoch-history.ts';
import type { FetchRequest, FollowerEffect, FollowerRequest, OffsetForLeaderEpochRequest, TruncationRule } from '../../../src/replication/follower-state.ts';
import type { AlterPartitionRequest, AlterPartitionResult, LeaderAction, PartitionState, ReplicaFetchAnswer, ReplicationConfig } from '../../../src/replication/types.ts';
import type { EpochEndOffset } from '../../../src/storage/epoch-history.ts';
import { EventQueue } from '../../sim/event-queue.ts';
import { ControllerModel } from './controller-model.ts';
import { InvariantChecker } from './invariants.ts';
import type { SimRecord } from './invariants.ts';
import { drawSwarm } from './swarm.ts';
import type { SwarmParameters } from './swarm.ts';

/**
 * Deliberate bugs, to prove the checker notices them:
 * truncate-to-hw: followers truncate to their own HW instead of by leader epoch (pre-KIP-101);
 * elect-outside-isr: the controller prefers a replica outside the ISR when electing (unclean);
 * async-power-loss: not a bug but a documented limit: flush=async seeds lose their unflushed tail
 * on every crash, and acknowledged data can then be lost (Kafka's KIP-966 hole).
 */
export type Mutation = 'truncate-to-hw' | 'elect-outside-isr' | 'async-power-loss';
export const mutations: readonly Mutation[] = ['truncate-to-hw', 'elect-outside-isr', 'async-power-loss'];

export interface SimulationOptions {
  readonly seed: number;
  readonly mutation?: Mutation;
  readonly trace?: (line: string) => void;
  readonly maxEvents?: number;
  readonly livenessBudgetMs?: number;
}

export interface Counters {
  events: number;
  messagesSent: number;
  messagesDropped: number;
  produced: number;
  acked: number;
  notEnoughReplicas: number;
  notEnoughReplicasAfterAppend: number;
  timedOut: number;
  notLeader: number;
  consumerReads: number;
  crashes: number;
  powerLosses: number;
  partitions: number;
  leaderFences: number;
  elections: number;
  leaderless: number;
  isrChanges: number;
  truncations: number;
  truncatedRecords: number;
  divergingEpochs: number;
}

export interface SeedResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violations: readonly string[];
  readonly virtualTimeMs: number;
  readonly recoveryMs: number | undefined;
  readonly counters: Counters;
  readonly parameters: SwarmParameters;
}

export const defaultMaxEvents = 40_000;
export const defaultLivenessBudgetMs = 60_000;
const CONTROLLER = 0;
const REPLICAS = [1, 2, 3] as const;
const TICK_MS = 10;
const CONTROLLER_TICK_MS = 20;
const METADATA_REBROADCAST_MS = 150;
const MIN_INSYNC_REPLICAS = 2;

type Payload =
  | { kind: 'fetch'; id: number; request: FetchRequest }
  | { kind: 'fetch-answer'; id: number; request: FetchRequest; answer: ReplicaFetchAnswer; records: SimRecord[] }
  | { kind: 'epoch-query'; id: number; request: OffsetForLeaderEpochRequest }
  | { kind: 'epoch-answer'; id: number; request: OffsetForLeaderEpochRequest; answer: EpochEndOffset & { errorCode: number } }
  | { kind: 'alter-partition'; request: AlterPartitionRequest }
  | { kind: 'alter-partition-answer'; request: AlterPartitionRequest; result: AlterPartitionResult }
  | { kind: 'heartbeat'; brokerEpoch: number; appliedVersion: number }
  | { kind: 'register'; incarnation: number }
  | { kind: 'registered'; brokerEpoch: number; version: number }
  | { kind: 'metadata'; state: PartitionState; version: number };

interface Envelope {
  from: number;
  to: number;
  fromIncarnation: number;
  toIncarnation: number;
  payload: Payload;
}

type SimEvent =
  | { kind: 'tick'; node: number }
  | { kind: 'controller-tick' }
  | { kind: 'deliver'; envelope: Envelope }
  | { kind: 'follower-send'; node: number; incarnation: number }
  | { kind: 'flush'; node: number; incarnation: number }
  | { kind: 'produce' }
  | { kind: 'consume' }
  | { kind: 'crash' }
  | { kind: 'restart'; node: number; incarnation: number }
  | { kind: 'partition' }
  | { kind: 'heal'; links: [number, number][] }
  | { kind: 'fence-leader' }
  | { kind: 'heal-all' }
  | { kind: 'probe' };

interface SimNode {
  readonly id: number;
  alive: boolean;
  incarnation: number;
  /** The disk: records[offset], of which the first flushedCount are fsynced. */
  records: SimRecord[];
  flushedCount: number;
  epochCheckpoint: EpochEntry[];
  hwCheckpoint: number;
  replica: PartitionReplica | undefined;
  registered: boolean;
  brokerEpoch: number;
  mustReachVersion: number;
  appliedVersion: number;
  lastHeartbeatMs: number;
  inflight: { id: number; request: FollowerRequest; sentAtMs: number } | undefined;
  alterInflight: { request: AlterPartitionRequest; sentAtMs: number } | undefined;
  flushScheduled: boolean;
  /** The leader epoch whose follower log was last compared with the leader's in full. */
  prefixCheckedEpoch: number;
  /** requestId -> the record a waiting produce wrote. */
  produces: Map<number, { offset: number; value: string }>;
}

export function runSeed(options: SimulationOptions): SeedResult {
  return new Simulation(options).run();
}

class Simulation {
  private readonly random: SeededRandom;
  private readonly parameters: SwarmParameters;
  private readonly config: ReplicationConfig;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly checker = new InvariantChecker();
  private readonly nodes = new Map<number, SimNode>();
  private readonly controller: ControllerModel;
  private readonly cut: boolean[][] = Array.from({ length: 4 }, () => new Array<boolean>(4).fill(false));
  private readonly lastDeliveryMs: number[][] = Array.from({ length: 4 }, () => new Array<number>(4).fill(0));
  private readonly truncationRule: TruncationRule | undefined;
  private readonly counters: Counters = {
    events: 0, messagesSent: 0, messagesDropped: 0, produced: 0, acked: 0, notEnoughReplicas: 0, notEnoughReplicasAfterAppend: 0,
    timedOut: 0, notLeader: 0, consumerReads: 0, crashes: 0, powerLosses: 0, partitions: 0, leaderFences: 0, elections: 0,
    leaderless: 0, isrChanges: 0, truncations: 0, truncatedRecords: 0, divergingEpochs: 0,
  };
  private readonly maxEvents: number;
  private readonly livenessBudgetMs: number;
  private nowMs = 0;
  private faultsActive = true;
  private nextId = 1;
  private healedAtMs: number | undefined;
  private recoveredAtMs: number | undefined;
  private ackedAfterHeal = false;
  private lastIsr = '1,2,3';

  constructor(private readonly options: SimulationOptions) {
    this.random = new SeededRandom(options.seed);
    this.parameters = drawSwarm(this.random);
    this.maxEvents = options.maxEvents ?? defaultMaxEvents;
    this.livenessBudgetMs = options.livenessBudgetMs ?? defaultLivenessBudgetMs;
    const p = this.parameters;
    this.config = { replicaLagTimeMaxMs: p.replicaLagTimeMaxMs, minInsyncReplicas: MIN_INSYNC_REPLICAS, flushSync: p.flushSync, truncateOnFetch: p.truncateOnFetch };
    this.truncationRule = options.mutation === 'truncate-to-hw'
      ? (log) => ({ endOffset: Math.min(log.highWatermark, log.logEndOffset), complete: true })
      : undefined;
    this.controller = new ControllerModel(REPLICAS, this.random.fork(), options.mutation === 'elect-outside-isr', (state, version, reason) => this.onControllerChange(state, version, reason));
    for (const id of REPLICAS) {
      const node: SimNode = {
        id, alive: false, incarnation: 0, records: [], flushedCount: 0, epochCheckpoint: [], hwCheckpoint: 0, replica: undefined,
        registered: false, brokerEpoch: 0, mustReachVersion: 0, appliedVersion: 0, lastHeartbeatMs: 0, inflight: undefined,
        alterInflight: undefined, flushScheduled: false, prefixCheckedEpoch: -1, produces: new Map(),
      };
      this.nodes.set(id, node);
      this.startProcess(node);
      // The initial registrations are in the controller model already.
      node.registered = true;
      node.brokerEpoch = this.controller.brokers.get(id)!.brokerEpoch;
      this.controller.brokers.get(id)!.incarnation = node.incarnation;
      node.mustReachVersion = 0;
      this.queue.schedule(this.random.nextFloat() * TICK_MS, { kind: 'tick', node: id });
      if (!p.flushSync) this.queue.schedule(p.flushIntervalMs, { kind: 'flush', node: id, incarnation: node.incarnation });
    }
    this.broadcastMetadata();
    this.queue.schedule(CONTROLLER_TICK_MS, { kind: 'controller-tick' });
    this.scheduleAfter(p.produceMeanIntervalMs, { kind: 'produce' });
    this.scheduleAfter(p.consumeMeanIntervalMs, { kind: 'consume' });
    this.scheduleAfter(p.crashMeanIntervalMs, { kind: 'crash' });
    this.scheduleAfter(p.partitionMeanIntervalMs, { kind: 'partition' });
    this.scheduleAfter(p.fenceLeaderMeanIntervalMs, { kind: 'fence-leader' });
    this.queue.schedule(p.faultPhaseMs, { kind: 'heal-all' });
  }

  run(): SeedResult {
    while (this.checker.violations.length === 0 && this.recoveredAtMs === undefined) {
      if (this.counters.events >= this.maxEvents && this.faultsActive) this.healAll();
      if (this.counters.events >= 3 * this.maxEvents) {
        this.checker.fail(`event budget of ${3 * this.maxEvents} exhausted before recovery (${this.describe()})`);
        break;
      }
      const next = this.queue.pop();
      if (next === undefined) break;
      this.nowMs = next.timeMs;
      if (this.healedAtMs !== undefined && this.nowMs > this.healedAtMs + this.livenessBudgetMs) {
        this.checker.fail(`liveness: not recovered within ${this.livenessBudgetMs} ms of healing (${this.describe()})`);
        break;
      }
      this.counters.events++;
      try {
        this.handle(next.event);
        this.checkAfterEvent();
      } catch (error) {
        this.checker.fail(`exception at ${this.nowMs.toFixed(1)} ms: ${(error as Error).stack ?? error}`);
      }
    }
    this.counters.elections = this.controller.elections;
    this.counters.leaderless = this.controller.leaderless;
    return {
      seed: this.options.seed,
      ok: this.checker.violations.length === 0,
      violations: [...this.checker.violations],
      virtualTimeMs: Math.round(this.nowMs),
      recoveryMs: this.recoveredAtMs !== undefined && this.healedAtMs !== undefined ? Math.round(this.recoveredAtMs - this.healedAtMs) : undefined,
      counters: { ...this.counters },
      parameters: this.parameters,
    };
  }

  private trace(line: string): void {
    this.options.trace?.(`${this.nowMs.toFixed(2).padStart(10)} ${line}`);
  }

  private scheduleAfter(meanMs: number, event: SimEvent): void {
    if (!Number.isFinite(meanMs)) return;
    // Exponential gaps: a Poisson process of events with the given mean.
    this.queue.schedule(this.nowMs + -Math.log(1 - this.random.nextFloat()) * meanMs, event);
  }

  private handle(event: SimEvent): void {
    switch (event.kind) {
      case 'tick': return this.onTick(event.node);
      case 'controller-tick': return this.onControllerTick();
      case 'deliver': return this.onDeliver(event.envelope);
      case 'follower-send': {
        const node = this.nodes.get(event.node)!;
        if (node.alive && node.incarnation === event.incarnation) this.sendFollowerRequest(node);
        return;
      }
      case 'flush': return this.onFlush(event.node, event.incarnation);
      case 'produce': return this.onProduce();
      case 'consume': return this.onConsume();
      case 'crash': return this.onCrash();
      case 'restart': return this.onRestart(event.node, event.incarnation);
      case 'partition': return this.onPartition();
      case 'heal': {
        for (const [from, to] of event.links) this.cut[from]![to] = false;
        return;
      }
      case 'fence-leader': return this.onFenceLeader();
      case 'heal-all': return this.healAll();
      case 'probe': return this.onProbe();
    }
  }

  // ---- processes ----

  private startProcess(node: SimNode): void {
    node.alive = true;
    node.incarnation++;
    const log = new ReplicaLog({
      logStartOffset: 0, logEndOffset: node.records.length, flushedOffset: node.records.length, highWatermark: node.hwCheckpoint, epochs: node.epochCheckpoint,
    });
    node.flushedCount = node.records.length;
    node.replica = new PartitionReplica(node.id, this.config, log, this.truncationRule);
    node.registered = false;
    node.mustReachVersion = Number.POSITIVE_INFINITY;
    node.appliedVersion = 0;
    node.inflight = undefined;
    node.alterInflight = undefined;
    node.flushScheduled = false;
    node.prefixCheckedEpoch = -1;
    node.produces.clear();
    node.lastHeartbeatMs = this.nowMs;
    this.checker.onStart(node.id);
    this.trace(`node ${node.id} starts (incarnation ${node.incarnation}, ${node.records.length} records, hw checkpoint ${node.hwCheckpoint})`);
  }

  private onCrash(): void {
    if (!this.faultsActive) return;
    this.scheduleAfter(this.parameters.crashMeanIntervalMs, { kind: 'crash' });
    const alive = REPLICAS.filter((id) => this.nodes.get(id)!.alive);
    if (alive.length === 0) return;
    const node = this.nodes.get(alive[this.random.nextInt(alive.length)]!)!;
    this.crash(node);
    this.queue.schedule(this.nowMs + this.random.nextFloat() * this.parameters.downtimeMaxMs, { kind: 'restart', node: node.id, incarnation: node.incarnation });
  }

  private crash(node: SimNode): void {
    this.counters.crashes++;
    // flush=sync: a crash is a power loss (only fsynced records survive). flush=async: a process
    // crash (kill -9) that keeps the page cache, the failure Kafka's no-fsync durability is built
    // for; power loss with flush=async is the KIP-966 hole (an ISR member that lost its unflushed
    // tail gets elected), shown by the async-power-loss mode, which must find a violation.
    const powerLoss = this.parameters.flushSync || this.options.mutation === 'async-power-loss';
    const lost = powerLoss ? node.records.length - node.flushedCount : 0;
    if (powerLoss) {
      node.records.length = node.flushedCount;
      if (lost > 0) this.counters.powerLosses++;
    }
    node.alive = false;
    node.replica = undefined;
    node.produces.clear();
    this.trace(`node ${node.id} crashes${powerLoss ? ` (power loss: ${lost} unflushed records lost)` : ' (page cache kept)'}`);
  }

  private onRestart(nodeId: number, incarnation: number): void {
    const node = this.nodes.get(nodeId)!;
    if (node.alive || node.incarnation !== incarnation) return;
    this.startProcess(node);
    this.send(node, CONTROLLER, { kind: 'register', incarnation: node.incarnation });
    if (!this.parameters.flushSync) this.queue.schedule(this.nowMs + this.parameters.flushIntervalMs, { kind: 'flush', node: node.id, incarnation: node.incarnation });
  }

  private onTick(nodeId: number): void {
    const node = this.nodes.get(nodeId)!;
    this.queue.schedule(this.nowMs + TICK_MS, { kind: 'tick', node: nodeId });
    if (!node.alive) return;
    node.hwCheckpoint = node.replica!.log.highWatermark;
    if (!node.registered) {
      if (this.nowMs - node.lastHeartbeatMs >= this.parameters.requestTimeoutMs) {
        node.lastHeartbeatMs = this.nowMs;
        this.send(node, CONTROLLER, { kind: 'register', incarnation: node.incarnation });
      }
      return;
    }
    if (this.nowMs - node.lastHeartbeatMs >= this.parameters.heartbeatIntervalMs) {
      node.lastHeartbeatMs = this.nowMs;
      this.send(node, CONTROLLER, { kind: 'heartbeat', brokerEpoch: node.brokerEpoch, appliedVersion: node.appliedVersion });
    }
    const replica = node.replica!;
    this.applyLeaderActions(node, replica.tick(this.nowMs));
    const leader = replica.leader;
    if (node.alterInflight !== undefined && leader?.pendingAlterPartition !== node.alterInflight.request) node.alterInflight = undefined;
    if (node.alterInflight !== undefined && this.nowMs - node.alterInflight.sentAtMs >= this.parameters.requestTimeoutMs) {
      // No answer: resend the same request (the controller answers a repeat idempotently).
      node.alterInflight.sentAtMs = this.nowMs;
      this.send(node, CONTROLLER, { kind: 'alter-partition', request: node.alterInflight.request });
    }
    if (node.inflight !== undefined && this.nowMs - node.inflight.sentAtMs >= this.parameters.requestTimeoutMs) {
      node.inflight = undefined;
      this.sendFollowerRequest(node);
    }
  }

  private onFlush(nodeId: number, incarnation: number): void {
    const node = this.nodes.get(nodeId)!;
    if (!node.alive || node.incarnation !== incarnation) return;
    node.flushScheduled = false;
    if (!this.parameters.flushSync) this.queue.schedule(this.nowMs + this.parameters.flushIntervalMs, { kind: 'flush', node: nodeId, incarnation });
    node.flushedCount = node.records.length;
    const replica = node.replica!;
    if (replica.leader !== undefined) this.applyLeaderActions(node, replica.leader.onFlushed(node.flushedCount));
    else if (replica.follower !== undefined) {
      replica.follower.onFlushed(node.flushedCount);
      if (node.inflight === undefined) this.sendFollowerRequest(node);
    } else replica.log.flushed(node.flushedCount);
  }

  private scheduleSyncFlush(node: SimNode): void {
    if (!this.parameters.flushSync || node.flushScheduled) return;
    node.flushScheduled = true;
    this.queue.schedule(this.nowMs + this.parameters.fsyncLatencyMs, { kind: 'flush', node: node.id, incarnation: node.incarnation });
  }

  // ---- network ----

  private send(from: SimNode | undefined, to: number, payload: Payload): void {
    const fromId = from?.id ?? CONTROLLER;
    const toNode = this.nodes.get(to);
    const envelope: Envelope = { from: fromId, to, fromIncarnation: from?.incarnation ?? 0, toIncarnation: toNode?.incarnation ?? 0, payload };
    this.counters.messagesSent++;
    if (this.cut[fromId]![to] || (this.faultsActive && this.random.nextFloat() < this.parameters.dropRate)) {
      this.counters.messagesDropped++;
      return;
    }
    const p = this.parameters;
    // FIFO per link, like one TCP connection.
    const atMs = Math.max(this.lastDeliveryMs[fromId]![to]!, this.nowMs + p.delayMinMs + this.random.nextFloat() * (p.delayMaxMs - p.delayMinMs));
    this.lastDeliveryMs[fromId]![to] = atMs;
    this.queue.schedule(atMs, { kind: 'deliver', envelope });
  }

  private onDeliver(envelope: Envelope): void {
    // A connection dies with either end's process: nothing from an old incarnation arrives.
    const from = this.nodes.get(envelope.from);
    const to = this.nodes.get(envelope.to);
    if (from !== undefined && (!from.alive || from.incarnation !== envelope.fromIncarnation)) return;
    if (to !== undefined && (!to.alive || to.incarnation !== envelope.toIncarnation)) return;
    if (this.cut[envelope.from]![envelope.to]) return;
    if (envelope.to === CONTROLLER) return this.controllerReceive(envelope.from, envelope.payload);
    this.nodeReceive(to!, envelope.from, envelope.payload);
  }

  private onPartition(): void {
    if (!this.faultsActive) return;
    this.scheduleAfter(this.parameters.partitionMeanIntervalMs, { kind: 'partition' });
    this.counters.partitions++;
    const everyone = [CONTROLLER, ...REPLICAS];
    const links: [number, number][] = [];
    const shape = this.random.nextInt(3);
    if (shape === 0) {
      // Isolate one participant (a replica or the controller) both ways.
      const isolated = everyone[this.random.nextInt(everyone.length)]!;
      for (const other of everyone) if (other !== isolated) links.push([isolated, other], [other, isolated]);
    } else if (shape === 1) {
      // One-way cut of a single link.
      const from = everyone[this.random.nextInt(everyone.length)]!;
      const others = everyone.filter((id) => id !== from);
      links.push([from, others[this.random.nextInt(others.length)]!]);
    } else {
      // Cut the current leader off from its followers only (it still reaches the controller).
      const leader = this.controller.state.leader;
      if (leader < 0) return;
      for (const other of REPLICAS) if (other !== leader) links.push([leader, other], [other, leader]);
    }
    for (const [from, to] of links) this.cut[from]![to] = true;
    this.trace(`partition: cut ${links.map(([from, to]) => `${from}->${to}`).join(' ')}`);
    this.queue.schedule(this.nowMs + this.random.nextFloat() * this.parameters.partitionDurationMaxMs, { kind: 'heal', links });
  }

  // ---- controller ----

  private onControllerTick(): void {
    this.queue.schedule(this.nowMs + CONTROLLER_TICK_MS, { kind: 'controller-tick' });
    this.controller.tick(this.nowMs, this.parameters.sessionTimeoutMs);
    if (Math.floor(this.nowMs / METADATA_REBROADCAST_MS) !== Math.floor((this.nowMs - CONTROLLER_TICK_MS) / METADATA_REBROADCAST_MS)) this.broadcastMetadata();
  }

  private onFenceLeader(): void {
    if (!this.faultsActive) return;
    this.scheduleAfter(this.parameters.fenceLeaderMeanIntervalMs, { kind: 'fence-leader' });
    const leader = this.controller.state.leader;
    if (leader < 0) return;
    this.counters.leaderFences++;
    this.controller.fence(leader, 'fault injected');
  }

  private onControllerChange(state: PartitionState, version: number, reason: string): void {
    this.trace(`controller v${version}: ${reason} -> leader ${state.leader} epoch ${state.leaderEpoch}/${state.partitionEpoch} isr [${state.isr.join(',')}]`);
    if (state.isr.join(',') !== this.lastIsr) this.counters.isrChanges++;
    this.lastIsr = state.isr.join(',');
    // A replica newly counted in the ISR must already hold everything acknowledged.
    for (const id of state.isr) {
      const node = this.nodes.get(id)!;
      if (node.alive && node.registered) this.checker.checkHoldsAcked(id, node.records, `ISR member in v${version}`);
    }
    this.broadcastMetadata();
  }

  private broadcastMetadata(): void {
    for (const id of REPLICAS) this.send(undefined, id, { kind: 'metadata', state: this.controller.state, version: this.controller.version });
  }

  private controllerReceive(from: number, payload: Payload): void {
    switch (payload.kind) {
      case 'heartbeat':
        this.controller.heartbeat(from, payload.brokerEpoch, payload.appliedVersion, this.nowMs);
        return;
      case 'register': {
        const answer = this.controller.register(from, payload.incarnation, this.nowMs);
        this.send(undefined, from, { kind: 'registered', ...answer });
        return;
      }
      case 'alter-partition':
        this.send(undefined, from, { kind: 'alter-partition-answer', request: payload.request, result: this.controller.alterPartition(payload.request) });
        return;
      default:
        throw new Error(`controller got ${payload.kind}`);
    }
  }

  // ---- replicas ----

  private nodeReceive(node: SimNode, from: number, payload: Payload): void {
    const replica = node.replica!;
    switch (payload.kind) {
      case 'registered':
        if (node.registered) return;
        node.registered = true;
        node.brokerEpoch = payload.brokerEpoch;
        node.mustReachVersion = payload.version;
        return;
      case 'metadata': return this.onMetadata(node, payload.state, payload.version);
      case 'alter-partition-answer': {
        if (node.alterInflight?.request === payload.request) node.alterInflight = undefined;
        if (replica.leader !== undefined) this.applyLeaderActions(node, replica.leader.onAlterPartitionResult(payload.request, payload.result));
        return;
      }
      case 'fetch': return this.answerFetch(node, from, payload.id, payload.request);
      case 'epoch-query': {
        const answer = replica.leader?.onOffsetForLeaderEpoch(payload.request.currentLeaderEpoch, payload.request.requestedEpoch)
          ?? { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, epoch: -1, endOffset: -1 };
        this.send(node, from, { kind: 'epoch-answer', id: payload.id, request: payload.request, answer });
        return;
      }
      case 'fetch-answer':
      case 'epoch-answer': return this.onFollowerAnswer(node, payload);
      default:
        throw new Error(`node got ${payload.kind}`);
    }
  }

  private onMetadata(node: SimNode, state: PartitionState, version: number): void {
    // A restarted broker acts only on metadata at least as new as its own registration.
    if (!node.registered || version < node.mustReachVersion) return;
    const replica = node.replica!;
    const leaderBefore = replica.leader;
    const followerBefore = replica.follower;
    const outcome = replica.onMetadata(state, this.nowMs);
    node.appliedVersion = Math.max(node.appliedVersion, version);
    if (!outcome.accepted) return;
    this.applyLeaderActions(node, outcome.actions);
    node.epochCheckpoint = replica.log.epochs.list();
    if (replica.leader !== undefined && replica.leader !== leaderBefore) {
      this.trace(`node ${node.id} leads epoch ${state.leaderEpoch} from offset ${replica.leader.epochStartOffset}`);
      this.checker.onBecomeLeader(node.id, state.leaderEpoch, node.records);
    }
    if (replica.follower !== followerBefore) {
      node.inflight = undefined;
      this.sendFollowerRequest(node);
    }
  }

  private sendFollowerRequest(node: SimNode): void {
    const follower = node.replica?.follower;
    if (follower === undefined || node.inflight !== undefined) return;
    const request = follower.nextRequest();
    if (request === undefined) return;
    const id = this.nextId++;
    node.inflight = { id, request, sentAtMs: this.nowMs };
    if (request.kind === 'fetch') this.send(node, request.leaderId, { kind: 'fetch', id, request });
    else this.send(node, request.leaderId, { kind: 'epoch-query', id, request });
  }

  private answerFetch(node: SimNode, from: number, id: number, request: FetchRequest): void {
    const leader = node.replica!.leader;
    if (leader === undefined) {
      const answer: ReplicaFetchAnswer = { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, highWatermark: 0, logStartOffset: 0, logEndOffset: 0, readFromOffset: 0, readToOffset: 0 };
      this.send(node, from, { kind: 'fetch-answer', id, request, answer, records: [] });
      return;
    }
    const { answer, actions } = leader.onFetch(request.request, this.nowMs);
    const readTo = Math.min(answer.readToOffset, answer.readFromOffset + this.parameters.maxRecordsPerFetch);
    const records = answer.errorCode === ErrorCode.NONE ? node.records.slice(answer.readFromOffset, readTo) : [];
    this.send(node, from, { kind: 'fetch-answer', id, request, answer, records });
    this.applyLeaderActions(node, actions);
  }

  private onFollowerAnswer(node: SimNode, payload: Extract<Payload, { kind: 'fetch-answer' | 'epoch-answer' }>): void {
    if (node.inflight?.id !== payload.id) return;
    node.inflight = undefined;
    const follower = node.replica!.follower;
    if (follower === undefined) return;
    let effects: FollowerEffect[];
    let backoff = false;
    if (payload.kind === 'epoch-answer') {
      effects = follower.onOffsetForLeaderEpochAnswer(payload.request, payload.answer);
      backoff = payload.answer.errorCode !== ErrorCode.NONE;
    } else {
      const from = payload.answer.readFromOffset;
      const batches = payload.records.map((record, index) => ({ nextOffset: from + index + 1, epoch: record.epoch }));
      effects = follower.onFetchAnswer(payload.request, payload.answer, batches);
      if (payload.answer.divergingEpoch !== undefined) {
        this.counters.divergingEpochs++;
        this.trace(`node ${node.id} fetch at ${payload.request.request.fetchOffset} (last epoch ${payload.request.request.lastFetchedEpoch}) diverges: leader ends epoch ${payload.answer.divergingEpoch.epoch} at ${payload.answer.divergingEpoch.endOffset}`);
      }
      backoff = payload.answer.errorCode !== ErrorCode.NONE || payload.records.length === 0;
      for (const effect of effects) {
        if (effect.kind !== 'append') continue;
        if (node.records.length !== effect.fromOffset) throw new Error(`append at ${effect.fromOffset} but node ${node.id} has ${node.records.length} records`);
        for (let offset = effect.fromOffset; offset < effect.toOffset; offset++) node.records.push(payload.records[offset - from]!);
        this.scheduleSyncFlush(node);
      }
    }
    for (const effect of effects) {
      if (effect.kind !== 'truncate') continue;
      this.counters.truncations++;
      this.counters.truncatedRecords += Math.max(0, node.records.length - effect.endOffset);
      this.checker.onTruncate(node.id, effect.endOffset, this.controller.state.isr.includes(node.id));
      this.trace(`node ${node.id} truncates ${node.records.length} -> ${effect.endOffset}`);
      node.records.length = Math.min(node.records.length, effect.endOffset);
      node.flushedCount = Math.min(node.flushedCount, node.records.length);
    }
    node.epochCheckpoint = node.replica!.log.epochs.list();
    // Once per leader epoch, at the first clean fetch: truncation is over, the log must be a prefix of the leader's.
    if (payload.kind === 'fetch-answer' && payload.answer.errorCode === ErrorCode.NONE && payload.answer.divergingEpoch === undefined && node.prefixCheckedEpoch !== follower.leaderEpoch) {
      node.prefixCheckedEpoch = follower.leaderEpoch;
      this.checkFollowerPrefix(node);
    }
    if (backoff) this.queue.schedule(this.nowMs + this.parameters.fetchBackoffMs, { kind: 'follower-send', node: node.id, incarnation: node.incarnation });
    else this.sendFollowerRequest(node);
  }

  private checkFollowerPrefix(node: SimNode): void {
    const follower = node.replica!.follower!;
    const leaderNode = this.nodes.get(follower.leaderId)!;
    const leader = leaderNode.replica?.leader;
    if (!leaderNode.alive || leader === undefined || leader.leaderEpoch !== follower.leaderEpoch) return;
    this.checker.checkPrefix(node.id, node.records, leaderNode.id, leaderNode.records);
  }

  private applyLeaderActions(node: SimNode, actions: readonly LeaderAction[]): void {
    for (const action of actions) {
      switch (action.kind) {
        case 'produce-done': this.onProduceDone(node, action.requestId, action.errorCode); break;
        case 'alter-partition':
          node.alterInflight = { request: action.request, sentAtMs: this.nowMs };
          this.send(node, CONTROLLER, { kind: 'alter-partition', request: action.request });
          break;
        case 'high-watermark': break; // Checked after every event.
      }
    }
  }

  // ---- clients ----

  private onProduce(): void {
    const afterHeal = this.healedAtMs !== undefined;
    this.scheduleAfter(afterHeal ? 50 : this.parameters.produceMeanIntervalMs, { kind: 'produce' });
    if (afterHeal && this.ackedAfterHeal) return;
    // Mostly to the leader the controller names; sometimes to a replica with stale ideas.
    const target = this.random.nextInt(4) === 0 ? REPLICAS[this.random.nextInt(3)]! : this.controller.state.leader;
    const node = this.nodes.get(target);
    const leader = node?.alive && node.registered ? node.replica!.leader : undefined;
    if (node === undefined || leader === undefined) {
      this.counters.notLeader++;
      return;
    }
    const refusal = leader.checkProduce(-1);
    if (refusal !== ErrorCode.NONE) {
      if (refusal === ErrorCode.NOT_ENOUGH_REPLICAS) this.counters.notEnoughReplicas++;
      return;
    }
    const requestId = this.nextId++;
    const value = `v${requestId}${afterHeal ? 'h' : ''}`;
    const offset = node.records.length;
    node.records.push({ value, epoch: leader.leaderEpoch });
    node.produces.set(requestId, { offset, value });
    this.counters.produced++;
    this.applyLeaderActions(node, leader.onAppend(node.records.length, this.nowMs, { requestId, acks: -1, timeoutMs: this.parameters.produceTimeoutMs }));
    this.scheduleSyncFlush(node);
  }

  private onProduceDone(node: SimNode, requestId: number, errorCode: number): void {
    const produce = node.produces.get(requestId);
    if (produce === undefined) return;
    node.produces.delete(requestId);
    if (errorCode === ErrorCode.NONE) {
      this.counters.acked++;
      if (produce.value.endsWith('h')) this.ackedAfterHeal = true;
      const members = this.controller.state.isr
        .map((id) => this.nodes.get(id)!)
        .filter((member) => member.alive && member.registered)
        .map((member) => ({ id: member.id, records: member.records }));
      this.checker.onAcked(produce.offset, produce.value, members, this.nowMs);
    } else if (errorCode === ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND) this.counters.notEnoughReplicasAfterAppend++;
    else if (errorCode === ErrorCode.REQUEST_TIMED_OUT) this.counters.timedOut++;
    else if (errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) this.counters.notLeader++;
  }

  /** A consumer reads a leader up to its HW (the checker already holds every replica's HW prefix as exposed). */
  private onConsume(): void {
    this.scheduleAfter(this.parameters.consumeMeanIntervalMs, { kind: 'consume' });
    const leaders = REPLICAS.map((id) => this.nodes.get(id)!).filter((node) => node.alive && node.registered && node.replica?.leader !== undefined);
    if (leaders.length === 0) return;
    const node = leaders[this.random.nextInt(leaders.length)]!;
    this.counters.consumerReads++;
    this.checker.onConsumerRead(node.id, node.records.slice(0, node.replica!.log.highWatermark));
  }

  // ---- invariants and recovery ----

  private checkAfterEvent(): void {
    for (const id of REPLICAS) {
      const node = this.nodes.get(id)!;
      if (!node.alive) continue;
      const log = node.replica!.log;
      if (log.logEndOffset !== node.records.length) throw new Error(`node ${id}: replica log end ${log.logEndOffset} but ${node.records.length} records on disk`);
      this.checker.onHighWatermark(id, log.highWatermark, node.records, this.nowMs);
    }
  }

  private healAll(): void {
    if (!this.faultsActive) return;
    this.faultsActive = false;
    this.healedAtMs = this.nowMs;
    this.trace('heal: faults stop, links heal, every node restarts');
    for (const row of this.cut) row.fill(false);
    for (const id of REPLICAS) {
      const node = this.nodes.get(id)!;
      if (node.alive) this.crash(node);
      this.onRestart(id, node.incarnation);
    }
    this.queue.schedule(this.nowMs + 100, { kind: 'probe' });
  }

  /** Recovered when an acks=all write made after healing is acknowledged and all three replicas are in sync. */
  private onProbe(): void {
    this.queue.schedule(this.nowMs + 100, { kind: 'probe' });
    if (!this.ackedAfterHeal) return;
    const leaderNode = REPLICAS.map((id) => this.nodes.get(id)!).find((node) => node.alive && node.replica?.leader !== undefined);
    const leader = leaderNode?.replica?.leader;
    if (leaderNode === undefined || leader === undefined || leader.leaderEpoch !== this.controller.state.leaderEpoch) return;
    if (leader.committedIsr.length !== REPLICAS.length || leader.highWatermark !== leaderNode.records.length) return;
    for (const id of REPLICAS) {
      if (this.nodes.get(id)!.records.length !== leaderNode.records.length) return;
    }
    for (const id of REPLICAS) if (id !== leaderNode.id) this.checker.checkPrefix(id, this.nodes.get(id)!.records, leaderNode.id, leaderNode.records);
    this.checker.checkFinal(leaderNode.id, leaderNode.records);
    this.recoveredAtMs = this.nowMs;
  }

  private describe(): string {
    const state = this.controller.state;
    const nodes = REPLICAS.map((id) => {
      const node = this.nodes.get(id)!;
      const replica = node.replica;
      return `${id}:${node.alive ? replica?.role ?? '?' : 'down'} leo=${node.records.length} hw=${replica?.log.highWatermark ?? '-'} reg=${node.registered}`;
    });
    return `controller leader ${state.leader} epoch ${state.leaderEpoch}/${state.partitionEpoch} isr [${state.isr.join(',')}]; ${nodes.join('; ')}`;
  }
}
