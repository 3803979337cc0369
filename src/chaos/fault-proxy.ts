// A loopback TCP proxy with one listening port per named link, each forwarding to a target that can
// be changed (a restarted node on a new port). Faults are per link and take effect at once on every
// connection of the link:
//   pass       bytes flow;
//   cut        every connection is reset and new ones are reset on accept (a dead host / refused port);
//   blackhole  connections are accepted but nothing is delivered in either direction;
//   delay      every chunk is held delayMs ± jitterMs, without reordering a direction's bytes;
//   one-way    one direction is dropped, the other flows.
// A TCP stream cannot lose bytes in the middle and carry on (the kernel retransmits), so a
// connection that had bytes dropped (black-hole, one-way) is reset when its link leaves that mode:
// peers see a stall and then a broken connection, never a torn Kafka frame.
// A mode can also be set for one source host only (setMode(link, mode, { from: '127.0.1.2' })):
// on loopback every node opens its connections from its own 127.0.1.x (outbound.local.host), so
// per-source modes on the link in front of node B cut A -> B without touching C -> B or clients.
// Connections from a source without a mode of its own follow the link's default mode.
// Buffers are bounded: a direction holding more than maxBufferedBytes pauses its reader, which is
// TCP backpressure, until it drains below half.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Logger } from '../util/log.ts';
import { silentLogger } from '../util/log.ts';

export type Direction = 'to-target' | 'to-client';

export type LinkMode =
  | { kind: 'pass' }
  | { kind: 'cut' }
  | { kind: 'blackhole' }
  | { kind: 'delay'; delayMs: number; jitterMs: number }
  | { kind: 'one-way'; drop: Direction };

export interface LinkTarget {
  host: string;
  port: number;
}

export interface SourceOption {
  /** Source IP address of the connections this applies to (as accepted: IPv4-mapped forms are normalised). */
  from?: string;
}

export interface LinkStats {
  mode: LinkMode;
  /** Modes set for single source hosts. */
  sourceModes: Record<string, LinkMode>;
  /** Connections accepted or refused per source address (the first MAX_SOURCES_TRACKED sources). */
  connectionsBySource: Record<string, number>;
  target: LinkTarget;
  listenPort: number;
  openConnections: number;
  acceptedConnections: number;
  refusedConnections: number;
  forwardedBytes: number;
  droppedBytes: number;
}

export interface FaultProxyOptions {
  logger?: Logger;
  /** Bytes one direction of one connection may hold (delay queue) before its reader is paused. */
  maxBufferedBytes?: number;
  /** Connections one link holds at once; more are reset on accept. */
  maxConnectionsPerLink?: number;
  /** Uniform [0, 1) source for delay jitter; inject a seeded one for replayable runs. */
  random?: () => number;
  now?: () => number;
}

const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_CONNECTIONS_PER_LINK = 1024;
const LOOPBACK = '127.0.0.1';
const MAX_SOURCES_TRACKED = 256;

interface Pending {
  data: Buffer;
  dueAtMs: number;
}

/** One direction of one proxied connection. */
class Pipe {
  private readonly queue: Pending[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastDueAtMs = 0;
  droppedAny = false;

  constructor(
    private readonly connection: Connection,
    private readonly link: Link,
    private readonly direction: Direction,
    private readonly source: Socket,
    private readonly sink: Socket,
  ) {
    source.on('data', (chunk: Buffer) => this.onData(chunk));
    sink.on('drain', () => this.maybeResume());
  }

  private onData(chunk: Buffer): void {
    const mode = this.connection.mode;
    const dropped = mode.kind === 'blackhole' || mode.kind === 'cut' || (mode.kind === 'one-way' && mode.drop === this.direction);
    if (dropped) {
      this.droppedAny = true;
      this.link.droppedBytes += chunk.length;
      return;
    }
    const delayMs = mode.kind === 'delay' ? Math.max(0, mode.delayMs + (this.link.random() * 2 - 1) * mode.jitterMs) : 0;
    if (delayMs === 0 && this.queue.length === 0) {
      this.write(chunk);
      return;
    }
    // Never earlier than the chunk before it: jitter must not reorder a byte stream.
    const dueAtMs = Math.max(this.link.now() + delayMs, this.lastDueAtMs);
    this.lastDueAtMs = dueAtMs;
    this.queue.push({ data: chunk, dueAtMs });
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > this.link.maxBufferedBytes) this.source.pause();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null || this.queue.length === 0) return;
    const waitMs = Math.max(0, this.queue[0]!.dueAtMs - this.link.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.release();
    }, waitMs);
  }

  private release(): void {
    const nowMs = this.link.now();
    while (this.queue.length > 0 && this.queue[0]!.dueAtMs <= nowMs) {
      const next = this.queue.shift()!;
      this.queuedBytes -= next.data.length;
      this.write(next.data);
    }
    this.maybeResume();
    this.schedule();
  }

  private write(data: Buffer): void {
    if (this.sink.destroyed) return;
    this.link.forwardedBytes += data.length;
    if (!this.sink.write(data)) this.source.pause();
  }

  private maybeResume(): void {
    if (this.queuedBytes <= this.link.maxBufferedBytes / 2 && !this.sink.writableNeedDrain && !this.source.destroyed) this.source.resume();
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }
}

class Connection {
  readonly pipes: Pipe[] = [];
  private closed = false;

  constructor(readonly client: Socket, readonly upstream: Socket, private readonly link: Link, readonly source: string) {
    this.pipes.push(new Pipe(this, link, 'to-target', client, upstream), new Pipe(this, link, 'to-client', upstream, client));
    const close = () => this.close();
    for (const socket of [client, upstream]) {
      socket.on('error', () => {});
      socket.once('close', close);
      socket.once('end', close);
    }
  }

  get mode(): LinkMode {
    return this.link.modeFor(this.source);
  }

  get droppedAny(): boolean {
    return this.pipes.some((pipe) => pipe.droppedAny);
  }

  /** Resets both sides (RST, not FIN): the peers learn at once that the connection is gone. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const pipe of this.pipes) pipe.dispose();
    for (const socket of [this.client, this.upstream]) {
      if (!socket.destroyed) socket.resetAndDestroy();
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

class Link {
  mode: LinkMode = { kind: 'pass' };
  readonly sourceModes = new Map<string, LinkMode>();
  readonly connectionsBySource = new Map<string, number>();
  forwardedBytes = 0;
  droppedBytes = 0;
  acceptedConnections = 0;
  refusedConnections = 0;
  readonly connections = new Set<Connection>();

  constructor(
    readonly name: string,
    public target: LinkTarget,
    readonly server: Server,
    readonly listenPort: number,
    readonly maxBufferedBytes: number,
    readonly maxConnections: number,
    readonly random: () => number,
    readonly now: () => number,
  ) {}

  modeFor(source: string): LinkMode {
    return this.sourceModes.get(source) ?? this.mode;
  }
}

/** `::ffff:127.0.1.2` (an IPv4 peer on a dual-stack socket) and `127.0.1.2` name the same source. */
export function normalizeSource(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

export class FaultProxy {
  private readonly links = new Map<string, Link>();
  private readonly logger: Logger;
  private readonly maxBufferedBytes: number;
  private readonly maxConnectionsPerLink: number;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(options: FaultProxyOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.maxConnectionsPerLink = options.maxConnectionsPerLink ?? DEFAULT_MAX_CONNECTIONS_PER_LINK;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** Opens a loopback listener (listenPort 0 = ephemeral) forwarding to `target`; returns its port. */
  async addLink(name: string, target: LinkTarget | number, listenPort = 0): Promise<number> {
    if (this.links.has(name)) throw new Error(`link ${name} already exists`);
    const resolvedTarget = typeof target === 'number' ? { host: LOOPBACK, port: target } : target;
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, LOOPBACK, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy listener has no TCP address');
    const link = new Link(name, resolvedTarget, server, address.port, this.maxBufferedBytes, this.maxConnectionsPerLink, this.random, this.now);
    server.on('connection', (client) => this.accept(link, client));
    this.links.set(name, link);
    return address.port;
  }

  private accept(link: Link, client: Socket): void {
    client.on('error', () => {});
    const source = normalizeSource(client.remoteAddress);
    const seen = link.connectionsBySource.get(source);
    if (seen !== undefined || link.connectionsBySource.size < MAX_SOURCES_TRACKED) link.connectionsBySource.set(source, (seen ?? 0) + 1);
    if (link.modeFor(source).kind === 'cut' || link.connections.size >= link.maxConnections) {
      link.refusedConnections++;
      client.resetAndDestroy();
      return;
    }
    link.acceptedConnections++;
    // Hold the client's bytes until the upstream is connected; the pipes take over from there.
    client.pause();
    const upstream = connect({ host: link.target.host, port: link.target.port, noDelay: true });
    const connection = new Connection(client, upstream, link, source);
    link.connections.add(connection);
    upstream.once('connect', () => client.resume());
    const forget = () => link.connections.delete(connection);
    client.once('close', forget);
    upstream.once('close', forget);
  }

  private link(name: string): Link {
    const link = this.links.get(name);
    if (link === undefined) throw new Error(`no link named ${name}`);
    return link;
  }

  /** Points the link at a new target (a restarted node); existing connections are reset. */
  retarget(name: string, target: LinkTarget | number): void {
    const link = this.link(name);
    link.target = typeof target === 'number' ? { host: LOOPBACK, port: target } : target;
    this.resetConnections(link);
  }

  /**
   * Sets the link's default mode, or with `from` the mode of connections from that source host
   * only (it then overrides the default until cleared with clearSource or healAll).
   */
  setMode(name: string, mode: LinkMode, options: SourceOption = {}): void {
    const link = this.link(name);
    const before = new Map([...link.connections].map((connection) => [connection, connection.mode]));
    if (options.from === undefined) link.mode = mode;
    else link.sourceModes.set(normalizeSource(options.from), mode);
    this.logger.info('link mode', { link: name, mode, ...(options.from !== undefined ? { from: options.from } : {}) });
    this.applyModeChange(link, before);
  }

  /** Connections from `from` follow the link's default mode again. */
  clearSource(name: string, from: string): void {
    const link = this.link(name);
    const before = new Map([...link.connections].map((connection) => [connection, connection.mode]));
    link.sourceModes.delete(normalizeSource(from));
    this.applyModeChange(link, before);
  }

  private applyModeChange(link: Link, before: Map<Connection, LinkMode>): void {
    for (const [connection, previous] of before) {
      const now = connection.mode;
      if (now.kind === 'cut') connection.close();
      // Leaving a dropping mode: connections that lost bytes cannot carry on (see the file comment).
      else if (previous !== now && (previous.kind === 'blackhole' || previous.kind === 'one-way') && connection.droppedAny) connection.close();
    }
    for (const connection of before.keys()) if (connection.isClosed) link.connections.delete(connection);
  }

  pass(name: string, options: SourceOption = {}): void { this.setMode(name, { kind: 'pass' }, options); }
  cut(name: string, options: SourceOption = {}): void { this.setMode(name, { kind: 'cut' }, options); }
  blackHole(name: string, options: SourceOption = {}): void { this.setMode(name, { kind: 'blackhole' }, options); }
  delay(name: string, delayMs: number, jitterMs = 0, options: SourceOption = {}): void { this.setMode(name, { kind: 'delay', delayMs, jitterMs }, options); }
  oneWay(name: string, drop: Direction, options: SourceOption = {}): void { this.setMode(name, { kind: 'one-way', drop }, options); }

  /** Every link back to pass, per-source modes cleared. */
  healAll(): void {
    for (const name of this.links.keys()) {
      const link = this.link(name);
      const before = new Map([...link.connections].map((connection) => [connection, connection.mode]));
      link.sourceModes.clear();
      link.mode = { kind: 'pass' };
      this.applyModeChange(link, before);
    }
    this.logger.info('every link healed');
  }

  names(): string[] {
    return [...this.links.keys()];
  }

  port(name: string): number {
    return this.link(name).listenPort;
  }

  stats(name: string): LinkStats {
    const link = this.link(name);
    return {
      mode: link.mode, sourceModes: Object.fromEntries(link.sourceModes), connectionsBySource: Object.fromEntries(link.connectionsBySource), target: { ...link.target }, listenPort: link.listenPort, openConnections: link.connections.size,
      acceptedConnections: link.acceptedConnections, refusedConnections: link.refusedConnections,
      forwardedBytes: link.forwardedBytes, droppedBytes: link.droppedBytes,
    };
  }

  async removeLink(name: string): Promise<void> {
    const link = this.link(name);
    this.links.delete(name);
    this.resetConnections(link);
    await new Promise<void>((resolve) => link.server.close(() => resolve()));
  }

  async close(): Promise<void> {
    for (const name of [...this.links.keys()]) await this.removeLink(name);
  }

  private resetConnections(link: Link): void {
    for (const connection of [...link.connections]) connection.close();
    link.connections.clear();
  }
}
