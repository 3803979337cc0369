// An in-process network of RaftTransports for tests: messages go through the wire codec (so the
// codec is exercised too) and arrive on a later macrotask, never re-entrantly. Links can be cut
// one way or both, to partition nodes.
import type { Message, NodeId } from './core/types.ts';
import { decodeRaftMessage, encodeRaftMessage } from './raft-message-codec.ts';
import type { RaftTransport } from './raft-transport.ts';

export class InMemoryRaftNetwork {
  private readonly handlers = new Map<NodeId, (message: Message) => void>();
  private readonly cutLinks = new Set<string>();
  private inFlight = 0;
  delivered = 0;
  dropped = 0;

  transportFor(id: NodeId): RaftTransport {
    return {
      send: (to, message) => this.send(id, to, message),
      onMessage: (handler) => { this.handlers.set(id, handler); },
    };
  }

  /** Stops delivery to and from `id` (messages in flight are dropped on arrival). */
  isolate(id: NodeId): void {
    for (const other of this.handlers.keys()) {
      if (other === id) continue;
      this.cutLinks.add(`${id}>${other}`);
      this.cutLinks.add(`${other}>${id}`);
    }
  }

  /** Forgets the handler of a stopped node; a restarted one registers again. */
  detach(id: NodeId): void {
    this.handlers.delete(id);
  }

  heal(): void {
    this.cutLinks.clear();
  }

  /** Whether messages are still on their way. */
  get busy(): boolean {
    return this.inFlight > 0;
  }

  private send(from: NodeId, to: NodeId, message: Message): void {
    if (this.cutLinks.has(`${from}>${to}`)) {
      this.dropped++;
      return;
    }
    const bytes = encodeRaftMessage(message);
    this.inFlight++;
    setImmediate(() => {
      this.inFlight--;
      const handler = this.handlers.get(to);
      if (!handler || this.cutLinks.has(`${from}>${to}`)) {
        this.dropped++;
        return;
      }
      this.delivered++;
      handler(decodeRaftMessage(bytes));
    });
  }
}
