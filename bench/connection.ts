// One pipelined Kafka connection for the benchmark: many requests in flight, responses matched
// in order (a broker answers a connection's requests in the order they came) and checked by
// correlation id. Built on Tide's own codecs so the bench measures the broker, not a client
// library. Reassembles response frames from a chunk list so a 4 MiB Fetch answer is copied once.
import { connect, type Socket } from 'node:net';
import type { ApiCodec } from '../src/protocol/api-codec.ts';
import { decodeResponsePayload, encodeRequestFrame } from '../src/protocol/frame.ts';

const FRAME_SIZE_BYTES = 4;
// A response bigger than this is a bug or a hostile peer; the bench asks for at most a few MiB.
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;
const CLIENT_ID = 'tide-bench';

export interface TimedResponse<Res> {
  body: Res;
  /** From the write call to the whole response frame being here. */
  latencyNs: number;
}

interface Pending {
  correlationId: number;
  sentAtNs: bigint;
  decode: (payload: Buffer) => unknown;
  resolve: (value: TimedResponse<any>) => void;
  reject: (error: Error) => void;
}

export class BenchConnection {
  private readonly pending: Pending[] = [];
  private pendingHead = 0;
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private nextCorrelationId = 1;
  private failure: Error | null = null;
  private corked = false;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed by broker')));
  }

  static async open(port: number, host = '127.0.0.1'): Promise<BenchConnection> {
    const socket = connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new BenchConnection(socket);
  }

  get inFlight(): number {
    return this.pending.length - this.pendingHead;
  }

  send<Req, Res>(codec: ApiCodec<Req, Res>, version: number, body: Req): Promise<TimedResponse<Res>> {
    if (this.failure) return Promise.reject(this.failure);
    const correlationId = this.nextCorrelationId++;
    // Chunks reference the record batch Buffers; cork so header and batch leave in one write.
    const chunks = encodeRequestFrame(codec, version, correlationId, CLIENT_ID, body);
    return new Promise<TimedResponse<Res>>((resolve, reject) => {
      this.pending.push({
        correlationId,
        sentAtNs: process.hrtime.bigint(),
        decode: (payload) => {
          const decoded = decodeResponsePayload(codec, version, payload);
          if (decoded.correlationId !== correlationId) {
            throw new Error(`response correlation id ${decoded.correlationId}, expected ${correlationId}`);
          }
          return decoded.body;
        },
        resolve,
        reject,
      });
      // Requests sent in the same turn (responses arrive in bursts and each one frees a slot)
      // leave in one write, as a pipelining client's send queue would: one syscall, not one each.
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(() => {
          this.corked = false;
          this.socket.uncork();
        });
      }
      for (const chunk of chunks) this.socket.write(chunk);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    for (;;) {
      if (this.bufferedBytes < FRAME_SIZE_BYTES) return;
      const head = this.chunks[0]!.length >= FRAME_SIZE_BYTES ? this.chunks[0]! : this.join();
      const size = head.readInt32BE(0);
      if (size < 0 || size > MAX_RESPONSE_BYTES) {
        this.fail(new Error(`response frame of ${size} bytes`));
        this.socket.destroy();
        return;
      }
      if (this.bufferedBytes < FRAME_SIZE_BYTES + size) return;
      const all = this.join();
      const payload = all.subarray(FRAME_SIZE_BYTES, FRAME_SIZE_BYTES + size);
      const rest = all.subarray(FRAME_SIZE_BYTES + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.bufferedBytes = rest.length;
      this.complete(payload);
    }
  }

  private join(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.bufferedBytes)];
    return this.chunks[0]!;
  }

  private complete(payload: Buffer): void {
    const request = this.pending[this.pendingHead];
    if (!request) {
      this.fail(new Error('response without a request'));
      return;
    }
    this.pending[this.pendingHead++] = undefined as unknown as Pending;
    // Drop the consumed head now and then instead of shifting on every response.
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    const latencyNs = Number(process.hrtime.bigint() - request.sentAtNs);
    try {
      request.resolve({ body: request.decode(payload), latencyNs });
    } catch (error) {
      request.reject(error as Error);
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (let index = this.pendingHead; index < this.pending.length; index++) this.pending[index]!.reject(error);
    this.pending.length = 0;
    this.pendingHead = 0;
  }
}
