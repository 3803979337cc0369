// How a follower steps and ticks. Pre-candidates and candidates tick the same way: an election
// that neither wins nor hears from a leader has to time out and try again, just as a follower does.
import { MessageType, makeMessage } from './types.ts';
import type { Message } from './types.ts';
import type { ProposalError, Raft } from './raft.ts';

export function tickElection(raft: Raft): void {
  raft.electionElapsed++;
  if (raft.promotable() && raft.pastElectionTimeout()) {
    raft.electionElapsed = 0;
    raft.step(makeMessage({ type: MessageType.Hup, from: raft.id }));
  }
}

export function stepFollower(raft: Raft, message: Message): ProposalError | undefined {
  switch (message.type) {
    case MessageType.Propose:
      // No forwarding: callers route proposals to the leader themselves (Tide's active controller).
      return 'not-leader';
    case MessageType.Append:
      raft.electionElapsed = 0;
      raft.lead = message.from;
      raft.handleAppendEntries(message);
      return undefined;
    case MessageType.Heartbeat:
      raft.electionElapsed = 0;
      raft.lead = message.from;
      raft.handleHeartbeat(message);
      return undefined;
    case MessageType.Snapshot:
      raft.electionElapsed = 0;
      raft.lead = message.from;
      raft.handleSnapshot(message);
      return undefined;
    case MessageType.TimeoutNow:
      // The leader asks us to take over now: campaign without a pre-vote and past the voters' lease.
      raft.hup('transfer');
      return undefined;
  }
  return undefined;
}
