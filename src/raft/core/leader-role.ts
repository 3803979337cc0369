// How a leader steps and ticks: heartbeats, the CheckQuorum lease, proposals, leadership transfer
// and the acknowledgements that move each peer's progress and the commit index.
import { MessageType, NO_NODE, makeMessage } from './types.ts';
import type { Message, NodeId } from './types.ts';
import type { Progress } from './progress.ts';
import type { ProposalError, Raft } from './raft.ts';
import { assert } from './util.ts';

export function tickHeartbeat(raft: Raft): void {
  raft.heartbeatElapsed++;
  raft.electionElapsed++;
  if (raft.electionElapsed >= raft.electionTicks) {
    raft.electionElapsed = 0;
    if (raft.checkQuorum) raft.step(makeMessage({ type: MessageType.CheckQuorum, from: raft.id }));
    // A transfer that has not finished within an election timeout has failed; take proposals again.
    if (raft.role === 'leader' && raft.leadTransferee !== NO_NODE) raft.abortLeaderTransfer();
  }
  if (raft.role !== 'leader') return;
  for (const progress of raft.tracker.progress.values()) {
    if (progress.state === 'snapshot' && ++progress.snapshotTicks >= raft.snapshotRetryTicks) progress.becomeProbe();
  }
  if (raft.heartbeatElapsed >= raft.heartbeatTicks) {
    raft.heartbeatElapsed = 0;
    raft.step(makeMessage({ type: MessageType.Beat, from: raft.id }));
  }
}

export function stepLeader(raft: Raft, message: Message): ProposalError | undefined {
  switch (message.type) {
    case MessageType.Beat:
      raft.broadcastHeartbeat();
      return undefined;
    case MessageType.CheckQuorum:
      if (!raft.tracker.quorumActive(raft.id)) {
        raft.becomeFollower(raft.term, NO_NODE);
        return undefined;
      }
      for (const [id, progress] of raft.tracker.progress) if (id !== raft.id) progress.recentActive = false;
      return undefined;
    case MessageType.Propose:
      return proposeAsLeader(raft, message);
    case MessageType.TransferLeader:
      transferAsLeader(raft, message.from);
      return undefined;
  }

  const progress = raft.tracker.progress.get(message.from);
  if (!progress) return undefined;
  switch (message.type) {
    case MessageType.AppendResponse:
      handleAppendResponse(raft, message, progress);
      break;
    case MessageType.HeartbeatResponse:
      progress.recentActive = true;
      progress.probeSent = false;
      // A full window with nothing acknowledged may mean the Appends were lost: let one more through.
      if (progress.state === 'replicate' && progress.inflights.full()) progress.inflights.freeFirstOne();
      if (progress.match < raft.log.lastIndex()) raft.sendAppend(message.from);
      break;
  }
  return undefined;
}

function proposeAsLeader(raft: Raft, message: Message): ProposalError | undefined {
  assert(message.entries.length > 0, 'empty proposal');
  if (raft.leadTransferee !== NO_NODE) return 'transfer-in-progress';
  for (const entry of message.entries) if (entry.data.length > raft.maxEntryBytes) return 'entry-too-large';
  if (!raft.appendEntries(message.entries.map((entry) => entry.data))) return 'too-many-uncommitted-bytes';
  raft.broadcastAppend();
  return undefined;
}

function transferAsLeader(raft: Raft, transferee: NodeId): void {
  const progress = raft.tracker.progress.get(transferee);
  if (!progress || progress.isLearner) return;
  if (raft.leadTransferee !== NO_NODE) {
    if (raft.leadTransferee === transferee) return;
    raft.abortLeaderTransfer();
  }
  if (transferee === raft.id) return;
  // The transfer must finish within an election timeout; proposals wait until it does or fails.
  raft.electionElapsed = 0;
  raft.leadTransferee = transferee;
  if (progress.match === raft.log.lastIndex()) raft.sendTimeoutNow(transferee);
  else raft.sendAppend(transferee);
}

function handleAppendResponse(raft: Raft, message: Message, progress: Progress): void {
  progress.recentActive = true;
  if (message.reject) {
    let nextProbeIndex = message.rejectHint;
    if (message.logTerm > 0) nextProbeIndex = raft.log.findConflictByTerm(message.rejectHint, message.logTerm).index;
    if (progress.maybeDecreaseTo(message.index, nextProbeIndex)) {
      if (progress.state === 'replicate') progress.becomeProbe();
      raft.sendAppend(message.from);
    }
    return;
  }
  const wasPaused = progress.isPaused();
  if (!progress.maybeUpdate(message.index)) return;
  if (progress.state === 'probe') {
    progress.becomeReplicate();
  } else if (progress.state === 'snapshot' && progress.match >= progress.pendingSnapshot) {
    progress.becomeProbe();
    progress.becomeReplicate();
  } else if (progress.state === 'replicate') {
    progress.inflights.freeLE(message.index);
  }
  if (raft.maybeCommit()) raft.broadcastAppend();
  else if (wasPaused) raft.sendAppend(message.from);
  // The window may have opened for several size-limited Appends; bounded by its capacity.
  for (let sent = 0; sent <= raft.maxInflightMessages && raft.maybeSendAppend(message.from, false); sent++);
  if (message.from === raft.leadTransferee && progress.match === raft.log.lastIndex()) raft.sendTimeoutNow(message.from);
}
