// Runs a RaftNode for real: ticks it from a Clock, feeds it messages from a RaftTransport, and
// handles each Ready in the order Raft's safety depends on:
//   ready -> persist (fsync) -> send -> install snapshot / apply committed entries -> advance.
// Messages leave only after the store's fsync resolved, so no peer ever hears a vote or an
// acknowledgement that a crash could take back. One Ready is handled at a time; ticks, messages
// and proposals that arrive meanwhile go straight into the core, which accepts them between
// ready() and advance(). A failed write stops the driver: continuing could break those promises.
import type { Logger } from '../util/log.ts';
import { silentLogger } from '../util/log.ts';
import type { Clock, TimerHandle } from '../io/clock.ts';
import type { Random } from '../io/random.ts';
import { RaftNode } from './core/raft-node.ts';
import type { RaftStatus } from './core/raft-node.ts';
import { NO_NODE } from './core/types.ts';
import type { ConfState, Entry, NodeId, Ready, Snapshot } from './core/types.ts';
import type { RaftLogStore } from './raft-log-store.ts';
import type { RaftTransport } from './raft-transport.ts';

/** The application the log drives (for Tide, the metadata image). */
export interface RaftStateMachine {
  /** Applies one committed entry, in log order. Empty data is a new leader's no-op. */
  apply(entry: Entry): void | Promise<void>;
  /** Serialises the state after every entry applied so far. */
  takeSnapshot(): Uint8Array | Promise<Uint8Array>;
  /** Replaces the state with a snapshot's (at start, or when the leader sends one). */
  restoreSnapshot(snapshot: Snapshot): void | Promise<void>;
}

export interface RaftDriverOptions {
  readonly id: NodeId;
  readonly voters: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  readonly store: RaftLogStore;
  readonly transport: RaftTransport;
  readonly clock: Clock;
  readonly random: Random;
  readonly stateMachine: RaftStateMachine;
  /** Real time per Raft tick. Default 100 ms (so 10 election ticks = 1-2 s timeouts). */
  readonly tickIntervalMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** Ask the state machine for a snapshot (and compact the log) every this many applied entries. */
  readonly snapshotEveryEntries?: number;
  /** Entries kept before a snapshot so a slightly lagging follower needs no snapshot. */
  readonly retainEntriesAfterSnapshot?: number;
  readonly maxPendingProposals?: number;
  readonly maxEntryBytes?: number;
  readonly logger?: Logger;
}

/** This node does not lead; `leaderId` is the leader it knows of, if any. */
export class NotLeaderError extends Error {
  override name = 'NotLeaderError';
  constructor(readonly leaderId: NodeId | undefined) {
    super(leaderId === undefined ? 'not the leader; no leader known' : `not the leader; node ${leaderId} leads`);
  }
}

/** Leadership moved before the proposal was applied; it may or may not commit later. */
export class LeadershipLostError extends Error {
  override name = 'LeadershipLostError';
}

/** The proposal was refused (limits, or a leadership transfer in progress). */
export class ProposalRefusedError extends Error {
  override name = 'ProposalRefusedError';
}

export class DriverStoppedError extends Error {
  override name = 'DriverStoppedError';
}

interface PendingProposal {
  readonly term: number;
  readonly resolve: (index: number) => void;
  readonly reject: (error: Error) => void;
}

export type ApplyListener = (entry: Entry) => void;
export type LeaderChangeListener = (leaderId: NodeId | undefined, term: number) => void;
export type FatalListener = (error: Error) => void;

export class RaftDriver {
  private readonly node: RaftNode;
  private readonly options: RaftDriverOptions;
  private readonly logger: Logger;
  private readonly confState: ConfState;
  private readonly pending = new Map<number, PendingProposal>();
  private readonly applyListeners = new Set<ApplyListener>();
  private readonly leaderListeners = new Set<LeaderChangeListener>();
  private readonly fatalListeners = new Set<FatalListener>();
  private idleWaiters: (() => void)[] = [];
  private timer: TimerHandle | undefined;
  private pumping = false;
  private stopped = false;
  private failure: Error | undefined;
  private appliedIndex: number;
  private lastSnapshotIndex: number;
  private knownLeader: NodeId = NO_NODE;

  private constructor(options: RaftDriverOptions, node: RaftNode, appliedIndex: number) {
    this.options = options;
    this.node = node;
    this.logger = options.logger ?? silentLogger;
    this.confState = { voters: [...options.voters], learners: [...(options.learners ?? [])] };
    this.appliedIndex = appliedIndex;
    this.lastSnapshotIndex = appliedIndex;
  }

  /** Restores the state machine from the store's snapshot, then starts ticking and listening. */
  static async start(options: RaftDriverOptions): Promise<RaftDriver> {
    const snapshot = options.store.storage.snapshot();
    if (snapshot.metadata.index > 0) await options.stateMachine.restoreSnapshot(snapshot);
    const node = new RaftNode({
      id: options.id,
      voters: options.voters,
      learners: options.learners ?? [],
      storage: options.store.storage,
      random: options.random,
      applied: snapshot.metadata.index,
      ...(options.electionTicks !== undefined ? { electionTicks: options.electionTicks } : {}),
      ...(options.heartbeatTicks !== undefined ? { heartbeatTicks: options.heartbeatTicks } : {}),
      ...(options.preVote !== undefined ? { preVote: options.preVote } : {}),
      ...(options.checkQuorum !== undefined ? { checkQuorum: options.checkQuorum } : {}),
      ...(options.maxEntryBytes !== undefined ? { maxEntryBytes: options.maxEntryBytes } : {}),
      ...(options.logger ? { logger: options.logger.child('raft') } : {}),
    });
    const driver = new RaftDriver(options, node, snapshot.metadata.index);
    options.transport.onMessage((message) => {
      if (driver.stopped) return;
      driver.node.step(message);
      driver.kick();
    });
    driver.timer = options.clock.setInterval(() => {
      if (driver.stopped) return;
      driver.node.tick();
      driver.kick();
    }, options.tickIntervalMs ?? 100);
    driver.kick(); // committed entries after the snapshot are applied again
    return driver;
  }

  get id(): NodeId { return this.node.id; }
  get term(): number { return this.node.term; }
  get isLeader(): boolean { return this.node.isLeader; }
  get leaderId(): NodeId | undefined { return this.node.lead === NO_NODE ? undefined : this.node.lead; }
  get lastAppliedIndex(): number { return this.appliedIndex; }
  get stoppedWith(): Error | undefined { return this.failure; }
  status(): RaftStatus { return this.node.status(); }

  /** Appends `data` to the log; resolves with its index once committed and applied here. */
  propose(data: Uint8Array): Promise<number> {
    if (this.stopped) return Promise.reject(this.failure ?? new DriverStoppedError('raft driver stopped'));
    const maxPending = this.options.maxPendingProposals ?? 10_000;
    if (this.pending.size >= maxPending) return Promise.reject(new ProposalRefusedError(`${maxPending} proposals already pending`));
    const result = this.node.propose(data);
    if (!result.ok) {
      if (result.error === 'not-leader') return Promise.reject(new NotLeaderError(result.lead === NO_NODE ? undefined : result.lead));
      return Promise.reject(new ProposalRefusedError(result.error));
    }
    const promise = new Promise<number>((resolve, reject) => {
      this.pending.set(result.index, { term: result.term, resolve, reject });
    });
    this.kick();
    return promise;
  }

  /** The transport's hint that the leader's process is gone; shortens the wait for an election (Raft.leaderUnreachable). */
  leaderUnreachable(): void {
    if (!this.stopped) this.node.leaderUnreachable();
  }

  /** Hands leadership to `to` (used before this node shuts down); no-op unless we lead. */
  transferLeadership(to: NodeId): void {
    this.node.transferLeadership(to);
    this.kick();
  }

  /** Called after each committed entry is applied to the state machine. Returns an unsubscribe. */
  onApply(listener: ApplyListener): () => void {
    this.applyListeners.add(listener);
    return () => this.applyListeners.delete(listener);
  }

  /** Called when the known leader changes (undefined while there is none). */
  onLeaderChange(listener: LeaderChangeListener): () => void {
    this.leaderListeners.add(listener);
    return () => this.leaderListeners.delete(listener);
  }

  /** Called once if a write fails and the driver stops. */
  onFatal(listener: FatalListener): () => void {
    this.fatalListeners.add(listener);
    return () => this.fatalListeners.delete(listener);
  }

  /** Resolves when the driver has no Ready left to handle (for tests and orderly shutdown). */
  whenIdle(): Promise<void> {
    if (!this.pumping) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops ticking and handling messages, waits for the Ready in progress, rejects pending proposals. */
  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.timer?.cancel();
      this.rejectPending(new DriverStoppedError('raft driver stopped'));
    }
    await this.whenIdle();
  }

  private kick(): void {
    if (this.stopped || this.pumping) return;
    this.pumping = true;
    void this.pump();
  }

  private async pump(): Promise<void> {
    try {
      while (!this.stopped && this.node.hasReady()) await this.handleReady(this.node.ready());
    } catch (error) {
      this.fail(error as Error);
    } finally {
      this.pumping = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async handleReady(ready: Ready): Promise<void> {
    // 1. Durable first: the messages below may promise any of it.
    await this.options.store.persist(ready);
    // 2. Send.
    for (const message of ready.messages) {
      try {
        this.options.transport.send(message.to, message);
      } catch (error) {
        this.logger.debug('raft send failed', { to: message.to, error: (error as Error).message });
        this.node.reportUnreachable(message.to);
      }
    }
    // 3. Apply.
    if (ready.snapshot) {
      await this.options.stateMachine.restoreSnapshot(ready.snapshot);
      this.appliedIndex = ready.snapshot.metadata.index;
      this.lastSnapshotIndex = ready.snapshot.metadata.index;
      this.logger.info('installed raft snapshot from the leader', { index: ready.snapshot.metadata.index, term: ready.snapshot.metadata.term });
    }
    for (const entry of ready.committedEntries) {
      await this.options.stateMachine.apply(entry);
      this.appliedIndex = entry.index;
      for (const listener of this.applyListeners) listener(entry);
      this.settleProposal(entry);
    }
    // 4. Done.
    this.node.advance(ready);
    if (ready.softState) this.noteLeadership(ready.softState.lead, ready.softState.role === 'leader');
    await this.maybeSnapshot();
  }

  private settleProposal(entry: Entry): void {
    const proposal = this.pending.get(entry.index);
    if (!proposal) return;
    this.pending.delete(entry.index);
    if (proposal.term === entry.term) proposal.resolve(entry.index);
    else proposal.reject(new LeadershipLostError(`entry ${entry.index} was replaced by a later leader`));
  }

  private noteLeadership(lead: NodeId, leading: boolean): void {
    if (!leading && this.pending.size > 0) this.rejectPending(new LeadershipLostError('leadership lost before the proposal was applied'));
    if (lead === this.knownLeader) return;
    this.knownLeader = lead;
    this.logger.info('raft leader changed', { leader: lead, term: this.node.term });
    for (const listener of this.leaderListeners) listener(lead === NO_NODE ? undefined : lead, this.node.term);
  }

  private async maybeSnapshot(): Promise<void> {
    const every = this.options.snapshotEveryEntries ?? 10_000;
    if (this.appliedIndex - this.lastSnapshotIndex < every) return;
    const index = this.appliedIndex;
    const data = await this.options.stateMachine.takeSnapshot();
    await this.options.store.saveSnapshot(index, data, this.confState, this.options.retainEntriesAfterSnapshot ?? 1000);
    this.lastSnapshotIndex = index;
    this.logger.debug('took raft snapshot', { index, bytes: data.length });
  }

  private rejectPending(error: Error): void {
    const proposals = [...this.pending.values()];
    this.pending.clear();
    for (const proposal of proposals) proposal.reject(error);
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.stopped = true;
    this.timer?.cancel();
    this.logger.error('raft driver stopped after a failure', { error: error.message });
    this.rejectPending(error);
    for (const listener of this.fatalListeners) listener(error);
  }
}
