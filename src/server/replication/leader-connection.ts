// One Kafka connection from a follower to a leader's Kafka listener: framing, correlation ids and
// a timeout per request. Every request carries the replica client id (replica-auth.ts) that
// proves which broker is asking. Answers arrive in order (Kafka's per-connection rule), so a
// queue of pending requests is enough; a frame of more than responseBytesMax closes the link.
import { connect, type Socket } from 'node:net';
import type { ApiCodec } from '../../protocol/api-codec.ts';
import { decodeResponsePayload, encodeRequestFrame } from '../../protocol/frame.ts';

const sizePrefixBytes = 4;
/** The socket reads into this much of the connection's own memory at a time. */
const readBufferBytes = 256 * 1024;

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
  /** The size prefix of the next frame, as far as it has arrived. */
  private readonly prefix = Buffer.alloc(sizePrefixBytes);
  private prefixFill = 0;
  /** The frame being received (allocated at its full size once the prefix is here), or null. */
  private frame: Buffer | null = null;
  private frameFill = 0;
  private readonly pending: Pending[] = [];
  private nextCorrelationId = 1;
  private failure: Error | null = null;

  private constructor(private readonly socket: Socket, readonly address: string, private readonly clientId: string, private readonly responseBytesMax: number) {
    socket.on('error', (error) => this.fail(new LeaderConnectionError(`connection to ${address} failed: ${error.message}`)));
    socket.on('close', () => this.fail(new LeaderConnectionError(`${address} closed the connection`)));
  }

  static open(host: string, port: number, clientId: string, connectTimeoutMs: number, responseBytesMax: number, localAddress: string | null = null): Promise<LeaderConnection> {
    const address = `${host}:${port}`;
    return new Promise((resolve, reject) => {
      // Nothing arrives before our first request, which needs the connection object.
      let connection: LeaderConnection | null = null;
      const readBuffer = Buffer.allocUnsafe(readBufferBytes);
      const socket = connect({
        host, port, ...(localAddress !== null ? { localAddress } : {}),
        onread: {
          buffer: readBuffer,
          callback: (nread: number) => {
            connection?.onRead(nread, readBuffer);
            return true;
          },
        },
      });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new LeaderConnectionError(`no connection to ${address} within ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        connection = new LeaderConnection(socket, address, clientId, responseBytesMax);
        resolve(connection);
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

  /**
   * Bytes read into the connection's own read buffer: each frame is copied once into a buffer of
   * its exact size. With Node's default reads every chunk is a fresh allocation and a frame that
   * spans chunks is joined into another one; at replication rates those allocations (counted as
   * external memory) were what set off most of a node's full garbage collections.
   */
  private onRead(nread: number, buffer: Buffer): void {
    let at = 0;
    // Each round consumes at least one byte (or fails the connection): bounded by nread.
    while (at < nread && this.failure === null) {
      if (this.frame === null) {
        const take = Math.min(sizePrefixBytes - this.prefixFill, nread - at);
        buffer.copy(this.prefix, this.prefixFill, at, at + take);
        this.prefixFill += take;
        at += take;
        if (this.prefixFill < sizePrefixBytes) return;
        this.prefixFill = 0;
        const size = this.prefix.readInt32BE(0);
        if (size < 4 || size > this.responseBytesMax) {
          this.fail(new LeaderConnectionError(`${this.address} sent a frame of ${size} bytes`));
          return;
        }
        this.frame = Buffer.allocUnsafe(size);
        this.frameFill = 0;
      }
      const take = Math.min(this.frame.length - this.frameFill, nread - at);
      buffer.copy(this.frame, this.frameFill, at, at + take);
      this.frameFill += take;
      at += take;
      if (this.frameFill === this.frame.length) {
        const payload = this.frame;
        this.frame = null;
        this.deliver(payload);
      }
    }
  }

  private deliver(payload: Buffer): void {
    const next = this.pending.shift();
    if (!next) {
      this.fail(new LeaderConnectionError(`${this.address} answered a request never sent`));
      return;
    }
    clearTimeout(next.timer);
    next.resolve(payload);
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
