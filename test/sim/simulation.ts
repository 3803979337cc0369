// One seeded run of a Raft group under faults (after KRaft's RaftEventSimulationTest and
// TigerBeetle's VOPR). Everything happens on one event queue in virtual time: node ticks (each
// node's clock drifts), message deliveries through a lossy, duplicating, reordering network with
// partitions, crashes that keep only what a Ready had persisted, clock jumps, client proposals and
// leadership transfers. After every event the invariants are checked. Then the network heals, all
// nodes restart, and the group must elect a leader and commit a new entry on every node within a
// bounded virtual time. The same seed always replays the same run.
import { SeededRandom } from '../../src/io/random.ts';
import { MemoryStorage } from '../../src/raft/core/storage.ts';
import { RaftNode } from '../../src/raft/core/raft-node.ts';
import { describeMessage } from '../../src/raft/core/format.ts';
import { NO_NODE } from '../../src/raft/core/types.ts';
import type { ConfState, Message, NodeId, Ready } from '../../src/raft/core/types.ts';
import { decodeRaftMessage, encodeRaftMessage } from '../../src/raft/raft-message-codec.ts';
import { EventQueue } from './event-queue.ts';
import { InvariantChecker, bytesEqual } from './invariants.ts';
import { SimStateMachine } from './sim-state-machine.ts';
import { drawSwarm } from './swarm.ts';
import type { SwarmParameters } from './swarm.ts';

/**
 * Deliberate bugs, to prove the checker notices them:
 * skip-vote-persist: the vote is never written to disk (a restarted node may vote twice in a term);
 * lose-unsynced-entries: entries of the latest Ready are lost in a crash (acknowledged before fsync).
 */
export type Mutation = 'skip-vote-persist' | 'lose-unsynced-entries';
export const mutations: readonly Mutation[] = ['skip-vote-persist', 'lose-unsynced-entries'];

export interface SimulationOptions {
  readonly seed: number;
  readonly mutation?: Mutation;
  /** Receives one line per event, for replaying a failure. */
  readonly trace?: (line: string) => void;
  /** Hard cap on events per seed; the faulty phase ends early if it is reached. */
  readonly maxEvents?: number;
  /** Virtual time the healed group gets to elect a leader and commit on every node. */
  readonly livenessBudgetMs?: number;
}

export interface Counters {
  events: number;
  messagesSent: number;
  messagesDropped: number;
  messagesDuplicated: number;
  messagesEncoded: number;
  preCampaigns: number;
  elections: number;
  leaderChanges: number;
  crashes: number;
  crashesAfterPersist: number;
  crashesAfterSend: number;
  partitions: number;
  clockJumps: number;
  proposals: number;
  proposalsAccepted: number;
  transfersRequested: number;
  transfersCompleted: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  committedEntries: number;
}

export interface SeedResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violations: readonly string[];
  readonly virtualTimeMs: number;
  /** Virtual time from healing to a new entry applied on every node. */
  readonly recoveryMs: number | undefined;
  readonly counters: Counters;
  readonly parameters: SwarmParameters;
}

export const defaultMaxEvents = 60_000;
export const defaultLivenessBudgetMs = 20_000;

type SimEvent =
  | { kind: 'tick'; node: NodeId }
  | { kind: 'deliver'; message: Message }
  | { kind: 'propose' }
  | { kind: 'crash' }
  | { kind: 'restart'; node: NodeId; incarnation: number }
  | { kind: 'partition' }
  | { kind: 'heal'; partition: number }
  | { kind: 'clock-jump' }
  | { kind: 'transfer' }
  | { kind: 'heal-all' }
  | { kind: 'liveness-probe' };

interface SimNode {
  readonly id: NodeId;
  readonly tickMs: number;
  readonly random: SeededRandom;
  storage: MemoryStorage;
  raft: RaftNode | undefined;
  machine: SimStateMachine;
  /** Bumped on every crash, so a restart scheduled for an older crash is ignored. */
  incarnation: number;
  /** First index of the entries the latest Ready persisted (for lose-unsynced-entries). */
  unsyncedFrom: number | undefined;
}

const encoder = new TextEncoder();

export function runSeed(options: SimulationOptions): SeedResult {
  return new Simulation(options).run();
}

class Simulation {
  private readonly random: SeededRandom;
  private readonly parameters: SwarmParameters;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly checker = new InvariantChecker();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly voters: NodeId[];
  private readonly learners: NodeId[];
  private readonly confState: ConfState;
  private readonly cut: boolean[][];
  /** Latest delivery time scheduled per directed link, to keep FIFO links in order. */
  private readonly lastDeliveryMs: number[][];
  private readonly counters: Counters = {
    events: 0, messagesSent: 0, messagesDropped: 0, messagesDuplicated: 0, messagesEncoded: 0,
    preCampaigns: 0, elections: 0, leaderChanges: 0, crashes: 0, crashesAfterPersist: 0, crashesAfterSend: 0,
    partitions: 0, clockJumps: 0, proposals: 0, proposalsAccepted: 0, transfersRequested: 0,
    transfersCompleted: 0, snapshotsTaken: 0, snapshotsInstalled: 0, committedEntries: 0,
  };
  private readonly maxEvents: number;
  private readonly livenessBudgetMs: number;
  private readonly encodeMessages: boolean;
  private nowMs = 0;
  private faultsActive = true;
  private partitionNumber = 0;
  private proposalNumber = 0;
  private healedAtMs: number | undefined;
  private recoveredAtMs: number | undefined;
  private readonly markers: { index: number; data: Uint8Array }[] = [];
  private readonly pendingTransfers = new Map<NodeId, number>();

  constructor(private readonly options: SimulationOptions) {
    this.random = new SeededRandom(options.seed);
    this.parameters = drawSwarm(this.random);
    this.maxEvents = options.maxEvents ?? defaultMaxEvents;
    this.livenessBudgetMs = options.livenessBudgetMs ?? defaultLivenessBudgetMs;
    // A quarter of the seeds send every message through the wire codec.
    this.encodeMessages = this.random.nextInt(4) === 0;
    const p = this.parameters;
    this.voters = range(1, p.voterCount);
    this.learners = range(p.voterCount + 1, p.learnerCount);
    this.confState = { voters: this.voters, learners: this.learners };
    const size = p.voterCount + p.learnerCount + 1;
    this.cut = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
    this.lastDeliveryMs = Array.from({ length: size }, () => new Array<number>(size).fill(0));
    for (const id of [...this.voters, ...this.learners]) {
      const drift = 1 + (this.random.nextFloat() * 2 - 1) * p.tickDriftMax;
      const node: SimNode = {
        id, tickMs: p.baseTickMs * drift, random: this.random.fork(), storage: new MemoryStorage(this.confState),
        raft: undefined, machine: new SimStateMachine(), incarnation: 0, unsyncedFrom: undefined,
      };
      this.nodes.set(id, node);
      this.startNode(node);
      this.queue.schedule(this.random.nextFloat() * node.tickMs, { kind: 'tick', node: id });
    }
    this.scheduleAfter(p.proposalMeanIntervalMs, { kind: 'propose' });
    this.scheduleAfter(p.partitionMeanIntervalMs, { kind: 'partition' });
    this.scheduleAfter(p.crashMeanIntervalMs, { kind: 'crash' });
    this.scheduleAfter(p.clockJumpMeanIntervalMs, { kind: 'clock-jump' });
    this.scheduleAfter(p.transferMeanIntervalMs, { kind: 'transfer' });
    this.queue.schedule(p.faultPhaseMs, { kind: 'heal-all' });
  }

  run(): SeedResult {
    let deadlineMs = Number.POSITIVE_INFINITY;
    while (this.checker.violations.length === 0 && this.recoveredAtMs === undefined) {
      if (this.counters.events >= this.maxEvents && this.faultsActive) this.healAll();
      if (this.counters.events >= 2 * this.maxEvents) {
        this.checker.fail(`event budget of ${2 * this.maxEvents} exhausted before recovery`);
        break;
      }
      const next = this.queue.pop();
      if (next === undefined) break;
      this.nowMs = next.timeMs;
      if (this.healedAtMs !== undefined) {
        deadlineMs = this.healedAtMs + this.livenessBudgetMs;
        if (this.nowMs > deadlineMs) {
          this.checker.fail(`liveness: no entry committed and applied on every node within ${this.livenessBudgetMs} ms of healing (${this.describeNodes()})`);
          break;
        }
      }
      this.counters.events++;
      try {
        this.handle(next.event);
      } catch (error) {
        this.checker.fail(`exception at ${this.nowMs.toFixed(1)} ms: ${(error as Error).stack ?? error}`);
      }
    }
    this.counters.leaderChanges = this.checker.leaderChanges;
    this.counters.committedEntries = Math.max(0, this.checker.highestCommittedIndex);
    return {
      seed: this.options.seed,
      ok: this.checker.violations.length === 0,
      violations: this.checker.violations,
      virtualTimeMs: Math.round(this.nowMs),
      recoveryMs: this.recoveredAtMs !== undefined && this.healedAtMs !== undefined ? Math.round(this.recoveredAtMs - this.healedAtMs) : undefined,
      counters: this.counters,
      parameters: this.parameters,
    };
  }

  private handle(event: SimEvent): void {
    switch (event.kind) {
      case 'tick': {
        const node = this.nodes.get(event.node)!;
        this.queue.schedule(this.nowMs + node.tickMs, event);
        if (!node.raft) return;
        node.raft.tick();
        this.settle(node);
        return;
      }
      case 'deliver':
        this.deliver(event.message);
        return;
      case 'propose':
        this.propose();
        if (this.faultsActive) this.scheduleAfter(this.parameters.proposalMeanIntervalMs, event);
        return;
      case 'crash':
        if (!this.faultsActive) return;
        this.crashRandomNode();
        this.scheduleAfter(this.parameters.crashMeanIntervalMs, event);
        return;
      case 'restart': {
        const node = this.nodes.get(event.node)!;
        if (node.raft || node.incarnation !== event.incarnation) return;
        this.restart(node);
        return;
      }
      case 'partition':
        if (!this.faultsActive) return;
        this.partition();
        this.scheduleAfter(this.parameters.partitionMeanIntervalMs, event);
        return;
      case 'heal':
        if (event.partition === this.partitionNumber) this.clearCuts();
        return;
      case 'clock-jump':
        if (!this.faultsActive) return;
        this.clockJump();
        this.scheduleAfter(this.parameters.clockJumpMeanIntervalMs, event);
        return;
      case 'transfer':
        if (!this.faultsActive) return;
        this.transfer();
        this.scheduleAfter(this.parameters.transferMeanIntervalMs, event);
        return;
      case 'heal-all':
        if (this.faultsActive) this.healAll();
        return;
      case 'liveness-probe':
        this.livenessProbe();
        if (this.recoveredAtMs === undefined) this.queue.schedule(this.nowMs + 2 * this.parameters.baseTickMs, event);
        return;
    }
  }

  // ---- nodes --------------------------------------------------------------------------------

  private startNode(node: SimNode): void {
    const p = this.parameters;
    node.raft = new RaftNode({
      id: node.id, voters: this.voters, learners: this.learners, storage: node.storage, random: node.random,
      electionTicks: p.electionTicks, heartbeatTicks: p.heartbeatTicks, preVote: p.preVote, checkQuorum: p.checkQuorum,
      maxInflightMessages: p.maxInflightMessages, maxSizePerMessageBytes: p.maxSizePerMessageBytes,
    });
    // Volatile state is rebuilt from the durable snapshot; committed entries after it are re-applied.
    node.machine = SimStateMachine.fromSnapshot(node.storage.snapshot().data);
  }

  /** Handles every Ready the node has, as a driver would: persist, send, apply, advance. */
  private settle(node: SimNode): void {
    for (let round = 0; round < 1000; round++) {
      const raft = node.raft;
      if (!raft) return;
      if (!raft.hasReady()) {
        this.checker.observeNode(raft);
        return;
      }
      this.handleReady(node, raft, raft.ready());
    }
    this.checker.fail(`node ${node.id} still had work after 1000 Readies`);
  }

  private handleReady(node: SimNode, raft: RaftNode, ready: Ready): void {
    this.persist(node, ready);
    this.checker.observeNode(raft);
    if (this.faultsActive && this.random.nextFloat() < this.parameters.crashAfterPersistRate) {
      // Durable, but nothing sent or applied: what a crash right after the fsync leaves behind.
      this.counters.crashesAfterPersist++;
      this.crash(node);
      return;
    }
    for (const message of ready.messages) this.send(message);
    if (ready.softState) this.noteRole(node, ready.softState.role);
    if (this.faultsActive && this.random.nextFloat() < this.parameters.crashAfterSendRate) {
      this.counters.crashesAfterSend++;
      this.crash(node);
      return;
    }
    if (ready.snapshot) {
      node.machine = SimStateMachine.fromSnapshot(ready.snapshot.data);
      this.checker.stateAt(node.id, node.machine.appliedIndex, node.machine.hash, 'restored');
      this.counters.snapshotsInstalled++;
      this.trace(`node ${node.id} installed snapshot ${ready.snapshot.metadata.index}/${ready.snapshot.metadata.term}`);
    }
    for (const entry of ready.committedEntries) {
      if (!node.machine.apply(entry)) {
        this.checker.fail(`node ${node.id} was given entry ${entry.index} to apply after ${node.machine.appliedIndex}`);
        return;
      }
      this.checker.stateAt(node.id, entry.index, node.machine.hash, 'applied');
    }
    raft.advance(ready);
    this.maybeSnapshot(node);
  }

  private persist(node: SimNode, ready: Ready): void {
    const storage = node.storage;
    if (ready.snapshot) storage.applySnapshot(ready.snapshot);
    if (ready.entries.length > 0) {
      storage.append(ready.entries);
      node.unsyncedFrom = ready.entries[0]!.index;
      this.checker.entriesPersisted(node.id, ready.entries, (index) => storage.term(index));
    }
    if (ready.hardState) {
      const hardState = this.options.mutation === 'skip-vote-persist' ? { ...ready.hardState, vote: NO_NODE } : ready.hardState;
      storage.setHardState(hardState);
    }
  }

  private maybeSnapshot(node: SimNode): void {
    const p = this.parameters;
    const snapshotIndex = node.storage.snapshot().metadata.index;
    if (node.machine.appliedIndex - snapshotIndex < p.snapshotEveryEntries) return;
    node.storage.createSnapshot(node.machine.appliedIndex, node.machine.snapshotData(), this.confState);
    node.storage.compact(Math.max(0, node.machine.appliedIndex - p.retainEntries));
    this.counters.snapshotsTaken++;
  }

  private noteRole(node: SimNode, role: string): void {
    if (role === 'pre-candidate') this.counters.preCampaigns++;
    else if (role === 'candidate') this.counters.elections++;
    else if (role === 'leader') {
      const term = node.raft!.term;
      const requestedInTerm = this.pendingTransfers.get(node.id);
      if (requestedInTerm !== undefined && term > requestedInTerm) this.counters.transfersCompleted++;
      this.pendingTransfers.delete(node.id);
      this.trace(`node ${node.id} leads term ${term}`);
    }
  }

  private crash(node: SimNode): void {
    if (!node.raft) return;
    this.counters.crashes++;
    node.raft = undefined;
    node.incarnation++;
    if (this.options.mutation === 'lose-unsynced-entries' && node.unsyncedFrom !== undefined) node.storage = withoutEntriesFrom(node.storage, node.unsyncedFrom);
    node.unsyncedFrom = undefined;
    this.trace(`node ${node.id} crashed`);
    const downtimeMs = 1 + this.random.nextFloat() * this.parameters.downtimeMaxMs;
    this.queue.schedule(this.nowMs + downtimeMs, { kind: 'restart', node: node.id, incarnation: node.incarnation });
  }

  private restart(node: SimNode): void {
    this.startNode(node);
    this.trace(`node ${node.id} restarted at term ${node.raft!.term} commit ${node.raft!.commitIndex}`);
    this.checker.nodeRestarted(node.raft!);
    this.settle(node);
  }

  private crashRandomNode(): void {
    const up = [...this.nodes.values()].filter((node) => node.raft);
    if (up.length === 0) return;
    this.crash(up[this.random.nextInt(up.length)]!);
  }

  // ---- network ------------------------------------------------------------------------------

  private send(message: Message): void {
    this.counters.messagesSent++;
    const p = this.parameters;
    if (this.cut[message.from]![message.to]) {
      this.counters.messagesDropped++;
      return;
    }
    if (this.faultsActive && this.random.nextFloat() < p.dropRate) {
      this.counters.messagesDropped++;
      return;
    }
    let wire = message;
    if (this.encodeMessages) {
      wire = decodeRaftMessage(encodeRaftMessage(message));
      this.counters.messagesEncoded++;
    }
    this.scheduleDelivery(wire);
    if (this.faultsActive && this.random.nextFloat() < p.duplicateRate) {
      this.counters.messagesDuplicated++;
      this.scheduleDelivery(wire);
    }
  }

  private scheduleDelivery(message: Message): void {
    let atMs = this.nowMs + this.sampleDelayMs();
    // A healed network behaves like TCP: each link delivers in order. Faulty seeds may reorder.
    if (!this.faultsActive || !this.parameters.reorder) {
      atMs = Math.max(atMs, this.lastDeliveryMs[message.from]![message.to]!);
      this.lastDeliveryMs[message.from]![message.to] = atMs;
    }
    this.queue.schedule(atMs, { kind: 'deliver', message });
  }

  private sampleDelayMs(): number {
    const p = this.parameters;
    if (!this.faultsActive) return 1 + this.random.nextFloat() * 4;
    if (p.longDelayRate > 0 && this.random.nextFloat() < p.longDelayRate) return p.delayMaxMs + this.random.nextFloat() * p.longDelayMaxMs;
    return p.delayMinMs + this.random.nextFloat() * (p.delayMaxMs - p.delayMinMs);
  }

  private deliver(message: Message): void {
    // A partition that started while the message was in flight cuts it too.
    if (this.cut[message.from]![message.to]) return;
    const node = this.nodes.get(message.to)!;
    if (!node.raft) return;
    if (this.options.trace) this.trace(`deliver ${describeMessage(message)}`);
    node.raft.step(message);
    this.settle(node);
  }

  private partition(): void {
    this.clearCuts();
    this.counters.partitions++;
    const ids = [...this.nodes.keys()];
    const shape = this.random.nextInt(3);
    if (shape === 0) {
      const isolated = ids[this.random.nextInt(ids.length)]!;
      for (const other of ids) if (other !== isolated) this.cutBoth(isolated, other);
      this.trace(`partition: ${isolated} isolated`);
    } else if (shape === 1) {
      const side = new Set(ids.filter(() => this.random.nextFloat() < 0.5));
      for (const a of ids) for (const b of ids) if (side.has(a) && !side.has(b)) this.cutBoth(a, b);
      this.trace(`partition: {${[...side].join(',')}} | rest`);
    } else {
      const links = 1 + this.random.nextInt(ids.length);
      for (let link = 0; link < links; link++) {
        const from = ids[this.random.nextInt(ids.length)]!;
        const to = ids[this.random.nextInt(ids.length)]!;
        if (from !== to) this.cut[from]![to] = true;
      }
      this.trace('partition: one-way cuts');
    }
    const durationMs = 1 + this.random.nextFloat() * this.parameters.partitionDurationMaxMs;
    this.queue.schedule(this.nowMs + durationMs, { kind: 'heal', partition: ++this.partitionNumber });
  }

  private cutBoth(a: NodeId, b: NodeId): void {
    this.cut[a]![b] = true;
    this.cut[b]![a] = true;
  }

  private clearCuts(): void {
    for (const row of this.cut) row.fill(false);
  }

  // ---- clients and operators ----------------------------------------------------------------

  private propose(): void {
    const up = [...this.nodes.values()].filter((node) => node.raft);
    const leaders = up.filter((node) => node.raft!.isLeader);
    // Mostly to a leader; now and then to anyone, to exercise refusals.
    const pool = leaders.length > 0 && this.random.nextFloat() < 0.9 ? leaders : up;
    if (pool.length === 0) return;
    const node = pool[this.random.nextInt(pool.length)]!;
    this.counters.proposals++;
    const result = node.raft!.propose(encoder.encode(`p${++this.proposalNumber}`));
    if (result.ok) this.counters.proposalsAccepted++;
    this.settle(node);
  }

  private clockJump(): void {
    const up = [...this.nodes.values()].filter((node) => node.raft);
    if (up.length === 0) return;
    const node = up[this.random.nextInt(up.length)]!;
    const ticks = 1 + this.random.nextInt(3 * this.parameters.electionTicks);
    this.counters.clockJumps++;
    this.trace(`node ${node.id} clock jumps ${ticks} ticks`);
    // The ticks arrive in a burst, as after a long pause, before any of their work is handled.
    for (let tick = 0; tick < ticks; tick++) node.raft!.tick();
    this.settle(node);
  }

  private transfer(): void {
    const leaders = [...this.nodes.values()].filter((node) => node.raft?.isLeader);
    if (leaders.length === 0) return;
    const leader = leaders[this.random.nextInt(leaders.length)]!;
    const target = this.voters[this.random.nextInt(this.voters.length)]!;
    if (target === leader.id) return;
    this.counters.transfersRequested++;
    this.pendingTransfers.set(target, leader.raft!.term);
    this.trace(`transfer leadership ${leader.id} -> ${target}`);
    leader.raft!.transferLeadership(target);
    this.settle(leader);
  }

  // ---- recovery -----------------------------------------------------------------------------

  private healAll(): void {
    this.faultsActive = false;
    this.healedAtMs = this.nowMs;
    this.clearCuts();
    this.partitionNumber++;
    this.trace('heal: faults stop, every node restarts');
    for (const node of this.nodes.values()) if (!node.raft) this.restart(node);
    this.queue.schedule(this.nowMs, { kind: 'liveness-probe' });
  }

  /** Proposes markers until one is committed, then waits until every node has applied it. */
  private livenessProbe(): void {
    const committedMarker = this.markers.find((marker) => {
      const entry = this.checker.committedEntry(marker.index);
      return entry !== undefined && bytesEqual(entry.data, marker.data);
    });
    if (committedMarker) {
      const everyoneApplied = [...this.nodes.values()].every((node) => node.raft && node.machine.appliedIndex >= committedMarker.index);
      if (everyoneApplied) this.recoveredAtMs = this.nowMs;
      return;
    }
    const leaders = [...this.nodes.values()].filter((node) => node.raft?.isLeader);
    const leader = leaders[leaders.length - 1];
    if (!leader) return;
    const data = encoder.encode(`marker${this.markers.length}`);
    const result = leader.raft!.propose(data);
    if (result.ok) this.markers.push({ index: result.index, data });
    this.settle(leader);
  }

  private describeNodes(): string {
    return [...this.nodes.values()].map((node) => {
      const raft = node.raft;
      return raft ? `${node.id}:${raft.role}/t${raft.term}/c${raft.commitIndex}/a${node.machine.appliedIndex}/l${raft.lastIndex()}` : `${node.id}:down`;
    }).join(' ');
  }

  // ---- helpers ------------------------------------------------------------------------------

  private scheduleAfter(meanIntervalMs: number, event: SimEvent): void {
    if (!Number.isFinite(meanIntervalMs)) return;
    // Exponential gaps: a Poisson stream of events, bursts and lulls included.
    const gapMs = -Math.log(1 - this.random.nextFloat()) * meanIntervalMs;
    this.queue.schedule(this.nowMs + gapMs, event);
  }

  private trace(line: string): void {
    this.options.trace?.(`${this.nowMs.toFixed(1).padStart(9)} ${line}`);
  }
}

function range(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, offset) => first + offset);
}

/** A copy of `storage` that lost the entries from `index` on, as a crash before their fsync would. */
function withoutEntriesFrom(storage: MemoryStorage, index: number): MemoryStorage {
  const snapshot = storage.snapshot();
  const copy = new MemoryStorage(snapshot.metadata.confState);
  if (snapshot.metadata.index > 0) copy.applySnapshot(snapshot);
  const lo = Math.max(copy.firstIndex(), storage.firstIndex());
  const hi = Math.min(index, storage.lastIndex() + 1);
  if (lo < hi) copy.append(storage.entries(lo, hi, Number.MAX_SAFE_INTEGER));
  const hardState = storage.hardStateNow();
  copy.setHardState({ ...hardState, commit: Math.min(hardState.commit, copy.lastIndex()) });
  return copy;
}
