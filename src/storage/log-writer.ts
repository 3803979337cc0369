// The single writer of a partition log. Every file mutation (batch writes, fsyncs, rolls,
// checkpoints, truncation, deletion) is an op in one ordered queue, so nothing needs a lock and
// ops complete in the order they were issued. Writes queued back to back for the same segment go
// out as ONE positional writev (up to IOV_MAX buffers / 8 MiB).
//
// fdatasync runs BESIDE the queue, not in it: an fdatasync covers what was written before it
// started, so later writes go on while it runs (a sync in the queue stalled every write for the
// whole fsync, 100+ ms on a virtual disk). Whatever waits for durability (flush=sync writes, flush
// ops) waits for the next fdatasync that starts after it was written; at most one runs at a time
// and the next one takes everyone who arrived meanwhile: group commit. Tasks (roll, truncation,
// close) first wait until no fdatasync is running or due, so they see a quiet file.
// Runs up to 256 KiB are written with a synchronous writev on the event loop: that copies into the
// page cache in microseconds, while a thread-pool write costs two thread hand-offs and a promise
// per run (the larger part of a small append's CPU and latency). Bigger runs go to the pool.
// The first failure is final: the op and everything queued behind it are rejected and the host
// marks the log failed (reopening runs recovery).
import { fdatasync } from 'node:fs';
import { writeFully, writeFullySync } from '../io/write-fully.ts';
import type { Segment } from './segment.ts';

const MAX_WRITE_BUFFERS = 1024; // IOV_MAX on Linux
const MAX_WRITE_BYTES = 8 * 1024 * 1024;
const QUEUE_COMPACT_AT = 1024;
const SYNC_WRITE_MAX_BYTES = 256 * 1024;

export interface WriterHost {
  /** The bytes of a run are in the file; `endOffset` is the offset after its last batch. */
  onWritten(segment: Segment, bytes: number, endOffset: number): void;
  /** flush=sync: fdatasync after every run. */
  syncEveryWrite(): boolean;
  /**
   * fdatasync what has been written and advance the flushed offset. Must capture what it covers
   * synchronously (before its first await): writes completing while it runs are not covered.
   */
  fsyncWritten(): Promise<void>;
  onFailure(err: Error): void;
}

interface Deferred {
  resolve: () => void;
  reject: (err: Error) => void;
}

type Op =
  | { kind: 'write'; segment: Segment; data: Buffer; endOffset: number; deferred: Deferred }
  | { kind: 'flush'; deferred: Deferred }
  | { kind: 'task'; run: () => Promise<void>; deferred: Deferred };

/** Placeholder until enqueue sets the real one: ops get their final shape at creation. */
const UNSET: Deferred = { resolve: () => {}, reject: () => {} };

export class LogWriter {
  private readonly host: WriterHost;
  private ops: Op[] = [];
  private head = 0;
  private running = false;
  private failure: Error | null = null;
  /** The fdatasync in flight, or null. */
  private syncing: Promise<void> | null = null;
  /** Written (or flush ops) and waiting for an fdatasync that starts after them. */
  private awaitingSync: Deferred[] = [];

  constructor(host: WriterHost) {
    this.host = host;
  }

  get queuedOps(): number {
    return this.ops.length - this.head;
  }

  write(segment: Segment, data: Buffer, endOffset: number): Promise<void> {
    return this.enqueue({ kind: 'write', segment, data, endOffset, deferred: UNSET });
  }

  flush(): Promise<void> {
    return this.enqueue({ kind: 'flush', deferred: UNSET });
  }

  /** Runs `run` after everything queued before it, before anything queued after it. A throw is fatal. */
  task(run: () => Promise<void>): Promise<void> {
    return this.enqueue({ kind: 'task', run, deferred: UNSET });
  }

  private enqueue(op: Op): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      op.deferred = { resolve, reject };
      this.ops.push(op);
      if (!this.running) {
        this.running = true;
        // One tick of delay lets appends arriving in the same event-loop turn share a writev.
        setImmediate(() => void this.pump());
      }
    });
  }

  private async pump(): Promise<void> {
    // Every round consumes at least one op; the loop ends when the queue is empty.
    while (this.head < this.ops.length) {
      const op = this.ops[this.head]!;
      try {
        if (op.kind === 'write') await this.writeRun();
        else if (op.kind === 'flush') this.flushRun();
        else {
          this.head++;
          await this.settleSyncs();
          if (this.failure !== null) throw this.failure;
          await op.run();
          op.deferred.resolve();
        }
      } catch (err) {
        if (op.kind === 'task') op.deferred.reject(err as Error);
        this.fail(err as Error);
        return;
      }
      if (this.failure !== null) return; // an fdatasync failed meanwhile: fail() rejected the rest
      if (this.head >= QUEUE_COMPACT_AT && this.head * 2 >= this.ops.length) {
        this.ops = this.ops.slice(this.head);
        this.head = 0;
      }
    }
    this.ops = [];
    this.head = 0;
    this.running = false;
  }

  private async writeRun(): Promise<void> {
    const first = this.ops[this.head] as Extract<Op, { kind: 'write' }>;
    const segment = first.segment;
    const run: Extract<Op, { kind: 'write' }>[] = [];
    let bytes = 0;
    for (let index = this.head; index < this.ops.length && run.length < MAX_WRITE_BUFFERS; index++) {
      const op = this.ops[index]!;
      if (op.kind !== 'write' || op.segment !== segment || (run.length > 0 && bytes + op.data.length > MAX_WRITE_BYTES)) break;
      run.push(op);
      bytes += op.data.length;
    }
    this.head += run.length;
    try {
      if (segment.handle === null) throw new Error(`segment ${segment.baseOffset} has no file`);
      const buffers = run.map((op) => op.data);
      if (bytes <= SYNC_WRITE_MAX_BYTES) writeFullySync(segment.handle.fd, buffers, segment.writtenBytes);
      else await writeFully(segment.handle, buffers, segment.writtenBytes);
      segment.writtenBytes += bytes;
      this.host.onWritten(segment, bytes, run.at(-1)!.endOffset);
    } catch (err) {
      for (const op of run) op.deferred.reject(err as Error);
      throw err;
    }
    if (this.host.syncEveryWrite()) {
      for (const op of run) this.awaitingSync.push(op.deferred);
      this.startSync();
    } else {
      for (const op of run) op.deferred.resolve();
    }
  }

  private flushRun(): void {
    while (this.head < this.ops.length && this.ops[this.head]!.kind === 'flush') this.awaitingSync.push(this.ops[this.head++]!.deferred);
    this.startSync();
  }

  /** Starts an fdatasync for everyone waiting, unless one runs (its end starts the next). */
  private startSync(): void {
    if (this.syncing !== null || this.awaitingSync.length === 0) return;
    if (this.failure !== null) {
      for (const deferred of this.awaitingSync.splice(0)) deferred.reject(this.failure);
      return;
    }
    const waiting = this.awaitingSync;
    this.awaitingSync = [];
    let sync: Promise<void>;
    try {
      sync = this.host.fsyncWritten();
    } catch (err) {
      sync = Promise.reject(err as Error);
    }
    this.syncing = sync.then(
      () => {
        this.syncing = null;
        for (const deferred of waiting) deferred.resolve();
        this.startSync();
      },
      (err: Error) => {
        this.syncing = null;
        for (const deferred of waiting) deferred.reject(err);
        this.fail(err);
      },
    );
  }

  /** Resolves when no fdatasync runs or is due (each round finishes one: bounded by the waiters). */
  private async settleSyncs(): Promise<void> {
    while (this.syncing !== null) await this.syncing;
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    for (let index = this.head; index < this.ops.length; index++) this.ops[index]!.deferred.reject(err);
    for (const deferred of this.awaitingSync.splice(0)) deferred.reject(err);
    this.ops = [];
    this.head = 0;
    this.running = false;
    this.host.onFailure(err);
  }
}

/**
 * fdatasync through the callback API: FileHandle.datasync costs a promise and a ref/unref per call,
 * paid on every append under flush=sync.
 */
export function fdatasyncFd(fd: number): Promise<void> {
  return new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}
