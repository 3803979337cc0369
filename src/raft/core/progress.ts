// The leader's view of each peer (etcd's tracker package): how much of the log it holds, how the
// leader is replicating to it, and the votes of an election. Membership is static.
import type { NodeId } from './types.ts';
import { assert } from './util.ts';

/**
 * probe: the leader does not know where the peer's log ends; it sends one Append per heartbeat.
 * replicate: the peer is caught up; Appends stream optimistically, bounded by the inflight window.
 * snapshot: the peer needs a snapshot; nothing else is sent until it answers or the wait times out.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** A ring of the last indexes of Appends sent but not acknowledged, to bound data in flight. */
export class Inflights {
  private readonly buffer: number[];
  private start = 0;
  private countNow = 0;

  constructor(readonly capacity: number) {
    assert(capacity >= 1, `inflight capacity must be at least 1, got ${capacity}`);
    this.buffer = new Array<number>(capacity).fill(0);
  }

  get count(): number {
    return this.countNow;
  }

  full(): boolean {
    return this.countNow === this.capacity;
  }

  add(lastIndex: number): void {
    assert(!this.full(), 'inflights full');
    this.buffer[(this.start + this.countNow) % this.capacity] = lastIndex;
    this.countNow++;
  }

  /** Frees every inflight Append whose last index is <= index (all acknowledged by one response). */
  freeLE(index: number): void {
    while (this.countNow > 0 && this.buffer[this.start]! <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.countNow--;
    }
  }

  freeFirstOne(): void {
    if (this.countNow === 0) return;
    this.start = (this.start + 1) % this.capacity;
    this.countNow--;
  }

  reset(): void {
    this.start = 0;
    this.countNow = 0;
  }
}

export class Progress {
  /** Highest index known to match the leader's log. */
  match = 0;
  /** Next index to send. */
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an Append is out and we wait for an answer (or the next heartbeat) before sending another. */
  probeSent = false;
  /** In snapshot state: the index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Leader ticks since the snapshot was sent; a lost snapshot message is retried after a while. */
  snapshotTicks = 0;
  /** Heard from since the last CheckQuorum; the leader steps down when a quorum was not. */
  recentActive = false;
  readonly inflights: Inflights;

  constructor(next: number, inflightCapacity: number, readonly isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(inflightCapacity);
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot the peer holds at least pendingSnapshot; probe from there.
    if (this.state === 'snapshot') {
      const pendingSnapshot = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pendingSnapshot + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** Records an acknowledgement up to index; returns whether match moved. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * Handles a rejection of the Append at `rejected`; `matchHint` is where the peer's log may match.
   * Returns false for a stale rejection (one for an Append sent before a newer answer).
   */
  maybeDecreaseTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Records that an Append carrying entries up to lastIndex went out. */
  sentEntries(entryCount: number, lastIndex: number): void {
    if (entryCount === 0) return;
    if (this.state === 'replicate') {
      this.next = lastIndex + 1;
      this.inflights.add(lastIndex);
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe': return this.probeSent;
      case 'replicate': return this.inflights.full();
      case 'snapshot': return true;
    }
  }
}

export type VoteResult = 'won' | 'lost' | 'pending';

export class ProgressTracker {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  private readonly voterSet: ReadonlySet<NodeId>;

  constructor(voters: readonly NodeId[], learners: readonly NodeId[]) {
    this.voters = [...voters].sort((a, b) => a - b);
    this.learners = [...learners].sort((a, b) => a - b);
    this.voterSet = new Set(this.voters);
  }

  get quorum(): number {
    return Math.floor(this.voters.length / 2) + 1;
  }

  isVoter(id: NodeId): boolean {
    return this.voterSet.has(id);
  }

  isMember(id: NodeId): boolean {
    return this.progress.has(id);
  }

  reset(lastIndex: number, selfId: NodeId, inflightCapacity: number): void {
    this.progress.clear();
    for (const id of this.voters) this.progress.set(id, new Progress(lastIndex + 1, inflightCapacity, false));
    for (const id of this.learners) this.progress.set(id, new Progress(lastIndex + 1, inflightCapacity, true));
    const self = this.progress.get(selfId);
    if (self) self.match = lastIndex;
  }

  /** The highest index held by a quorum of voters. */
  committedIndex(): number {
    const matches = this.voters.map((id) => this.progress.get(id)?.match ?? 0);
    matches.sort((a, b) => b - a);
    return matches[this.quorum - 1] ?? 0;
  }

  /** Whether a quorum of voters (self included) was heard from since the last check. */
  quorumActive(selfId: NodeId): boolean {
    let active = 0;
    for (const id of this.voters) {
      if (id === selfId || this.progress.get(id)?.recentActive) active++;
    }
    return active >= this.quorum;
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.isVoter(id) || this.votes.has(id)) return;
    this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const vote of this.votes.values()) {
      if (vote) granted++;
      else rejected++;
    }
    const result: VoteResult = granted >= this.quorum ? 'won' : rejected > this.voters.length - this.quorum ? 'lost' : 'pending';
    return { granted, rejected, result };
  }
}
