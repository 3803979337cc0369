// How a driver reaches its peers. The network layer (TCP between Tide nodes, using
// raft-message-codec.ts) implements it later; tests use InMemoryRaftNetwork. Delivery is best
// effort: Raft tolerates lost, duplicated and reordered messages, so send() never waits or retries.
import type { Message, NodeId } from './core/types.ts';

export interface RaftTransport {
  /** Queues `message` for node `to`; may drop it. Throws only if `to` is unknown. */
  send(to: NodeId, message: Message): void;
  /** Registers the single handler for messages addressed to this node. */
  onMessage(handler: (message: Message) => void): void;
}
