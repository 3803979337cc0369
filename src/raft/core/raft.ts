// The Raft state machine (after etcd-io/raft): election with PreVote and CheckQuorum, log
// replication, commitment, snapshots and leadership transfer. It performs no I/O: time arrives as
// tick(), input as step(), and everything it wants done leaves through `messages` and the log's
// unstable part, which RaftNode hands to the driver as a Ready. Role-specific behaviour lives in
// the step and tick functions swapped on every role change (follower-role.ts, candidate-role.ts,
// leader-role.ts); this class keeps what every role shares.
import type { Logger } from '../../util/log.ts';
import type { Random } from '../../io/random.ts';
import { EMPTY_BYTES, MessageType, NO_NODE, makeMessage } from './types.ts';
import type { Entry, HardState, Message, NodeId, RaftRole, Snapshot } from './types.ts';
import { RaftLog } from './raft-log.ts';
import type { RaftStorage } from './storage.ts';
import { ProgressTracker } from './progress.ts';
import type { Progress } from './progress.ts';
import { assert, entriesSizeBytes } from './util.ts';
import { stepFollower, tickElection } from './follower-role.ts';
import { stepCandidate } from './candidate-role.ts';
import { stepLeader, tickHeartbeat } from './leader-role.ts';

export interface RaftConfig {
  id: NodeId;
  /** Static membership: the voters and the learners (observers that replicate but never vote). */
  voters: readonly NodeId[];
  learners?: readonly NodeId[];
  /** Durable state to start from; the core only reads it. */
  storage: RaftStorage;
  /** Source of the randomised election timeouts; seeded in tests, OS-seeded in production. */
  random: Random;
  /** Ticks without a leader before a follower campaigns (randomised to [n, 2n)). Default 10. */
  electionTicks?: number;
  /** Ticks between a leader's heartbeats. Default 1. */
  heartbeatTicks?: number;
  /** Campaign in a trial round first, so a node cut off from a quorum cannot bump the term. Default true. */
  preVote?: boolean;
  /** Leader steps down when it has not heard from a quorum for an election timeout. Default true. */
  checkQuorum?: boolean;
  /** Last index the application applied before restarting. Default: the storage snapshot's index. */
  applied?: number;
  maxSizePerMessageBytes?: number;
  maxInflightMessages?: number;
  maxUncommittedEntriesBytes?: number;
  maxCommittedSizePerReadyBytes?: number;
  maxEntryBytes?: number;
  /** Leader ticks to wait for an answer to a snapshot before sending it again. Default 2 × electionTicks. */
  snapshotRetryTicks?: number;
  logger?: Logger;
}

export type ProposalError = 'not-leader' | 'transfer-in-progress' | 'too-many-uncommitted-bytes' | 'entry-too-large';

type StepFunction = (raft: Raft, message: Message) => ProposalError | undefined;
type TickFunction = (raft: Raft) => void;
type CampaignKind = 'pre-election' | 'election' | 'transfer';

const defaults = {
  electionTicks: 10,
  heartbeatTicks: 1,
  maxSizePerMessageBytes: 1024 * 1024,
  maxInflightMessages: 256,
  maxUncommittedEntriesBytes: 64 * 1024 * 1024,
  maxCommittedSizePerReadyBytes: 16 * 1024 * 1024,
  maxEntryBytes: 8 * 1024 * 1024,
};

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NO_NODE;
  lead: NodeId = NO_NODE;
  role: RaftRole = 'follower';
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  /** Outbox; RaftNode moves it into the next Ready. */
  messages: Message[] = [];
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  leadTransferee: NodeId = NO_NODE;
  uncommittedSizeBytes = 0;

  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxSizePerMessageBytes: number;
  readonly maxInflightMessages: number;
  readonly maxUncommittedEntriesBytes: number;
  readonly maxEntryBytes: number;
  readonly snapshotRetryTicks: number;
  private readonly random: Random;
  private readonly logger: Logger | undefined;
  private stepRole: StepFunction = stepFollower;
  private tickRole: TickFunction = tickElection;

  constructor(config: RaftConfig) {
    const learners = config.learners ?? [];
    validateMembership(config.id, config.voters, learners);
    this.id = config.id;
    this.electionTicks = config.electionTicks ?? defaults.electionTicks;
    this.heartbeatTicks = config.heartbeatTicks ?? defaults.heartbeatTicks;
    assert(this.heartbeatTicks >= 1 && this.electionTicks > this.heartbeatTicks, `need electionTicks (${this.electionTicks}) > heartbeatTicks (${this.heartbeatTicks}) >= 1`);
    this.preVote = config.preVote ?? true;
    this.checkQuorum = config.checkQuorum ?? true;
    this.maxSizePerMessageBytes = config.maxSizePerMessageBytes ?? defaults.maxSizePerMessageBytes;
    this.maxInflightMessages = config.maxInflightMessages ?? defaults.maxInflightMessages;
    this.maxUncommittedEntriesBytes = config.maxUncommittedEntriesBytes ?? defaults.maxUncommittedEntriesBytes;
    this.maxEntryBytes = config.maxEntryBytes ?? defaults.maxEntryBytes;
    this.snapshotRetryTicks = config.snapshotRetryTicks ?? 2 * this.electionTicks;
    this.random = config.random;
    this.logger = config.logger;
    this.log = new RaftLog(config.storage, config.maxCommittedSizePerReadyBytes ?? defaults.maxCommittedSizePerReadyBytes);
    this.tracker = new ProgressTracker(config.voters, learners);

    const { hardState } = config.storage.initialState();
    if (hardState.term !== 0 || hardState.vote !== NO_NODE || hardState.commit !== 0) this.loadState(hardState);
    const applied = config.applied ?? config.storage.snapshot().metadata.index;
    if (applied > 0) {
      assert(applied <= this.log.committed, `applied ${applied} is past the durable commit ${this.log.committed}`);
      this.log.applied = Math.max(applied, this.log.applied);
    }
    this.becomeFollower(this.term, NO_NODE);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Voters may campaign; learners never do. */
  promotable(): boolean {
    return this.tracker.isVoter(this.id) && this.log.unstable.snapshot === undefined;
  }

  tick(): void {
    this.tickRole(this);
  }

  /** Entry point for every message, local or remote. Term checks common to all roles happen here. */
  step(message: Message): ProposalError | undefined {
    if (message.term === 0) {
      // local message: no term to check
    } else if (message.term > this.term) {
      if (message.type === MessageType.Vote || message.type === MessageType.PreVote) {
        // A node that heard from its leader within the election timeout ignores a candidate: the
        // candidate is probably just cut off, and following it would disrupt a working leader.
        const inLease = this.checkQuorum && this.lead !== NO_NODE && this.electionElapsed < this.electionTicks;
        if (!message.transfer && inLease) return undefined;
      }
      if (message.type === MessageType.PreVote) {
        // A pre-vote never changes our term: that is its whole point.
      } else if (message.type === MessageType.PreVoteResponse && !message.reject) {
        // We asked for term + 1 and were told yes; the term moves when the real election starts.
      } else if (message.type === MessageType.Append || message.type === MessageType.Heartbeat || message.type === MessageType.Snapshot) {
        this.becomeFollower(message.term, message.from);
      } else {
        // Adopt the term but keep the election timer running: only a leader's message or a
        // granted vote resets it (Raft §5.2). Resetting it here lets one node with a stale log and
        // a fast clock, campaigning again and again, stop everyone else from ever timing out and
        // winning (found by the simulator: seed 81929143094808, without PreVote).
        const electionElapsed = this.electionElapsed;
        this.becomeFollower(message.term, NO_NODE);
        this.electionElapsed = electionElapsed;
      }
    } else if (message.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (message.type === MessageType.Heartbeat || message.type === MessageType.Append)) {
        // A leader from an older term that was cut off: tell it our term so it steps down. Without
        // this, a node whose term moved on while partitioned could never rejoin under PreVote.
        this.send({ type: MessageType.AppendResponse, to: message.from });
      } else if (message.type === MessageType.PreVote) {
        this.send({ type: MessageType.PreVoteResponse, to: message.from, term: this.term, reject: true });
      }
      return undefined;
    }

    switch (message.type) {
      case MessageType.Hup:
        if (this.role !== 'leader') this.hup(this.preVote ? 'pre-election' : 'election');
        return undefined;
      case MessageType.Vote:
      case MessageType.PreVote:
        this.handleVoteRequest(message);
        return undefined;
      default:
        return this.stepRole(this, message);
    }
  }

  private handleVoteRequest(message: Message): void {
    if (!this.tracker.isVoter(this.id)) return; // learners do not vote
    const responseType = message.type === MessageType.Vote ? MessageType.VoteResponse : MessageType.PreVoteResponse;
    const canVote =
      this.vote === message.from ||
      (this.vote === NO_NODE && this.lead === NO_NODE) ||
      (message.type === MessageType.PreVote && message.term > this.term);
    if (canVote && this.log.isUpToDate(message.index, message.logTerm)) {
      // The response carries the requested term: a granted pre-vote must not look stale to the candidate.
      this.send({ type: responseType, to: message.from, term: message.term });
      if (message.type === MessageType.Vote) {
        this.electionElapsed = 0;
        this.vote = message.from;
      }
    } else {
      this.send({ type: responseType, to: message.from, term: this.term, reject: true });
    }
  }

  /** Queues a message; `from` is always us and `term` defaults to ours. */
  send(fields: Partial<Message> & Pick<Message, 'type' | 'to'>): void {
    this.messages.push(makeMessage({ term: this.term, ...fields, from: this.id }));
  }

  // ---- role changes -------------------------------------------------------------------------

  becomeFollower(term: number, lead: NodeId): void {
    this.stepRole = stepFollower;
    this.tickRole = tickElection;
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  becomePreCandidate(): void {
    assert(this.role !== 'leader', 'invalid transition leader -> pre-candidate');
    // Term and vote stay: a pre-candidate promises nothing and changes nothing durable.
    this.stepRole = stepCandidate;
    this.tickRole = tickElection;
    this.tracker.resetVotes();
    this.lead = NO_NODE;
    this.role = 'pre-candidate';
  }

  becomeCandidate(): void {
    assert(this.role !== 'leader', 'invalid transition leader -> candidate');
    this.stepRole = stepCandidate;
    this.tickRole = tickElection;
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  becomeLeader(): void {
    assert(this.role !== 'follower', 'invalid transition follower -> leader');
    this.stepRole = stepLeader;
    this.tickRole = tickHeartbeat;
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    const self = this.tracker.progress.get(this.id)!;
    self.becomeReplicate();
    self.recentActive = true;
    // Entries of earlier terms commit only through an entry of ours (§5.4.2): append one at once.
    const appended = this.appendEntries([EMPTY_BYTES]);
    assert(appended, 'the empty entry of a new leader was refused');
    this.logger?.debug('became leader', { id: this.id, term: this.term });
  }

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NO_NODE;
    }
    this.lead = NO_NODE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = NO_NODE;
    this.tracker.resetVotes();
    this.tracker.reset(this.log.lastIndex(), this.id, this.maxInflightMessages);
    this.uncommittedSizeBytes = 0;
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTicks + this.random.nextInt(this.electionTicks);
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private loadState(hardState: HardState): void {
    assert(hardState.commit >= this.log.committed && hardState.commit <= this.log.lastIndex(), `durable commit ${hardState.commit} outside [${this.log.committed}, ${this.log.lastIndex()}]`);
    this.log.committed = hardState.commit;
    this.term = hardState.term;
    this.vote = hardState.vote;
  }

  // ---- elections ----------------------------------------------------------------------------

  /**
   * A hint from the transport that the leader's process is gone (its connection closed and a new
   * one was refused): end this follower's lease now rather than after electionTicks of silence. It
   * then grants pre-votes, and campaigns after the random part of its timeout (0 to electionTicks
   * ticks from now), so followers that all get the hint at once do not split the vote. Liveness
   * only: the next message from a live leader restarts the lease, and until then a pre-vote is
   * refused by every node still in its lease, the leader included.
   */
  leaderUnreachable(): void {
    if (this.role !== 'follower' || this.lead === NO_NODE) return;
    this.electionElapsed = Math.max(this.electionElapsed, this.electionTicks);
  }

  hup(kind: CampaignKind): void {
    if (!this.promotable()) return;
    this.campaign(kind);
  }

  campaign(kind: CampaignKind): void {
    if (!this.promotable()) return;
    let voteType: MessageType;
    let term: number;
    if (kind === 'pre-election') {
      this.becomePreCandidate();
      voteType = MessageType.PreVote;
      term = this.term + 1; // the term we would campaign for
    } else {
      this.becomeCandidate();
      voteType = MessageType.Vote;
      term = this.term;
    }
    this.tracker.recordVote(this.id, true);
    if (this.tracker.tallyVotes().result === 'won') {
      // A single-voter group wins on its own vote.
      if (kind === 'pre-election') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const voter of this.tracker.voters) {
      if (voter === this.id) continue;
      this.send({ type: voteType, to: voter, term, index: lastIndex, logTerm: lastTerm, transfer: kind === 'transfer' });
    }
  }

  poll(from: NodeId, granted: boolean): ReturnType<ProgressTracker['tallyVotes']> {
    this.tracker.recordVote(from, granted);
    return this.tracker.tallyVotes();
  }

  // ---- replication --------------------------------------------------------------------------

  /** Appends new entries at our term; false when the uncommitted-bytes limit refuses them. */
  appendEntries(payloads: readonly Uint8Array[]): boolean {
    const lastIndex = this.log.lastIndex();
    const entries: Entry[] = payloads.map((data, offset) => ({ term: this.term, index: lastIndex + 1 + offset, data }));
    if (!this.increaseUncommittedSize(entries)) return false;
    const newLastIndex = this.log.append(entries);
    this.tracker.progress.get(this.id)!.maybeUpdate(newLastIndex);
    this.maybeCommit();
    return true;
  }

  maybeCommit(): boolean {
    return this.log.maybeCommit(this.tracker.committedIndex(), this.term);
  }

  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /** Sends the next Append (or a snapshot) to `to`; returns whether a message went out. */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const progress = this.tracker.progress.get(to);
    if (!progress || progress.isPaused()) return false;
    const prevIndex = progress.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = prevTerm === undefined ? undefined : this.log.entriesFrom(progress.next, this.maxSizePerMessageBytes);
    if (prevTerm === undefined || entries === undefined) return this.maybeSendSnapshot(to, progress);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: MessageType.Append, to, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed });
    progress.sentEntries(entries.length, prevIndex + entries.length);
    return true;
  }

  private maybeSendSnapshot(to: NodeId, progress: Progress): boolean {
    // A peer we have not heard from may be down; a snapshot can be large, so wait for a sign of life.
    if (!progress.recentActive) return false;
    const snapshot = this.log.snapshot();
    assert(snapshot.metadata.index > 0, `peer ${to} needs entries before ${this.log.firstIndex()} but there is no snapshot`);
    this.send({ type: MessageType.Snapshot, to, snapshot });
    progress.becomeSnapshot(snapshot.metadata.index);
    this.logger?.debug('sent snapshot', { to, index: snapshot.metadata.index });
    return true;
  }

  sendHeartbeat(to: NodeId): void {
    // Never tell a peer to commit past what it is known to hold: it may not have it.
    const progress = this.tracker.progress.get(to)!;
    this.send({ type: MessageType.Heartbeat, to, commit: Math.min(progress.match, this.log.committed) });
  }

  broadcastAppend(): void {
    for (const id of this.tracker.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  broadcastHeartbeat(): void {
    for (const id of this.tracker.progress.keys()) if (id !== this.id) this.sendHeartbeat(id);
  }

  sendTimeoutNow(to: NodeId): void {
    this.send({ type: MessageType.TimeoutNow, to });
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NO_NODE;
  }

  handleAppendEntries(message: Message): void {
    if (message.index < this.log.committed) {
      this.send({ type: MessageType.AppendResponse, to: message.from, index: this.log.committed });
      return;
    }
    const lastNewIndex = this.log.maybeAppend(message.index, message.logTerm, message.commit, message.entries);
    if (lastNewIndex !== undefined) {
      this.send({ type: MessageType.AppendResponse, to: message.from, index: lastNewIndex });
      return;
    }
    // Mismatch: hint the leader where to retry, skipping our whole divergent term at once.
    const hint = this.log.findConflictByTerm(Math.min(message.index, this.log.lastIndex()), message.logTerm);
    this.send({ type: MessageType.AppendResponse, to: message.from, index: message.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
  }

  handleHeartbeat(message: Message): void {
    this.log.commitTo(message.commit);
    this.send({ type: MessageType.HeartbeatResponse, to: message.from });
  }

  handleSnapshot(message: Message): void {
    const snapshot = message.snapshot;
    if (snapshot === undefined) return;
    if (this.restore(snapshot)) {
      this.logger?.debug('restored snapshot', { index: snapshot.metadata.index, term: snapshot.metadata.term });
      this.send({ type: MessageType.AppendResponse, to: message.from, index: this.log.lastIndex() });
    } else {
      this.send({ type: MessageType.AppendResponse, to: message.from, index: this.log.committed });
    }
  }

  /** Installs a snapshot from the leader; false when we already hold everything it covers. */
  private restore(snapshot: Snapshot): boolean {
    const { index, term } = snapshot.metadata;
    if (index <= this.log.committed) return false;
    if (this.role !== 'follower') {
      // Only followers install snapshots; anything else here is a bug, so fall back to safety.
      this.becomeFollower(this.term + 1, NO_NODE);
      return false;
    }
    if (this.log.matchTerm(index, term)) {
      // We hold the entry the snapshot ends with: log matching says we hold all before it too.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    return true;
  }

  increaseUncommittedSize(entries: readonly Entry[]): boolean {
    const size = entriesSizeBytes(entries);
    // One entry is always allowed in, however large, so a big proposal cannot wedge the leader.
    if (this.uncommittedSizeBytes > 0 && size > 0 && this.uncommittedSizeBytes + size > this.maxUncommittedEntriesBytes) return false;
    this.uncommittedSizeBytes += size;
    return true;
  }

  reduceUncommittedSize(entries: readonly Entry[]): void {
    if (this.role !== 'leader') return;
    this.uncommittedSizeBytes = Math.max(0, this.uncommittedSizeBytes - entriesSizeBytes(entries));
  }
}

function validateMembership(id: NodeId, voters: readonly NodeId[], learners: readonly NodeId[]): void {
  assert(voters.length > 0, 'at least one voter is required');
  const all = [...voters, ...learners];
  for (const member of all) assert(Number.isInteger(member) && member > 0 && member <= 0x7fff_ffff, `node ids are integers in [1, 2^31), got ${member}`);
  assert(new Set(all).size === all.length, `voters and learners must be distinct: ${all.join(',')}`);
  assert(all.includes(id), `node ${id} is neither a voter nor a learner`);
}
