// RaftTransport over the internal listener: messages to a voter go out on this node's PeerLink to
// it (best effort, bounded, reconnecting); messages from peers arrive through the InternalListener
// and are decoded with every length checked. A message that fails to decode is dropped and logged.
import { decodeRaftMessage, encodeRaftMessage } from '../raft/raft-message-codec.ts';
import type { RaftTransport } from '../raft/raft-transport.ts';
import type { Message, NodeId } from '../raft/core/types.ts';
import type { Logger } from '../util/log.ts';
import type { PeerLink } from './peer-link.ts';

export class TcpRaftTransport implements RaftTransport {
  private handler: ((message: Message) => void) | null = null;
  private badMessages = 0;

  constructor(
    private readonly selfId: NodeId,
    private readonly links: ReadonlyMap<NodeId, PeerLink>,
    private readonly logger: Logger,
  ) {}

  send(to: NodeId, message: Message): void {
    const link = this.links.get(to);
    if (!link) throw new Error(`raft message to unknown node ${to}`);
    link.sendRaft(encodeRaftMessage(message));
  }

  onMessage(handler: (message: Message) => void): void {
    this.handler = handler;
  }

  /** Called by the internal listener for each Raft frame. */
  receive(bytes: Uint8Array): void {
    let message: Message;
    try {
      message = decodeRaftMessage(bytes);
    } catch (error) {
      this.badMessages++;
      if (this.badMessages <= 10 || this.badMessages % 1000 === 0) this.logger.warn('dropped undecodable raft message', { count: this.badMessages, error: (error as Error).message });
      return;
    }
    // A message meant for another node (a misconfigured voter list) must not be stepped here.
    if (message.to !== this.selfId) {
      this.logger.warn('dropped raft message addressed to another node', { to: message.to, from: message.from });
      return;
    }
    this.handler?.(message);
  }
}
