import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../util/log.ts';
import { Connection, type ConnectionLimits, type FrameHandler } from './connection.ts';

export interface ListenerOptions extends ConnectionLimits {
  name: string;
  host: string;
  port: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
}

/** The Kafka TCP listener: accepts connections within limits and hands frames to the handler. */
export class KafkaListener {
  private server: Server | null = null;
  private readonly connections = new Set<Connection>();
  private readonly connectionsPerIp = new Map<string, number>();
  private nextConnectionId = 1;
  private boundPort = 0;

  constructor(
    private readonly options: ListenerOptions,
    private readonly handler: FrameHandler,
    private readonly logger: Logger,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async start(): Promise<void> {
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.options.host, port: this.options.port, backlog: 1024 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.logger.error('listener error', { error: error.message }));
    const address = server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : this.options.port;
  }

  private accept(socket: Socket): void {
    const ip = socket.remoteAddress ?? 'unknown';
    const fromIp = this.connectionsPerIp.get(ip) ?? 0;
    if (this.connections.size >= this.options.maxConnections || fromIp >= this.options.maxConnectionsPerIp) {
      this.logger.warn('refusing connection: too many connections', { ip, total: this.connections.size, fromIp });
      socket.destroy();
      return;
    }
    this.connectionsPerIp.set(ip, fromIp + 1);
    const connection = new Connection(this.nextConnectionId++, socket, this.options.name, this.handler, this.options, this.logger, (closed) => {
      if (!this.connections.delete(closed)) return;
      const left = (this.connectionsPerIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.connectionsPerIp.delete(ip);
      else this.connectionsPerIp.set(ip, left);
    });
    this.connections.add(connection);
  }

  /** Stops accepting; waits up to timeoutMs for in-flight requests to be answered, then closes every connection. */
  async close(timeoutMs: number): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && [...this.connections].some((c) => c.inFlightRequests > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const connection of [...this.connections]) connection.close('node shutting down', 'info');
    await closed;
  }
}
