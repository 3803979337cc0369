import type { Socket } from 'node:net';
import type { Logger } from '../util/log.ts';
import { FrameDecoder, FrameTooLargeError } from './frame-decoder.ts';

/** What the network layer tells a request handler about the connection a frame came from. */
export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  readonly listenerName: string;
  /** Per-connection state a handler may keep (e.g. the authenticated principal later). */
  readonly attributes: Map<string, unknown>;
}

/** Thrown by a handler to close the connection (after one log line); other connections are unaffected. */
export class CloseConnectionError extends Error {}

export interface FrameHandler {
  /** Returns the response payload (header + body, no size prefix) as parts, or null when no response is due (acks=0). */
  handle(frame: Buffer, connection: ConnectionInfo): Promise<Buffer[] | null> | Buffer[] | null;
}

export interface ConnectionLimits {
  maxFrameBytes: number;
  maxInFlightRequests: number;
  idleTimeoutMs: number;
  /** Reading pauses while more than this many response bytes wait for the client to read them. */
  maxQueuedResponseBytes: number;
}

interface ReplySlot {
  done: boolean;
  parts: Buffer[] | null;
}

/**
 * One client connection: frames in, responses out in request order even when handlers finish out of
 * order (Kafka clients match responses by position as much as by correlation id). In-flight requests
 * are bounded by pausing the socket, not by queueing without limit.
 */
export class Connection implements ConnectionInfo {
  readonly attributes = new Map<string, unknown>();
  private readonly decoder: FrameDecoder;
  private readonly slots: ReplySlot[] = [];
  private closed = false;
  private pausedForInFlight = false;
  private pausedForWrites = false;
  private readPaused = false;
  private sendScheduled = false;
  private idleCheckTimer: NodeJS.Timeout | null = null;
  private lastActivityMs = Date.now();
  readonly remoteAddress: string;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    readonly listenerName: string,
    private readonly handler: FrameHandler,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
    private readonly onClosed: (connection: Connection) => void,
  ) {
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.decoder = new FrameDecoder(limits.maxFrameBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (error) => this.logger.debug('connection error', { connection: this.remoteAddress, error: error.message }));
    socket.on('close', () => this.finish());
    this.idleCheckTimer = setInterval(() => this.checkIdle(), Math.min(limits.idleTimeoutMs, 10_000));
    this.idleCheckTimer.unref();
  }

  get inFlightRequests(): number {
    return this.slots.length;
  }

  /** Closes the connection with a log line; safe to call more than once. */
  close(reason: string, level: 'info' | 'warn' = 'warn'): void {
    if (this.closed) return;
    this.logger[level](`closing connection: ${reason}`, { connection: this.remoteAddress });
    this.socket.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleCheckTimer) clearInterval(this.idleCheckTimer);
    this.onClosed(this);
  }

  private checkIdle(): void {
    if (this.slots.length === 0 && Date.now() - this.lastActivityMs >= this.limits.idleTimeoutMs) {
      this.close(`idle for more than ${this.limits.idleTimeoutMs} ms`, 'info');
    }
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastActivityMs = Date.now();
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      const reason = error instanceof FrameTooLargeError ? error.message : `malformed frame: ${(error as Error).message}`;
      this.close(reason);
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      this.dispatch(frame);
    }
    this.updateReadPause();
  }

  private dispatch(frame: Buffer): void {
    const slot: ReplySlot = { done: false, parts: null };
    this.slots.push(slot);
    let result: Promise<Buffer[] | null> | Buffer[] | null;
    try {
      result = this.handler.handle(frame, this);
    } catch (error) {
      this.onHandlerError(error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (parts) => this.complete(slot, parts),
        (error) => this.onHandlerError(error),
      );
    } else {
      this.complete(slot, result);
    }
  }

  private onHandlerError(error: unknown): void {
    if (error instanceof CloseConnectionError) {
      this.close(error.message);
    } else {
      this.logger.error('request handler failed; closing the connection', {
        connection: this.remoteAddress,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
      this.close('internal error while handling a request');
    }
  }

  private complete(slot: ReplySlot, parts: Buffer[] | null): void {
    slot.done = true;
    slot.parts = parts;
    if (this.closed || this.sendScheduled) return;
    // Handlers finishing in the same turn (a group of appends written by one writev) share one
    // socket write: the send runs once the current microtasks have drained.
    this.sendScheduled = true;
    process.nextTick(() => this.sendCompleted());
  }

  private sendCompleted(): void {
    this.sendScheduled = false;
    if (this.closed) return;
    this.lastActivityMs = Date.now();
    let wrote = false;
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const next = this.slots.shift()!;
      if (next.parts === null) continue;
      if (!wrote) this.socket.cork();
      wrote = true;
      let size = 0;
      for (const part of next.parts) size += part.length;
      const prefix = Buffer.allocUnsafe(4);
      prefix.writeInt32BE(size, 0);
      this.socket.write(prefix);
      for (const part of next.parts) this.socket.write(part);
    }
    if (wrote) this.socket.uncork();
    this.updateReadPause();
  }

  private onDrain(): void {
    this.updateReadPause();
  }

  private updateReadPause(): void {
    if (this.closed) return;
    this.pausedForInFlight = this.slots.length >= this.limits.maxInFlightRequests;
    this.pausedForWrites = this.socket.writableLength > this.limits.maxQueuedResponseBytes;
    const pause = this.pausedForInFlight || this.pausedForWrites;
    // Called after every frame and every send: only a change of state reaches the stream.
    if (pause === this.readPaused) return;
    this.readPaused = pause;
    if (pause) this.socket.pause();
    else this.socket.resume();
  }
}
