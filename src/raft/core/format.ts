// One-line descriptions of messages and entries for traces and logs.
import { MessageType, messageTypeName } from './types.ts';
import type { Entry, Message } from './types.ts';

export function describeMessage(message: Message): string {
  const head = `${message.from}->${message.to} ${messageTypeName(message.type)} term=${message.term}`;
  switch (message.type) {
    case MessageType.Append:
      return `${head} prev=${message.index}/${message.logTerm} commit=${message.commit} entries=[${message.entries.map(describeEntryId).join(' ')}]`;
    case MessageType.AppendResponse:
      return message.reject ? `${head} reject index=${message.index} hint=${message.rejectHint}/${message.logTerm}` : `${head} index=${message.index}`;
    case MessageType.Vote:
    case MessageType.PreVote:
      return `${head} last=${message.index}/${message.logTerm}${message.transfer ? ' transfer' : ''}`;
    case MessageType.VoteResponse:
    case MessageType.PreVoteResponse:
      return `${head} ${message.reject ? 'rejected' : 'granted'}`;
    case MessageType.Heartbeat:
      return `${head} commit=${message.commit}`;
    case MessageType.Snapshot:
      return `${head} snapshot=${message.snapshot?.metadata.index}/${message.snapshot?.metadata.term}`;
    default:
      return head;
  }
}

export function describeEntryId(entry: Entry): string {
  return `${entry.index}/${entry.term}`;
}
