// The node's internal TCP listener (controller.listen): Raft messages from peers and controller
// RPCs from every node. Bad input (an oversized or malformed frame) closes that connection with a
// log line; it never reaches Raft or the controller. Connections and in-flight requests are bounded:
// past the in-flight limit the connection stops being read until answers go out.
import { createServer, type Server, type Socket } from 'node:net';
import { FrameDecoder } from '../network/frame-decoder.ts';
import type { HeartbeatConnection } from '../controller/broker-liveness.ts';
import type { Logger } from '../util/log.ts';
import { FrameKind, decodeFrame, encodeJsonFrame, internalFrameBytesMax } from './internal-frames.ts';

export interface InternalListenerHandlers {
  /** A Raft message's bytes, still encoded. */
  onRaft(message: Uint8Array): void;
  /** A controller RPC; the answer is sent back on the same connection, which `connection` names. */
  onRequest(request: unknown, connection: HeartbeatConnection): Promise<unknown>;
  /** A connection closed (its peer's process died, the link broke, or it was refused). */
  onConnectionClosed?(connectionId: number): void;
}

export interface InternalListenerLimits {
  connectionsMax: number;
  inFlightRequestsPerConnectionMax: number;
  frameBytesMax: number;
}

export const defaultInternalListenerLimits: InternalListenerLimits = {
  connectionsMax: 1024,
  inFlightRequestsPerConnectionMax: 256,
  frameBytesMax: internalFrameBytesMax,
};

export class InternalListener {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private closed = false;
  private nextConnectionId = 1;

  constructor(
    private readonly handlers: InternalListenerHandlers,
    private readonly logger: Logger,
    private readonly limits: InternalListenerLimits = defaultInternalListenerLimits,
  ) {}

  get port(): number {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : 0;
  }

  async start(host: string, port: number): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.logger.error('internal listener error', { error: error.message }));
    this.server = server;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    if (this.closed || this.sockets.size >= this.limits.connectionsMax) {
      this.logger.warn('internal connection refused', { remote: socket.remoteAddress, reason: this.closed ? 'closing' : 'too many connections' });
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(this.limits.frameBytesMax);
    let inFlight = 0;
    // Frames read but not handled yet: requests wait here for an in-flight slot, with the socket
    // paused meanwhile (Kafka mutes such a channel): a peer with many requests at once (a broker
    // leading a thousand new partitions asks for a thousand ISR changes) is slowed, not cut off.
    const waiting: Buffer[] = [];
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const connection = { id: this.nextConnectionId++, closed: false };
    const handleWaiting = (): void => {
      while (waiting.length > 0 && !socket.destroyed) {
        let frame;
        try {
          frame = decodeFrame(waiting[0]!);
        } catch (error) {
          this.logger.warn('closing internal connection: bad frame', { remote, error: (error as Error).message });
          socket.destroy();
          return;
        }
        if (frame.kind === FrameKind.Request && inFlight >= this.limits.inFlightRequestsPerConnectionMax) {
          socket.pause();
          return;
        }
        waiting.shift();
        if (frame.kind === FrameKind.Raft) {
          this.handlers.onRaft(frame.message);
          continue;
        }
        if (frame.kind !== FrameKind.Request) {
          this.logger.warn('closing internal connection: unexpected response frame', { remote });
          socket.destroy();
          return;
        }
        inFlight++;
        const correlationId = frame.correlationId;
        this.handlers.onRequest(frame.value, connection).then(
          (answer) => answer,
          (error: unknown) => ({ error: 'internal', message: (error as Error).message }),
        ).then((answer) => {
          inFlight--;
          if (socket.destroyed) return;
          try {
            socket.write(encodeJsonFrame(FrameKind.Response, correlationId, answer));
          } catch (error) {
            this.logger.error('cannot send rpc answer', { remote, error: (error as Error).message });
            socket.destroy();
            return;
          }
          handleWaiting();
        });
      }
      if (socket.isPaused()) socket.resume();
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        waiting.push(...decoder.push(chunk));
      } catch (error) {
        this.logger.warn('closing internal connection: bad frame', { remote, error: (error as Error).message });
        socket.destroy();
        return;
      }
      handleWaiting();
    });
    socket.on('error', (error) => this.logger.debug('internal connection error', { remote, error: error.message }));
    socket.on('close', () => {
      this.sockets.delete(socket);
      connection.closed = true;
      this.handlers.onConnectionClosed?.(connection.id);
    });
  }
}
