// A hand-driven Raft group for scripted scenarios: every node's Ready is handled only when the
// script says so, messages wait in one queue until delivered, and links can be cut one-way.
// Election timeouts are not randomised (the Random always answers 0) so scripts can count ticks.
import { MemoryStorage } from '../../src/raft/core/storage.ts';
import { RaftNode } from '../../src/raft/core/raft-node.ts';
import type { Entry, Message, NodeId, Snapshot } from '../../src/raft/core/types.ts';
import type { Random } from '../../src/io/random.ts';

export interface ScenarioOptions {
  voters: NodeId[];
  learners: NodeId[];
  preVote: boolean;
  checkQuorum: boolean;
  electionTicks: number;
  heartbeatTicks: number;
  maxSizePerMessageBytes: number;
}

const zeroRandom: Random = { nextUint32: () => 0, nextInt: () => 0, nextFloat: () => 0 };
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const roundsMax = 10_000;

interface ScenarioNode {
  raft: RaftNode | undefined;
  readonly storage: MemoryStorage;
  /** The state machine: data of every applied entry, in order (no-ops included as ''). */
  applied: string[];
  snapshotsInstalled: number;
}

export class ScenarioCluster {
  readonly nodes = new Map<NodeId, ScenarioNode>();
  private queue: Message[] = [];
  private readonly cutLinks = new Set<string>();

  constructor(readonly options: ScenarioOptions) {
    const confState = { voters: options.voters, learners: options.learners };
    for (const id of [...options.voters, ...options.learners]) {
      const node: ScenarioNode = { raft: undefined, storage: new MemoryStorage(confState), applied: [], snapshotsInstalled: 0 };
      this.nodes.set(id, node);
      this.start(id);
    }
  }

  private start(id: NodeId): void {
    const node = this.node(id);
    const o = this.options;
    node.raft = new RaftNode({
      id, voters: o.voters, learners: o.learners, storage: node.storage, random: zeroRandom,
      electionTicks: o.electionTicks, heartbeatTicks: o.heartbeatTicks, preVote: o.preVote,
      checkQuorum: o.checkQuorum, maxSizePerMessageBytes: o.maxSizePerMessageBytes,
    });
    const snapshot = node.storage.snapshot();
    node.applied = snapshot.metadata.index > 0 ? (JSON.parse(decoder.decode(snapshot.data)) as string[]) : [];
  }

  node(id: NodeId): ScenarioNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  raft(id: NodeId): RaftNode {
    const raft = this.node(id).raft;
    if (!raft) throw new Error(`node ${id} is down`);
    return raft;
  }

  /** Persists, queues the messages of and applies one Ready of node `id`; false if it had none. */
  processReady(id: NodeId): boolean {
    const node = this.node(id);
    const raft = node.raft;
    if (!raft || !raft.hasReady()) return false;
    const ready = raft.ready();
    if (ready.snapshot) node.storage.applySnapshot(ready.snapshot);
    node.storage.append(ready.entries);
    if (ready.hardState) node.storage.setHardState(ready.hardState);
    for (const message of ready.messages) {
      if (!this.cutLinks.has(linkKey(message.from, message.to))) this.queue.push(message);
    }
    if (ready.snapshot) {
      node.applied = JSON.parse(decoder.decode(ready.snapshot.data)) as string[];
      node.snapshotsInstalled++;
    }
    for (const entry of ready.committedEntries) node.applied.push(decoder.decode(entry.data));
    raft.advance(ready);
    return true;
  }

  /** Steps every queued message addressed to `id` into it; returns how many. */
  deliverTo(id: NodeId): number {
    const mine = this.queue.filter((message) => message.to === id);
    this.queue = this.queue.filter((message) => message.to !== id);
    const raft = this.node(id).raft;
    if (!raft) return mine.length;
    for (const message of mine) raft.step(message);
    return mine.length;
  }

  /** Handles Readies and delivers messages until nothing moves. */
  stabilize(): void {
    for (let round = 0; round < roundsMax; round++) {
      let moved = false;
      for (const id of this.nodes.keys()) moved = this.processReady(id) || moved;
      for (const id of this.nodes.keys()) moved = this.deliverTo(id) > 0 || moved;
      if (!moved) return;
    }
    throw new Error(`no quiescence after ${roundsMax} rounds`);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cutLinks.add(linkKey(id, other));
      this.cutLinks.add(linkKey(other, id));
    }
  }

  cut(from: NodeId, to: NodeId): void {
    this.cutLinks.add(linkKey(from, to));
  }

  heal(): void {
    this.cutLinks.clear();
  }

  propose(id: NodeId, data: string): string | undefined {
    const result = this.raft(id).propose(encoder.encode(data));
    return result.ok ? undefined : result.error;
  }

  /** Snapshots node `id`'s applied state and drops its log up to the applied index. */
  compact(id: NodeId): Snapshot {
    const node = this.node(id);
    const raft = this.raft(id);
    const snapshot = node.storage.createSnapshot(raft.appliedIndex, encoder.encode(JSON.stringify(node.applied)), { voters: this.options.voters, learners: this.options.learners });
    node.storage.compact(raft.appliedIndex);
    return snapshot;
  }

  /** Loses everything not in storage (messages in flight to it included); restart() brings it back. */
  crash(id: NodeId): void {
    this.node(id).raft = undefined;
    this.queue = this.queue.filter((message) => message.to !== id);
  }

  restart(id: NodeId): void {
    this.start(id);
  }

  /** Removes queued messages matching `predicate` (lost in the network); returns how many. */
  dropQueued(predicate: (message: Message) => boolean): number {
    const before = this.queue.length;
    this.queue = this.queue.filter((message) => !predicate(message));
    return before - this.queue.length;
  }

  queued(): readonly Message[] {
    return this.queue;
  }

  stateLine(id: NodeId): string {
    const node = this.node(id);
    if (!node.raft) return `${id}: down`;
    const s = node.raft.status();
    const learner = this.options.learners.includes(id) ? ' (learner)' : '';
    return `${id}: ${s.role}${learner} term=${s.term} vote=${s.vote} lead=${s.lead} commit=${s.commit} applied=${s.applied} log=${s.firstIndex - 1}..${s.lastIndex} snapshots-installed=${node.snapshotsInstalled}`;
  }

  logLines(id: NodeId): string[] {
    const raft = this.raft(id);
    const lines = [`${id}: compacted-through=${raft.firstIndex() - 1}/${raft.logTerm(raft.firstIndex() - 1)}`];
    for (const entry of raft.logEntries(raft.firstIndex(), raft.lastIndex() + 1)) lines.push(formatEntry(entry));
    return lines;
  }

  appliedLine(id: NodeId): string {
    return `${id}: ${this.node(id).applied.map((data) => JSON.stringify(data)).join(' ')}`;
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}

export function formatEntry(entry: Entry): string {
  return `${entry.index}/${entry.term} ${JSON.stringify(decoder.decode(entry.data))}`;
}
