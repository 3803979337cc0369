// How a pre-candidate or candidate steps: count the answers of its own round, and give way to any
// leader of its term. One function serves both because they differ only in which answer they count
// and what winning leads to.
import { MessageType, NO_NODE } from './types.ts';
import type { Message } from './types.ts';
import type { ProposalError, Raft } from './raft.ts';

export function stepCandidate(raft: Raft, message: Message): ProposalError | undefined {
  // A pre-candidate counts pre-vote answers, a candidate real ones; answers of the other kind are stale.
  const myResponseType = raft.role === 'pre-candidate' ? MessageType.PreVoteResponse : MessageType.VoteResponse;
  switch (message.type) {
    case MessageType.Propose:
      return 'not-leader';
    case MessageType.Append:
      raft.becomeFollower(message.term, message.from);
      raft.handleAppendEntries(message);
      return undefined;
    case MessageType.Heartbeat:
      raft.becomeFollower(message.term, message.from);
      raft.handleHeartbeat(message);
      return undefined;
    case MessageType.Snapshot:
      raft.becomeFollower(message.term, message.from);
      raft.handleSnapshot(message);
      return undefined;
  }
  if (message.type !== myResponseType) return undefined;
  const { result } = raft.poll(message.from, !message.reject);
  if (result === 'won') {
    if (raft.role === 'pre-candidate') {
      raft.campaign('election');
    } else {
      raft.becomeLeader();
      raft.broadcastAppend();
    }
  } else if (result === 'lost') {
    // A rejection carrying a newer term already made us a follower in Raft.step.
    raft.becomeFollower(raft.term, NO_NODE);
  }
  return undefined;
}
