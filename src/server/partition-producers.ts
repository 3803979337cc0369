// The idempotent-producer state of one hosted partition, with its snapshot file `producer-state`
// next to the log (DESIGN §4). The dedup rules are in coordinator/producer-state.ts; this file
// loads, saves and feeds them.
//
// Loading: restore the snapshot, then replay the batch headers the log holds after its endOffset,
// so the state equals what the leader had, whether the node stopped cleanly (snapshot up to the
// log end), was SIGKILLed (older or no snapshot: replay) or lost an unflushed tail (a snapshot
// past the log end is dropped and the whole log replayed).
// Saving: the snapshot bytes are taken first, then the log is flushed, then the file is written,
// so a snapshot never describes batches that are not durable.
import { join } from 'node:path';
import { DecodeError } from '../coordinator/binary.ts';
import {
  lastSequenceOf, PartitionProducerState, type ProducerBatch, type ProducerStateConfig, type SequenceCheck,
} from '../coordinator/producer-state.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { iterateBatches, type RecordBatchView } from '../protocol/record-batch.ts';
import { readFileIfExists, writeFileAtomic } from '../storage/checkpoint-file.ts';
import type { PartitionLog } from '../storage/partition-log.ts';
import type { Logger } from '../util/log.ts';

export const producerStateFileName = 'producer-state';
/** Far above any real snapshot (each producer takes under 200 bytes); refuses a runaway file. */
const snapshotMaxBytes = 256 * 1024 * 1024;
const replayReadBytes = 1024 * 1024;

export interface PartitionProducersOptions {
  state?: Partial<ProducerStateConfig>;
  /** A snapshot is written in the background once the log has grown this many offsets past the last one. */
  snapshotIntervalOffsets?: number;
  now?: () => number;
}

const defaultSnapshotIntervalOffsets = 100_000;

/** A batch the producer state refuses: the Kafka error code goes back to the client. */
export class ProducerStateError extends Error {
  override readonly name = 'ProducerStateError';
  constructor(readonly errorCode: number, message: string) {
    super(message);
  }
}

export type Admission =
  | { kind: 'append'; batches: ProducerBatch[] }
  | { kind: 'duplicate'; baseOffset: number; lastOffset: number }
  | { kind: 'error'; errorCode: number; message: string };

export class PartitionProducers {
  readonly #snapshotPath: string;
  readonly #snapshotIntervalOffsets: number;
  readonly #now: () => number;
  #lastSnapshotEndOffset: number;
  #snapshotting: Promise<void> | null = null;
  #closed = false;

  private constructor(
    private readonly log: PartitionLog,
    readonly state: PartitionProducerState,
    private readonly logger: Logger,
    options: PartitionProducersOptions,
    /** End offset of the snapshot file as it is on disk (-1: none usable). */
    snapshotEndOffset: number,
  ) {
    this.#snapshotPath = join(log.dir, producerStateFileName);
    this.#snapshotIntervalOffsets = options.snapshotIntervalOffsets ?? defaultSnapshotIntervalOffsets;
    this.#now = options.now ?? Date.now;
    this.#lastSnapshotEndOffset = snapshotEndOffset;
  }

  /** Restores the snapshot next to an opened log and replays the log after it. */
  static async load(log: PartitionLog, logger: Logger, options: PartitionProducersOptions = {}): Promise<PartitionProducers> {
    const state = new PartitionProducerState(options.state);
    const path = join(log.dir, producerStateFileName);
    const snapshot = await readFileIfExists(path, snapshotMaxBytes).catch((error: Error) => {
      logger.warn('producer state snapshot unreadable; rebuilding from the log', { path, error: error.message });
      return null;
    });
    let snapshotEndOffset = -1;
    if (snapshot !== null) {
      try {
        state.restore(snapshot);
        snapshotEndOffset = state.endOffset;
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error;
        logger.warn('producer state snapshot damaged; rebuilding from the log', { path, error: error.message });
      }
    }
    if (state.endOffset > log.logEndOffset) {
      // The snapshot describes batches the log no longer holds (an unflushed tail lost in a crash).
      logger.warn('producer state snapshot is ahead of the log; rebuilding from the log', { path, snapshotEndOffset: state.endOffset, logEndOffset: log.logEndOffset });
      const fresh = new PartitionProducerState(options.state);
      await replayLog(log, fresh, logger);
      return new PartitionProducers(log, fresh, logger, options, -1);
    }
    await replayLog(log, state, logger);
    state.expireProducers((options.now ?? Date.now)());
    return new PartitionProducers(log, state, logger, options, snapshotEndOffset);
  }

  /**
   * Synchronous, so that the caller can append in the same tick: no other batch of this partition
   * may be checked between this check and the append that assigns the offsets.
   */
  admit(views: readonly RecordBatchView[]): Admission {
    const batches = views.map(producerBatchOf);
    const idempotent = batches.filter((batch) => batch.producerId >= 0);
    if (idempotent.length === 0) return { kind: 'append', batches };
    // Produce v3+ carries one batch per partition; several idempotent batches at once would need
    // each checked against the state the previous one leaves, which no client sends.
    if (batches.length !== 1) return { kind: 'error', errorCode: ErrorCode.INVALID_RECORD, message: `${batches.length} batches in one idempotent append` };
    const checked: SequenceCheck = this.state.check(batches[0]!);
    if (checked.kind === 'append') return { kind: 'append', batches };
    return checked;
  }

  /** The admitted batches now carry their offsets (appended synchronously): remember them. */
  recordAppended(views: readonly RecordBatchView[], batches: readonly ProducerBatch[]): void {
    views.forEach((view, index) => this.state.record(batches[index]!, view.baseOffset, view.lastOffset, view.maxTimestamp));
    if (!this.#closed && this.state.endOffset - this.#lastSnapshotEndOffset >= this.#snapshotIntervalOffsets && this.#snapshotting === null) {
      void this.writeSnapshot();
    }
  }

  /** Writes the snapshot file; at most one write at a time, failures are logged (the log stays the truth). */
  writeSnapshot(): Promise<void> {
    if (this.#snapshotting !== null) return this.#snapshotting;
    this.#snapshotting = this.#writeSnapshotNow().finally(() => {
      this.#snapshotting = null;
    });
    return this.#snapshotting;
  }

  async #writeSnapshotNow(): Promise<void> {
    this.state.expireProducers(this.#now());
    const endOffset = this.state.endOffset;
    const bytes = this.state.snapshot();
    try {
      if (!this.#closed) await this.log.flush();
      await writeFileAtomic(this.#snapshotPath, bytes);
      this.#lastSnapshotEndOffset = endOffset;
    } catch (error) {
      this.logger.warn('writing the producer state snapshot failed', { path: this.#snapshotPath, error: (error as Error).message });
    }
  }

  /** Waits for a background snapshot; call before closing the log. */
  async settle(): Promise<void> {
    this.#closed = true;
    if (this.#snapshotting !== null) await this.#snapshotting;
  }

  /** Call after the log is closed (flushed): the final snapshot covers the whole log. */
  async close(): Promise<void> {
    await this.settle();
    // Batches recorded but never in the log (a failed write): leave the replay to the next start.
    if (this.state.endOffset > this.log.logEndOffset) return;
    // Nothing new since the file on disk (an idle partition): spare the fsyncs.
    if (this.state.endOffset === this.#lastSnapshotEndOffset) return;
    await this.writeSnapshot();
  }
}

function producerBatchOf(view: RecordBatchView): ProducerBatch {
  return {
    producerId: view.producerId,
    producerEpoch: view.producerEpoch,
    baseSequence: view.baseSequence,
    lastSequence: lastSequenceOf(view.baseSequence, view.recordCount),
    isTransactional: view.isTransactional,
  };
}

/**
 * Applies the log's batch headers from the state's endOffset (or the log start) to the log end.
 * Bounded by the log: every round moves past at least one batch or stops.
 */
async function replayLog(log: PartitionLog, state: PartitionProducerState, logger: Logger): Promise<void> {
  try {
    await replayLogBatches(log, state, logger);
  } catch (error) {
    // A log that cannot be read here fails its readers too; the partition still opens, with
    // dedup covering what was read (a retry of a batch beyond it could be stored twice).
    logger.error('producer state replay failed; deduplication is incomplete for older batches', { dir: log.dir, error: (error as Error).message });
  }
}

async function replayLogBatches(log: PartitionLog, state: PartitionProducerState, logger: Logger): Promise<void> {
  const logEndOffset = log.logEndOffset;
  let offset = Math.max(state.endOffset, log.logStartOffset);
  let batches = 0;
  while (offset < logEndOffset) {
    const { records } = await log.read(offset, replayReadBytes, logEndOffset);
    let next = offset;
    for (const view of iterateBatches(records)) {
      state.applyLogBatch({
        baseOffset: view.baseOffset,
        lastOffsetDelta: view.lastOffsetDelta,
        producerId: view.producerId,
        producerEpoch: view.producerEpoch,
        baseSequence: view.baseSequence,
        maxTimestamp: view.maxTimestamp,
        isTransactional: view.isTransactional,
        isControl: view.isControl,
      });
      next = view.lastOffset + 1;
      batches++;
    }
    if (next <= offset) {
      logger.warn('producer state replay stopped early: the log returned nothing', { dir: log.dir, offset, logEndOffset });
      break;
    }
    offset = next;
  }
  if (batches > 0) logger.debug('producer state replayed from the log', { dir: log.dir, batches, producers: state.producerCount });
}
