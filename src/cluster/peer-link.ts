// An outgoing connection to another node's internal listener, kept up with reconnects (backoff
// 50 ms doubling to 1 s). Raft frames are best effort: while the link is down or its socket buffer
// is over the limit they are dropped (Raft resends). RPCs wait for the connection, up to their
// timeout, and fail when it breaks, or at once while the peer refuses connections (its process is
// likely gone): the caller decides whether to retry elsewhere. Listeners hear of a lost connection
// (onLost; one reconnect attempt follows at once) and of failed attempts (onAttemptFailed): the
// broker heartbeats again, and a follower whose Raft leader refuses ends its lease.
import { connect, type Socket } from 'node:net';
import { FrameDecoder } from '../network/frame-decoder.ts';
import type { Logger } from '../util/log.ts';
import { FrameKind, decodeFrame, encodeJsonFrame, encodeRaftFrame, internalFrameBytesMax } from './internal-frames.ts';

export class PeerUnavailableError extends Error {
  override name = 'PeerUnavailableError';
}

export interface PeerLinkLimits {
  /** Raft frames are dropped while this many bytes wait in the socket. */
  queuedBytesMax: number;
  pendingRequestsMax: number;
  reconnectBackoffMsMax: number;
}

export const defaultPeerLinkLimits: PeerLinkLimits = {
  queuedBytesMax: 64 * 1024 * 1024,
  pendingRequestsMax: 1024,
  reconnectBackoffMsMax: 1000,
};

interface PendingRequest {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  frame: Buffer;
  sent: boolean;
}

export class PeerLink {
  private socket: Socket | null = null;
  private connected = false;
  /** The last connection attempt failed (refused, unreachable): the peer is likely down. */
  private lastAttemptFailed = false;
  private closed = false;
  private backoffMs = 50;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private nextCorrelationId = 1;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly lostListeners = new Set<() => void>();
  private readonly attemptFailedListeners = new Set<() => void>();
  droppedRaftFrames = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly logger: Logger,
    private readonly limits: PeerLinkLimits = defaultPeerLinkLimits,
    /** Source address of the connection (outbound.local.host); null lets the OS choose. */
    private readonly localAddress: string | null = null,
  ) {}

  get isConnected(): boolean {
    return this.connected;
  }

  /** Not connected, and the last attempt failed (refused, unreachable): the peer's process is likely gone. */
  get isRefusing(): boolean {
    return !this.connected && this.lastAttemptFailed;
  }

  /** Called each time an established connection closes (not when the link is closed on purpose). */
  onLost(listener: () => void): void {
    this.lostListeners.add(listener);
  }

  /** Called each time a connection attempt fails (refused, unreachable): the peer's process is likely gone. */
  onAttemptFailed(listener: () => void): void {
    this.attemptFailedListeners.add(listener);
  }

  sendRaft(message: Uint8Array): void {
    if (this.closed) return;
    this.ensureConnecting();
    const socket = this.socket;
    if (!this.connected || !socket || socket.writableLength > this.limits.queuedBytesMax) {
      this.droppedRaftFrames++;
      return;
    }
    socket.write(encodeRaftFrame(message));
  }

  /** Sends one RPC and resolves with the peer's JSON answer. */
  request(body: unknown, timeoutMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(new PeerUnavailableError('link closed'));
    if (this.pending.size >= this.limits.pendingRequestsMax) return Promise.reject(new PeerUnavailableError(`${this.pending.size} requests already pending to ${this.host}:${this.port}`));
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId % 0xffff_fffe) + 1;
    const frame = encodeJsonFrame(FrameKind.Request, correlationId, body);
    if (!this.connected && this.lastAttemptFailed) {
      // Fail now rather than wait out the reconnect backoff (up to a second): the caller tries
      // another node (a new controller after this one died). A new attempt starts meanwhile.
      this.ensureConnecting();
      if (!this.connected) return Promise.reject(new PeerUnavailableError(`${this.host}:${this.port} is not reachable (last connection attempt failed)`));
    }
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new PeerUnavailableError(`no answer from ${this.host}:${this.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      const entry: PendingRequest = { resolve, reject, timer, frame, sent: false };
      this.pending.set(correlationId, entry);
      this.ensureConnecting();
      if (this.connected && this.socket) {
        entry.sent = true;
        this.socket.write(frame);
      }
    });
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.socket?.destroy();
    this.socket = null;
    this.failPending(new PeerUnavailableError('link closed'));
  }

  private ensureConnecting(): void {
    if (this.socket || this.reconnectTimer || this.closed) return;
    const socket = connect({ host: this.host, port: this.port, ...(this.localAddress !== null ? { localAddress: this.localAddress } : {}) });
    this.socket = socket;
    socket.setNoDelay(true);
    const decoder = new FrameDecoder(internalFrameBytesMax);
    socket.on('connect', () => {
      this.connected = true;
      this.lastAttemptFailed = false;
      this.backoffMs = 50;
      for (const entry of this.pending.values()) {
        if (entry.sent) continue;
        entry.sent = true;
        socket.write(entry.frame);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const payload of decoder.push(chunk)) {
          const frame = decodeFrame(payload);
          if (frame.kind !== FrameKind.Response) throw new Error(`unexpected frame kind ${frame.kind} from a listener`);
          const entry = this.pending.get(frame.correlationId);
          if (!entry) continue; // timed out meanwhile
          this.pending.delete(frame.correlationId);
          clearTimeout(entry.timer);
          entry.resolve(frame.value);
        }
      } catch (error) {
        this.logger.warn('closing link after a bad frame', { peer: `${this.host}:${this.port}`, error: (error as Error).message });
        socket.destroy();
      }
    });
    socket.on('error', (error) => this.logger.debug('link error', { peer: `${this.host}:${this.port}`, error: error.message }));
    socket.on('close', () => {
      const wasConnected = this.connected;
      if (!wasConnected) this.lastAttemptFailed = true;
      if (!wasConnected && !this.closed) for (const listener of this.attemptFailedListeners) listener();
      this.connected = false;
      this.socket = null;
      // Answers to requests already sent are lost with the connection. Unsent ones wait for the next
      // connection only if this one had worked: a peer that refuses connections is likely down, and
      // the caller should try another node now rather than at its timeout.
      for (const [id, entry] of this.pending) {
        if (!entry.sent && wasConnected) continue;
        this.pending.delete(id);
        clearTimeout(entry.timer);
        entry.reject(new PeerUnavailableError(`connection to ${this.host}:${this.port} closed`));
      }
      if (this.closed) return;
      if (wasConnected) {
        this.logger.info('link to peer lost', { peer: `${this.host}:${this.port}` });
        for (const listener of this.lostListeners) listener();
      }
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        // Reconnect eagerly while someone waits, and once after losing a working connection (so a
        // dead peer shows as refused at once); Raft traffic reconnects on its own next send.
        if (this.pending.size > 0 || wasConnected) this.ensureConnecting();
      }, this.backoffMs);
      this.reconnectTimer.unref();
      this.backoffMs = Math.min(this.backoffMs * 2, this.limits.reconnectBackoffMsMax);
    });
  }

  private failPending(error: Error): void {
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    this.pending.clear();
  }
}
