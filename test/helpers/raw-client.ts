// A minimal Kafka client built on Tide's own codecs, for tests that need exact control over the
// bytes (hostile input, raw Produce/Fetch, checking error codes a full client would hide).
import { connect, type Socket } from 'node:net';
import type { ApiCodec } from '../../src/protocol/api-codec.ts';
import { decodeResponsePayload, encodeRequestFrame, frameToBuffer } from '../../src/protocol/frame.ts';

export class RawClient {
  private buffered = Buffer.alloc(0);
  private readonly waiting: Array<(payload: Buffer) => void> = [];
  private correlationId = 1;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length < 4 + size) break;
        const payload = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        this.waiting.shift()?.(payload);
      }
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const socket = connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Sends a request and waits for its response (rejects if the broker closes the connection). */
  async send<Req, Res>(codec: ApiCodec<Req, Res>, version: number, body: Req, timeoutMs = 10000): Promise<Res> {
    const frame = frameToBuffer(encodeRequestFrame(codec, version, this.correlationId++, 'tide-test', body));
    const payload = await this.exchange(frame, timeoutMs);
    return decodeResponsePayload(codec, version, payload).body;
  }

  /** Sends a request whose answer is not wanted (acks=0). */
  sendNoReply<Req>(codec: ApiCodec<Req, unknown>, version: number, body: Req): void {
    this.socket.write(frameToBuffer(encodeRequestFrame(codec, version, this.correlationId++, 'tide-test', body)));
  }

  /** Writes raw bytes and resolves with the next response payload, or null if the broker closes the connection. */
  exchange(bytes: Buffer, timeoutMs = 10000): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no response within timeout')), timeoutMs);
      const onClose = () => {
        clearTimeout(timer);
        reject(new Error('connection closed by broker'));
      };
      this.socket.once('close', onClose);
      this.waiting.push((payload) => {
        clearTimeout(timer);
        this.socket.off('close', onClose);
        resolve(payload);
      });
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
