// One Kafka connection from a follower to a leader's Kafka listener: framing, correlation ids and
// a timeout per request. Every request carries the replica client id (replica-auth.ts) that
// proves which broker is asking. Answers arrive in order (Kafka's per-connection rule), so a
// queue of pending requests is enough; a frame of more than responseBytesMax closes the link.
import { connect, type Socket } from 'node:net';
import type { ApiCodec } from '../../protocol/api-codec.ts';
import { decodeResponsePayload, encodeRequestFrame } from '../../protocol/frame.ts';

const sizePrefixBytes = 4;

export class LeaderConnectionError extends Error {
  override name = 'LeaderConnectionError';
}

interface Pending {
  correlationId: number;
  resolve(payload: Buffer): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class LeaderConnection {
  /** Bytes received and not yet consumed, as they came: joined once a whole frame is here. */
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly pending: Pending[] = [];
  private nextCorrelationId = 1;
  private failure: Error | null = null;

  private constructor(private readonly socket: Socket, readonly address: string, private readonly clientId: string, private readonly responseBytesMax: number) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(new LeaderConnectionError(`connection to ${address} failed: ${error.message}`)));
    socket.on('close', () => this.fail(new LeaderConnectionError(`${address} closed the connection`)));
  }

  static open(host: string, port: number, clientId: string, connectTimeoutMs: number, responseBytesMax: number, localAddress: string | null = null): Promise<LeaderConnection> {
    const address = `${host}:${port}`;
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, ...(localAddress !== null ? { localAddress } : {}) });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new LeaderConnectionError(`no connection to ${address} within ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new LeaderConnection(socket, address, clientId, responseBytesMax));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new LeaderConnectionError(`cannot connect to ${address}: ${error.message}`));
      });
    });
  }

  get isOpen(): boolean {
    return this.failure === null;
  }

  send<Req, Res>(codec: ApiCodec<Req, Res>, version: number, body: Req, timeoutMs: number): Promise<Res> {
    if (this.failure) return Promise.reject(this.failure);
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = correlationId >= 0x7fffffff ? 1 : correlationId + 1;
    const frame = encodeRequestFrame(codec, version, correlationId, this.clientId, body);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new LeaderConnectionError(`${codec.name} to ${this.address} got no answer within ${timeoutMs} ms`)), timeoutMs);
      this.pending.push({ correlationId, resolve, reject, timer });
      this.socket.write(Buffer.concat(frame));
    }).then((payload) => {
      const decoded = decodeResponsePayload(codec, version, payload);
      if (decoded.correlationId !== correlationId) throw new LeaderConnectionError(`answer from ${this.address} has correlation id ${decoded.correlationId}, expected ${correlationId}`);
      return decoded.body;
    });
  }

  close(): void {
    this.fail(new LeaderConnectionError(`connection to ${this.address} closed`));
  }

  private onData(chunk: Buffer): void {
    // A Fetch answer of megabytes arrives in many chunks: joining on every chunk would copy it
    // over and over, so they are kept apart until the frame is complete.
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    // Bounded: each round consumes one whole frame.
    while (this.bufferedBytes >= sizePrefixBytes) {
      const head = this.chunks[0]!.length >= sizePrefixBytes ? this.chunks[0]! : this.join();
      const size = head.readInt32BE(0);
      if (size < 4 || size > this.responseBytesMax) {
        this.fail(new LeaderConnectionError(`${this.address} sent a frame of ${size} bytes`));
        return;
      }
      if (this.bufferedBytes < sizePrefixBytes + size) return;
      const all = this.join();
      const payload = all.subarray(sizePrefixBytes, sizePrefixBytes + size);
      const rest = all.subarray(sizePrefixBytes + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.bufferedBytes = rest.length;
      const next = this.pending.shift();
      if (!next) {
        this.fail(new LeaderConnectionError(`${this.address} answered a request never sent`));
        return;
      }
      clearTimeout(next.timer);
      next.resolve(payload);
    }
  }

  private join(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.bufferedBytes)];
    return this.chunks[0]!;
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const pending of this.pending.splice(0)) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.socket.destroy();
  }
}
