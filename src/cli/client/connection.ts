// One TCP connection to one broker: framing, correlation ids, per-request timeouts and the version
// handshake. ApiVersions goes first so every later request uses the highest version both sides
// speak (capped where a newer version changes what the client must send, e.g. Fetch v13 wants
// topic ids).
import { connect, type Socket } from 'node:net';
import type { ApiCodec } from '../../protocol/api-codec.ts';
import { decodeResponsePayload, encodeRequestFrame } from '../../protocol/frame.ts';
import { apiVersionsCodec } from '../../protocol/messages/api-versions.ts';
import { ProtocolError } from '../../protocol/protocol-error.ts';
import { CliError } from '../cli-error.ts';

/** Largest response frame accepted; a bigger size prefix means a confused peer, not a real answer. */
export const MAX_RESPONSE_FRAME_BYTES = 128 * 1024 * 1024;
const SIZE_PREFIX_BYTES = 4;
const CLIENT_ID = 'tide-cli';
const CLOSE_GRACE_MS = 1000;
const CLIENT_SOFTWARE_VERSION = '0.1.0';

/**
 * Highest version the CLI knows how to fill in. A newer version is only worth using when the
 * client sets the fields it adds; these are where the shape changes (ids replace names, arrays
 * replace single fields) beyond what the CLI implements.
 */
const clientMaxVersions: Record<number, number> = {
  1: 12, // Fetch: v13+ addresses topics by id
  8: 8, // OffsetCommit: v9 is the new consumer protocol
  9: 7, // OffsetFetch: v8+ batches groups
  10: 3, // FindCoordinator: v4+ batches keys
};

export interface ConnectionOptions {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

export const defaultConnectionOptions: ConnectionOptions = { connectTimeoutMs: 5000, requestTimeoutMs: 30000 };

interface Pending {
  resolve(payload: Buffer): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class BrokerConnection {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private versions = new Map<number, { minVersion: number; maxVersion: number }>();
  private closedError: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    readonly address: string,
    private readonly options: ConnectionOptions,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.failAll(new CliError(`connection to ${address} failed: ${error.message}`, 1)));
    socket.on('close', () => this.failAll(new CliError(`broker at ${address} closed the connection`, 1)));
  }

  /** Connects and negotiates versions; errors are CliErrors that say what to do. */
  static async open(host: string, port: number, options: ConnectionOptions = defaultConnectionOptions): Promise<BrokerConnection> {
    const address = `${host}:${port}`;
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new CliError(`no answer from ${address} within ${options.connectTimeoutMs} ms — is Tide running there? (start it with npm start)`, 1));
      }, options.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(connectError(address, error));
      });
    });
    const connection = new BrokerConnection(socket, address, options);
    await connection.negotiateVersions();
    return connection;
  }

  private async negotiateVersions(): Promise<void> {
    // v3 is the first flexible version and what Kafka's clients open with; a broker that only knows
    // older versions answers UNSUPPORTED_VERSION with its list in v0 format, which v0 reads.
    const older = () => this.sendAt(apiVersionsCodec, 0, { clientSoftwareName: '', clientSoftwareVersion: '' });
    let response = await this.sendAt(apiVersionsCodec, 3, { clientSoftwareName: CLIENT_ID, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION })
      .catch((error: unknown) => {
        if (error instanceof ProtocolError) return older(); // answered in the v0 layout
        throw error;
      });
    if (response.errorCode === 35) response = await older();
    if (response.errorCode !== 0) throw new CliError(`broker at ${this.address} refused ApiVersions (error ${response.errorCode})`, 1);
    this.versions = new Map(response.apiKeys.map((key) => [key.apiKey, { minVersion: key.minVersion, maxVersion: key.maxVersion }]));
  }

  /** The version this connection uses for an API, or null when the broker does not serve it. */
  versionFor(codec: ApiCodec): number | null {
    const broker = this.versions.get(codec.apiKey);
    if (!broker) return null;
    const highest = Math.min(broker.maxVersion, codec.maxVersion, clientMaxVersions[codec.apiKey] ?? codec.maxVersion);
    const lowest = Math.max(broker.minVersion, codec.minVersion);
    return highest >= lowest ? highest : null;
  }

  supports(codec: ApiCodec): boolean {
    return this.versionFor(codec) !== null;
  }

  /** Sends a request at the negotiated version; returns the body and the version used. */
  async send<Req, Res>(codec: ApiCodec<Req, Res>, body: Req): Promise<{ body: Res; version: number }> {
    const version = this.versionFor(codec);
    if (version === null) {
      throw new CliError(`the broker at ${this.address} does not serve ${codec.name} yet; upgrade Tide or use a node that does`, 1);
    }
    return { body: await this.sendAt(codec, version, body), version };
  }

  /** acks=0 produce: nothing comes back. */
  sendNoReply<Req>(codec: ApiCodec<Req, unknown>, version: number, body: Req): void {
    this.socket.write(Buffer.concat(encodeRequestFrame(codec, version, this.takeCorrelationId(), CLIENT_ID, body)));
  }

  sendAt<Req, Res>(codec: ApiCodec<Req, Res>, version: number, body: Req): Promise<Res> {
    if (this.closedError) return Promise.reject(this.closedError);
    const correlationId = this.takeCorrelationId();
    const frame = encodeRequestFrame(codec, version, correlationId, CLIENT_ID, body);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new CliError(`${codec.name} to ${this.address} got no answer within ${this.options.requestTimeoutMs} ms; the broker may be overloaded or stuck`, 1));
      }, this.options.requestTimeoutMs);
      this.pending.set(correlationId, { resolve, reject, timer });
      this.socket.write(Buffer.concat(frame));
    }).then((payload) => {
      const decoded = decodeResponsePayload(codec, version, payload);
      if (decoded.correlationId !== correlationId) {
        throw new CliError(`${codec.name} answer from ${this.address} carries correlation id ${decoded.correlationId}, expected ${correlationId}`, 1);
      }
      return decoded.body;
    });
  }

  /** Flushes what was written (acks=0 produce) and closes; a peer that never closes is cut off after a second. */
  close(): void {
    this.failAll(new CliError(`connection to ${this.address} closed`, 1));
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private takeCorrelationId(): number {
    const id = this.nextCorrelationId;
    this.nextCorrelationId = id >= 0x7fffffff ? 1 : id + 1;
    return id;
  }

  private onData(chunk: Buffer): void {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    // Each pass consumes one whole frame, so the loop ends when less than a frame is buffered.
    // Chunks are joined only once a whole frame is there, so a big fetch answer is copied once.
    while (this.bufferedBytes >= SIZE_PREFIX_BYTES) {
      if (this.buffered[0]!.length < SIZE_PREFIX_BYTES) this.buffered = [Buffer.concat(this.buffered)];
      const size = this.buffered[0]!.readInt32BE(0);
      if (size < 4 || size > MAX_RESPONSE_FRAME_BYTES) {
        this.failAll(new CliError(`broker at ${this.address} sent a frame of ${size} bytes; is that a Kafka port?`, 1));
        this.socket.destroy();
        return;
      }
      if (this.bufferedBytes < SIZE_PREFIX_BYTES + size) return;
      const joined = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
      const payload = joined.subarray(SIZE_PREFIX_BYTES, SIZE_PREFIX_BYTES + size);
      const rest = joined.subarray(SIZE_PREFIX_BYTES + size);
      this.buffered = rest.length > 0 ? [rest] : [];
      this.bufferedBytes = rest.length;
      const correlationId = payload.readInt32BE(0);
      const waiter = this.pending.get(correlationId);
      if (!waiter) continue; // answer to a request that already timed out
      this.pending.delete(correlationId);
      clearTimeout(waiter.timer);
      waiter.resolve(payload);
    }
  }

  private failAll(error: Error): void {
    this.closedError ??= error;
    for (const waiter of this.pending.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.pending.clear();
  }
}

function connectError(address: string, error: NodeJS.ErrnoException): CliError {
  switch (error.code) {
    case 'ECONNREFUSED':
      return new CliError(`no broker at ${address} — is Tide running? (start it with npm start)`, 1);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CliError(`cannot resolve host in ${address}; check --bootstrap or TIDE_BOOTSTRAP`, 1);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new CliError(`cannot reach ${address} (${error.code}); check the address and the network`, 1);
    default:
      return new CliError(`cannot connect to ${address}: ${error.message}`, 1);
  }
}
