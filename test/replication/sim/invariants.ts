// The replication simulator's invariants, checked after every event (and the final ones after
// healing). Each check is incremental or runs on a rare event, so a seed stays cheap:
// - HW never decreases on a replica (within one process lifetime; a restart reloads a checkpoint);
// - every offset below any replica's HW holds the same value on every replica (what a consumer
//   reading up to the HW sees never changes or vanishes);
// - every acknowledged (acks=all) record is on every live member of the committed ISR, is never
//   truncated by one, and is on every replica that becomes leader;
// - at most one leader per leader epoch;
// - a follower that has finished truncating holds a prefix of its leader's log.

export interface SimRecord {
  readonly value: string;
  readonly epoch: number;
}

export class InvariantChecker {
  readonly violations: string[] = [];
  private readonly committed = new Map<number, string>();
  readonly acked = new Map<number, string>();
  private maxAckedOffset = -1;
  private readonly leaderOfEpoch = new Map<number, number>();
  private readonly highestHw = new Map<number, number>();
  private readonly checkedUpTo = new Map<number, number>();

  fail(message: string): void {
    if (this.violations.length < 20) this.violations.push(message);
  }

  /** A process (re)started: its HW comes from a checkpoint and its committed prefix is re-read. */
  onStart(nodeId: number): void {
    this.highestHw.delete(nodeId);
    this.checkedUpTo.set(nodeId, 0);
  }

  onHighWatermark(nodeId: number, highWatermark: number, records: readonly SimRecord[], atMs: number): void {
    const previous = this.highestHw.get(nodeId) ?? -1;
    if (highWatermark < previous) this.fail(`HW went backwards on node ${nodeId}: ${previous} -> ${highWatermark} at ${atMs.toFixed(1)} ms`);
    this.highestHw.set(nodeId, highWatermark);
    const from = Math.min(this.checkedUpTo.get(nodeId) ?? 0, highWatermark);
    if (highWatermark > records.length) this.fail(`node ${nodeId} HW ${highWatermark} is past its log end ${records.length}`);
    for (let offset = from; offset < Math.min(highWatermark, records.length); offset++) {
      const value = records[offset]!.value;
      const seen = this.committed.get(offset);
      if (seen === undefined) this.committed.set(offset, value);
      else if (seen !== value) this.fail(`offset ${offset} below the HW holds ${value} on node ${nodeId} but ${seen} was exposed before (at ${atMs.toFixed(1)} ms)`);
    }
    this.checkedUpTo.set(nodeId, highWatermark);
  }

  onAcked(offset: number, value: string, isrMembers: readonly { id: number; records: readonly SimRecord[] }[], atMs: number): void {
    const before = this.acked.get(offset);
    if (before !== undefined && before !== value) this.fail(`offset ${offset} acknowledged twice: ${before}, then ${value}`);
    this.acked.set(offset, value);
    this.maxAckedOffset = Math.max(this.maxAckedOffset, offset);
    const exposed = this.committed.get(offset);
    if (exposed !== undefined && exposed !== value) this.fail(`acknowledged ${value} at offset ${offset} but consumers saw ${exposed}`);
    for (const member of isrMembers) {
      if (member.records[offset]?.value !== value) this.fail(`acknowledged ${value} at offset ${offset} is missing on ISR member ${member.id} at ${atMs.toFixed(1)} ms`);
    }
  }

  /** What a consumer read (up to a leader's HW) must match everything exposed before. */
  onConsumerRead(nodeId: number, records: readonly SimRecord[]): void {
    for (let offset = 0; offset < records.length; offset++) {
      const seen = this.committed.get(offset);
      if (seen !== undefined && seen !== records[offset]!.value) {
        this.fail(`a consumer read ${records[offset]!.value} at offset ${offset} from node ${nodeId}, but ${seen} was exposed before`);
        return;
      }
    }
  }

  /** An ISR member (or a new leader) must hold every acknowledged record. */
  checkHoldsAcked(nodeId: number, records: readonly SimRecord[], why: string): void {
    for (const [offset, value] of this.acked) {
      if (records[offset]?.value !== value) {
        this.fail(`${why}: node ${nodeId} lacks acknowledged ${value} at offset ${offset} (has ${records[offset]?.value ?? 'nothing'})`);
        return;
      }
    }
  }

  onTruncate(nodeId: number, endOffset: number, inIsr: boolean): void {
    if (inIsr && endOffset <= this.maxAckedOffset) {
      for (const offset of this.acked.keys()) {
        if (offset >= endOffset) {
          this.fail(`ISR member ${nodeId} truncated to ${endOffset}, cutting acknowledged offset ${offset}`);
          return;
        }
      }
    }
  }

  onBecomeLeader(nodeId: number, leaderEpoch: number, records: readonly SimRecord[]): void {
    const other = this.leaderOfEpoch.get(leaderEpoch);
    if (other !== undefined && other !== nodeId) this.fail(`two leaders in leader epoch ${leaderEpoch}: ${other} and ${nodeId}`);
    this.leaderOfEpoch.set(leaderEpoch, nodeId);
    this.checkHoldsAcked(nodeId, records, `leader of epoch ${leaderEpoch}`);
  }

  checkPrefix(followerId: number, follower: readonly SimRecord[], leaderId: number, leader: readonly SimRecord[]): void {
    if (follower.length > leader.length) {
      this.fail(`follower ${followerId} (${follower.length} records) is longer than leader ${leaderId} (${leader.length}) after truncation`);
      return;
    }
    for (let offset = 0; offset < follower.length; offset++) {
      const mine = follower[offset]!;
      const theirs = leader[offset]!;
      if (mine.value !== theirs.value || mine.epoch !== theirs.epoch) {
        this.fail(`follower ${followerId} diverges from leader ${leaderId} at offset ${offset}: ${mine.value}@${mine.epoch} vs ${theirs.value}@${theirs.epoch}`);
        return;
      }
    }
  }

  /** After healing: the final leader holds everything acknowledged and everything ever exposed. */
  checkFinal(leaderId: number, records: readonly SimRecord[]): void {
    this.checkHoldsAcked(leaderId, records, 'final leader');
    for (const [offset, value] of this.committed) {
      if (records[offset]?.value !== value) {
        this.fail(`exposed ${value} at offset ${offset} vanished: final leader ${leaderId} has ${records[offset]?.value ?? 'nothing'}`);
        return;
      }
    }
  }
}
