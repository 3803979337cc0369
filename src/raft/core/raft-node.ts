// The core's public face (etcd's RawNode): feed it tick(), step(), propose() and
// transferLeadership(); take the work it produced with ready(); report it done with advance().
// Everything here is synchronous and deterministic; the driver or the simulator does the I/O.
import { MessageType, NO_NODE, isNetworkMessageType, makeMessage } from './types.ts';
import type { Entry, HardState, Message, NodeId, RaftRole, Ready, SoftState } from './types.ts';
import { Raft } from './raft.ts';
import type { ProposalError, RaftConfig } from './raft.ts';
import type { ProgressState } from './progress.ts';
import { assert } from './util.ts';

export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly error: ProposalError; readonly lead: NodeId };

export interface PeerStatus {
  readonly id: NodeId;
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: RaftRole;
  readonly term: number;
  readonly vote: NodeId;
  readonly lead: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly leadTransferee: NodeId;
  /** Only on the leader. */
  readonly peers: readonly PeerStatus[];
}

export class RaftNode {
  private readonly raft: Raft;
  private previousSoftState: SoftState;
  private previousHardState: HardState;
  private outstanding: Ready | undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.previousSoftState = { lead: this.raft.lead, role: this.raft.role };
    this.previousHardState = config.storage.initialState().hardState;
  }

  get id(): NodeId { return this.raft.id; }
  get term(): number { return this.raft.term; }
  get role(): RaftRole { return this.raft.role; }
  get lead(): NodeId { return this.raft.lead; }
  get isLeader(): boolean { return this.raft.role === 'leader'; }
  get voters(): readonly NodeId[] { return this.raft.tracker.voters; }
  get learners(): readonly NodeId[] { return this.raft.tracker.learners; }

  /** Advances logical time by one tick (the driver calls it every tickIntervalMs). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (with a pre-vote round when enabled); ignored on leaders and learners. */
  campaign(): void {
    this.raft.step(makeMessage({ type: MessageType.Hup, from: this.raft.id }));
  }

  /** The leader's process looks gone (connection refused): end the lease now (Raft.leaderUnreachable). */
  leaderUnreachable(): void {
    this.raft.leaderUnreachable();
  }

  /**
   * Hands the core a message from another node. Local message kinds, messages for another node and
   * messages from non-members are dropped: they can only come from a confused or hostile peer.
   */
  step(message: Message): void {
    if (!isNetworkMessageType(message.type)) return;
    if (message.to !== this.raft.id || message.term <= 0) return;
    if (!this.raft.tracker.isMember(message.from) || message.from === this.raft.id) return;
    this.raft.step(message);
  }

  /** Appends `data` to the log if we lead; the entry commits once a quorum has it durable. */
  propose(data: Uint8Array): ProposeResult {
    const error = this.raft.step(makeMessage({ type: MessageType.Propose, from: this.raft.id, entries: [{ term: 0, index: 0, data }] }));
    if (error !== undefined) return { ok: false, error, lead: this.raft.lead };
    return { ok: true, index: this.raft.log.lastIndex(), term: this.raft.term };
  }

  /** Asks the leader (this node) to hand leadership to `to` once it is caught up; ignored elsewhere. */
  transferLeadership(to: NodeId): void {
    if (this.raft.role !== 'leader') return;
    this.raft.step(makeMessage({ type: MessageType.TransferLeader, from: to }));
  }

  /** The transport could not reach `id`: stop streaming to it and probe again. */
  reportUnreachable(id: NodeId): void {
    const progress = this.raft.tracker.progress.get(id);
    if (this.raft.role !== 'leader' || !progress || id === this.raft.id) return;
    if (progress.state === 'replicate') progress.becomeProbe();
  }

  /** The transport failed (or finished) sending a snapshot to `id`. */
  reportSnapshot(id: NodeId, succeeded: boolean): void {
    const progress = this.raft.tracker.progress.get(id);
    if (this.raft.role !== 'leader' || !progress || progress.state !== 'snapshot') return;
    if (!succeeded) progress.pendingSnapshot = 0;
    // Either way, wait for the peer's answer (or the next heartbeat) before sending more.
    progress.becomeProbe();
    progress.probeSent = true;
  }

  hasReady(): boolean {
    const raft = this.raft;
    if (raft.messages.length > 0) return true;
    if (raft.log.unstable.entries.length > 0 || raft.log.unstable.snapshot !== undefined) return true;
    if (raft.log.hasNextCommittedEntries()) return true;
    if (raft.lead !== this.previousSoftState.lead || raft.role !== this.previousSoftState.role) return true;
    return !sameHardState(raft.hardState(), this.previousHardState);
  }

  /**
   * Takes the pending work. Persist, send and apply it as Ready's fields describe, then call
   * advance(ready) before asking for the next one. step() and tick() may be called meanwhile.
   */
  ready(): Ready {
    assert(this.outstanding === undefined, 'ready() called again before advance()');
    const raft = this.raft;
    const softState: SoftState = { lead: raft.lead, role: raft.role };
    const hardState = raft.hardState();
    const entries = raft.log.unstableEntries();
    const softChanged = softState.lead !== this.previousSoftState.lead || softState.role !== this.previousSoftState.role;
    const hardChanged = !sameHardState(hardState, this.previousHardState);
    const ready: Ready = {
      ...(softChanged ? { softState } : {}),
      ...(hardChanged ? { hardState } : {}),
      entries,
      ...(raft.log.unstable.snapshot ? { snapshot: raft.log.unstable.snapshot } : {}),
      committedEntries: raft.log.nextCommittedEntries(),
      messages: raft.messages,
      mustSync: entries.length > 0 || hardState.term !== this.previousHardState.term || hardState.vote !== this.previousHardState.vote,
    };
    raft.messages = [];
    if (softChanged) this.previousSoftState = softState;
    if (hardChanged) this.previousHardState = hardState;
    this.outstanding = ready;
    return ready;
  }

  /** Reports that everything in `ready` was persisted, sent and applied. */
  advance(ready: Ready): void {
    assert(this.outstanding === ready, 'advance() called with a Ready that is not the outstanding one');
    const log = this.raft.log;
    const lastEntry = ready.entries[ready.entries.length - 1];
    if (lastEntry) log.stableTo(lastEntry.index, lastEntry.term);
    if (ready.snapshot) {
      log.stableSnapshotTo(ready.snapshot.metadata.index);
      // The state machine now holds the snapshot's state.
      if (log.applied < ready.snapshot.metadata.index) log.applied = Math.min(ready.snapshot.metadata.index, log.committed);
    }
    const lastApplied = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastApplied && lastApplied.index > log.applied) log.appliedTo(lastApplied.index);
    this.raft.reduceUncommittedSize(ready.committedEntries);
    this.outstanding = undefined;
  }

  status(): RaftStatus {
    const raft = this.raft;
    const peers: PeerStatus[] = [];
    if (raft.role === 'leader') {
      for (const [id, progress] of raft.tracker.progress) {
        peers.push({ id, match: progress.match, next: progress.next, state: progress.state, isLearner: progress.isLearner, recentActive: progress.recentActive });
      }
    }
    return {
      id: raft.id, role: raft.role, term: raft.term, vote: raft.vote, lead: raft.lead,
      commit: raft.log.committed, applied: raft.log.applied, firstIndex: raft.log.firstIndex(),
      lastIndex: raft.log.lastIndex(), leadTransferee: raft.leadTransferee, peers,
    };
  }

  // ---- read-only inspection, for checkers and tests ----

  get commitIndex(): number { return this.raft.log.committed; }
  get appliedIndex(): number { return this.raft.log.applied; }
  get vote(): NodeId { return this.raft.vote; }
  firstIndex(): number { return this.raft.log.firstIndex(); }
  lastIndex(): number { return this.raft.log.lastIndex(); }
  /** Term of the entry at index (the compaction point included); undefined outside the log. */
  logTerm(index: number): number | undefined { return this.raft.log.term(index); }
  /** Entries [lo, hi) of the log; lo must be at least firstIndex(). */
  logEntries(lo: number, hi: number): Entry[] {
    return this.raft.log.slice(lo, Math.min(hi, this.raft.log.lastIndex() + 1), Number.MAX_SAFE_INTEGER);
  }
  /** Election timer state, for scripted tests that need exact tick counts. */
  get electionTimeoutTicks(): number { return this.raft.randomizedElectionTimeout; }
  get electionElapsedTicks(): number { return this.raft.electionElapsed; }
  get hasLeader(): boolean { return this.raft.lead !== NO_NODE; }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
