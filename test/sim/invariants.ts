// Raft's safety properties, checked incrementally after every simulated event (Raft paper fig. 3):
// election safety (one leader per term), log matching, leader completeness, no committed entry
// lost or changed, and state machine safety (every node applies the same state at each index).
// Each check looks only at what changed, so running them after every event stays cheap.
import type { RaftNode } from '../../src/raft/core/raft-node.ts';
import type { Entry, NodeId } from '../../src/raft/core/types.ts';

interface SeenEntry {
  readonly data: Uint8Array;
  readonly previousTerm: number | undefined;
}

interface CommittedEntry {
  readonly term: number;
  readonly data: Uint8Array;
  /** Term of the node that first reported it committed: later leaders must hold it. */
  readonly commitTerm: number;
}

export class InvariantChecker {
  readonly violations: string[] = [];
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly entriesSeen = new Map<number, Map<number, SeenEntry>>();
  private readonly committed: CommittedEntry[] = [];
  private readonly appliedHash: number[] = [];
  private readonly highestTerm = new Map<NodeId, number>();
  private readonly checkedCommit = new Map<NodeId, number>();
  private readonly leadershipChecked = new Map<NodeId, number>();
  leaderChanges = 0;

  fail(message: string): void {
    if (this.violations.length < 20 && !this.violations.includes(message)) this.violations.push(message);
  }

  committedEntry(index: number): CommittedEntry | undefined {
    return this.committed[index];
  }

  get highestCommittedIndex(): number {
    return this.committed.length - 1;
  }

  /** After a restart: the durable commit was checked before the crash. */
  nodeRestarted(node: RaftNode): void {
    this.checkedCommit.set(node.id, node.commitIndex);
    this.leadershipChecked.delete(node.id);
    this.observeNode(node);
  }

  /** Runs after every event that touched `node`. */
  observeNode(node: RaftNode): void {
    const term = node.term;
    const highest = this.highestTerm.get(node.id) ?? 0;
    if (term < highest) this.fail(`node ${node.id}: term went back from ${highest} to ${term}`);
    else this.highestTerm.set(node.id, term);

    if (node.isLeader) this.observeLeader(node, term);
    this.observeCommit(node);
  }

  private observeLeader(node: RaftNode, term: number): void {
    const leader = this.leaderOfTerm.get(term);
    if (leader === undefined) {
      this.leaderOfTerm.set(term, node.id);
      this.leaderChanges++;
    } else if (leader !== node.id) {
      this.fail(`election safety: nodes ${leader} and ${node.id} both lead term ${term}`);
    }
    if (this.leadershipChecked.get(node.id) === term) return;
    this.leadershipChecked.set(node.id, term);
    // Leader completeness: every entry committed in an earlier term is in the new leader's log.
    // By log matching, holding the latest such entry means holding all before it.
    for (let index = this.committed.length - 1; index > 0; index--) {
      const entry = this.committed[index];
      if (entry === undefined || entry.commitTerm >= term) continue;
      if (index < node.firstIndex() - 1) return; // inside the leader's snapshot, checked by hash
      const held = node.logTerm(index);
      if (held !== entry.term) this.fail(`leader completeness: leader ${node.id} of term ${term} has term ${held} at committed index ${index} (committed with term ${entry.term})`);
      return;
    }
  }

  private observeCommit(node: RaftNode): void {
    const commit = node.commitIndex;
    const checked = this.checkedCommit.get(node.id) ?? 0;
    if (commit < checked) {
      this.fail(`node ${node.id}: commit went back from ${checked} to ${commit}`);
      return;
    }
    if (commit === checked) return;
    this.checkedCommit.set(node.id, commit);
    const lo = Math.max(checked + 1, node.firstIndex());
    if (lo > commit) return; // learned through a snapshot; its state is checked by hash
    const entries = node.logEntries(lo, commit + 1);
    for (const entry of entries) this.recordCommitted(node, entry);
  }

  private recordCommitted(node: RaftNode, entry: Entry): void {
    const known = this.committed[entry.index];
    if (known === undefined) {
      this.committed[entry.index] = { term: entry.term, data: entry.data, commitTerm: node.term };
    } else if (known.term !== entry.term || !bytesEqual(known.data, entry.data)) {
      this.fail(`committed entry changed: node ${node.id} has ${entry.index}/${entry.term} where ${entry.index}/${known.term} was committed`);
    }
  }

  /** Log matching: an (index, term) pair always carries the same data and follows the same term. */
  entriesPersisted(nodeId: NodeId, entries: readonly Entry[], termAt: (index: number) => number | undefined): void {
    for (const entry of entries) {
      const previousTerm = termAt(entry.index - 1);
      let byTerm = this.entriesSeen.get(entry.index);
      if (byTerm === undefined) {
        byTerm = new Map();
        this.entriesSeen.set(entry.index, byTerm);
      }
      const seen = byTerm.get(entry.term);
      if (seen === undefined) {
        byTerm.set(entry.term, { data: entry.data, previousTerm });
        continue;
      }
      if (!bytesEqual(seen.data, entry.data)) this.fail(`log matching: node ${nodeId} holds ${entry.index}/${entry.term} with different data`);
      if (seen.previousTerm !== undefined && previousTerm !== undefined && seen.previousTerm !== previousTerm) {
        this.fail(`log matching: node ${nodeId} holds ${entry.index}/${entry.term} after term ${previousTerm}, elsewhere after term ${seen.previousTerm}`);
      }
    }
  }

  /** State machine safety: the state after applying `index` is the same on every node. */
  stateAt(nodeId: NodeId, index: number, hash: number, how: 'applied' | 'restored'): void {
    const known = this.appliedHash[index];
    if (known === undefined) {
      if (how === 'restored') this.fail(`node ${nodeId} restored a snapshot at ${index} that no node ever applied`);
      this.appliedHash[index] = hash;
    } else if (known !== hash) {
      this.fail(`state machine safety: node ${nodeId} ${how} state ${hash.toString(16)} at ${index}, others ${known.toString(16)}`);
    }
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let at = 0; at < a.length; at++) if (a[at] !== b[at]) return false;
  return true;
}
