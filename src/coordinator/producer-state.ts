// Idempotent-producer state of one partition (Kafka's ProducerStateManager / ProducerAppendInfo,
// non-transactional rules): per producer id, its epoch and the sequence and offset ranges of its
// last 5 batches. The partition leader asks check() before appending a batch: a retry of one of
// those 5 is answered with the offsets it got the first time, a gap or a stale epoch is refused.
// Followers and a restarting leader rebuild the same state from the log's batch headers, so
// deduplication survives restarts and failover.
//
// Contract: for one partition, check() and record() of a batch must not interleave with another
// batch's; call record() as soon as the batch's offsets are assigned (before the disk write
// returns), so a quick retry is recognised as a duplicate and not appended twice.
import { ErrorCode } from './error-codes.ts';
import { decodeProducerStateSnapshot, encodeProducerStateSnapshot } from './producer-state-snapshot.ts';

/** How many recent batches per producer are remembered: the client's max.in.flight.requests bound. */
export const batchesPerProducerRetained = 5;

export const noProducerId = -1;
export const noSequence = -1;
const int32Max = 0x7fffffff;

export interface ProducerBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  /** lastSequenceOf(baseSequence, recordCount): wraps from int32 max to 0. */
  lastSequence: number;
  isTransactional: boolean;
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: number; lastOffset: number }
  | { kind: 'error'; errorCode: number; message: string };

export interface BatchMetadata {
  firstSequence: number;
  lastSequence: number;
  firstOffset: number;
  lastOffset: number;
  timestampMs: number;
}

export interface ProducerEntry {
  producerId: number;
  producerEpoch: number;
  /** Oldest first, at most batchesPerProducerRetained. */
  batches: BatchMetadata[];
  lastTimestampMs: number;
  /** First offset of an open transaction; such a producer never expires. */
  currentTxnFirstOffset: number | null;
}

/** The fields of a record batch header that producer state needs (RECORD_FORMAT.md). */
export interface LogBatchHeader {
  baseOffset: number;
  lastOffsetDelta: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  maxTimestamp: number;
  isTransactional: boolean;
  isControl: boolean;
}

export interface ProducerStateConfig {
  /** producer.id.expiration.ms: a producer silent this long is forgotten. */
  producerIdExpirationMs: number;
  /**
   * What to do with a producer id the partition has no state for, whose batch does not start at
   * sequence 0. 'accept' is Kafka >= 2.5 (KIP-360): the state may have been lost to retention or
   * expiry, so the batch is appended. 'reject' is the older rule: UNKNOWN_PRODUCER_ID, which makes
   * the client reset (it may resend batches, so only choose it knowingly).
   */
  unknownProducer: 'accept' | 'reject';
}

export const defaultProducerStateConfig: Readonly<ProducerStateConfig> = Object.freeze({
  producerIdExpirationMs: 86_400_000,
  unknownProducer: 'accept',
});

/** The sequence of a batch's last record, as Kafka's DefaultRecordBatch.incrementSequence computes it. */
export function lastSequenceOf(baseSequence: number, recordCount: number): number {
  const increment = recordCount - 1;
  if (baseSequence > int32Max - increment) return increment - (int32Max - baseSequence) - 1;
  return baseSequence + increment;
}

function inSequence(lastSequence: number, nextSequence: number): boolean {
  return nextSequence === lastSequence + 1 || (nextSequence === 0 && lastSequence === int32Max);
}

export class PartitionProducerState {
  readonly config: ProducerStateConfig;
  readonly #producers = new Map<number, ProducerEntry>();
  /** One past the last offset applied: where replay from the log resumes. */
  #endOffset = 0;

  constructor(config: Partial<ProducerStateConfig> = {}) {
    this.config = { ...defaultProducerStateConfig, ...config };
    if (!Number.isSafeInteger(this.config.producerIdExpirationMs) || this.config.producerIdExpirationMs < 0) {
      throw new RangeError(`producerIdExpirationMs must be a non-negative integer, got ${this.config.producerIdExpirationMs}`);
    }
  }

  get endOffset(): number {
    return this.#endOffset;
  }

  get producerCount(): number {
    return this.#producers.size;
  }

  /** A copy of a producer's state, or undefined. */
  entry(producerId: number): ProducerEntry | undefined {
    const entry = this.#producers.get(producerId);
    return entry ? copyEntry(entry) : undefined;
  }

  entries(): ProducerEntry[] {
    return [...this.#producers.values()].map(copyEntry).sort((a, b) => a.producerId - b.producerId);
  }

  /** Whether a batch a client sent may be appended. Batches without a producer id are not idempotent: always 'append'. */
  check(batch: ProducerBatch): SequenceCheck {
    if (batch.producerId < 0) return { kind: 'append' };
    const entry = this.#producers.get(batch.producerId);
    if (!entry) return this.#checkUnknownProducer(batch);

    if (batch.producerEpoch === entry.producerEpoch) {
      const duplicate = entry.batches.find((kept) => kept.firstSequence === batch.baseSequence && kept.lastSequence === batch.lastSequence);
      if (duplicate) return { kind: 'duplicate', baseOffset: duplicate.firstOffset, lastOffset: duplicate.lastOffset };
    }
    if (batch.producerEpoch < entry.producerEpoch) {
      return error(ErrorCode.INVALID_PRODUCER_EPOCH, `producer ${batch.producerId}: epoch ${batch.producerEpoch} is older than ${entry.producerEpoch}`);
    }
    if (batch.producerEpoch > entry.producerEpoch) {
      // A bumped epoch resets the sequence.
      if (batch.baseSequence !== 0) {
        return error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `producer ${batch.producerId}: new epoch ${batch.producerEpoch} must start at sequence 0, got ${batch.baseSequence}`);
      }
      return { kind: 'append' };
    }
    const lastSequence = entry.batches.at(-1)?.lastSequence ?? noSequence;
    if (!inSequence(lastSequence, batch.baseSequence)) {
      return error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `producer ${batch.producerId}: sequence ${batch.baseSequence} does not follow ${lastSequence}`);
    }
    return { kind: 'append' };
  }

  #checkUnknownProducer(batch: ProducerBatch): SequenceCheck {
    if (batch.baseSequence === 0 || this.config.unknownProducer === 'accept') return { kind: 'append' };
    return error(ErrorCode.UNKNOWN_PRODUCER_ID, `producer ${batch.producerId} is unknown here and its batch starts at sequence ${batch.baseSequence}`);
  }

  /** The batch was appended at [baseOffset, lastOffset]; timestampMs is what expiry counts from. */
  record(batch: ProducerBatch, baseOffset: number, lastOffset: number, timestampMs: number): void {
    if (lastOffset < baseOffset) throw new Error(`batch offsets ${baseOffset}..${lastOffset} are reversed`);
    this.#endOffset = Math.max(this.#endOffset, lastOffset + 1);
    if (batch.producerId < 0) return;
    const entry = this.#entryFor(batch.producerId, batch.producerEpoch, timestampMs);
    this.#moveToEpoch(entry, batch.producerEpoch);
    entry.batches.push({ firstSequence: batch.baseSequence, lastSequence: batch.lastSequence, firstOffset: baseOffset, lastOffset, timestampMs });
    if (entry.batches.length > batchesPerProducerRetained) entry.batches.shift();
    entry.lastTimestampMs = timestampMs;
    if (batch.isTransactional && entry.currentTxnFirstOffset === null) entry.currentTxnFirstOffset = baseOffset;
  }

  /**
   * Applies one batch read back from the log, without the client checks (the log is the truth,
   * as for Kafka's replication origin). Batches before endOffset were already applied.
   */
  applyLogBatch(header: LogBatchHeader): void {
    const lastOffset = header.baseOffset + header.lastOffsetDelta;
    if (lastOffset < this.#endOffset) return;
    if (header.producerId < 0) {
      this.#endOffset = lastOffset + 1;
      return;
    }
    if (header.isControl) {
      // A transaction marker: it carries the producer's epoch and closes its transaction.
      const entry = this.#entryFor(header.producerId, header.producerEpoch, header.maxTimestamp);
      this.#moveToEpoch(entry, header.producerEpoch);
      entry.currentTxnFirstOffset = null;
      entry.lastTimestampMs = header.maxTimestamp;
      this.#endOffset = lastOffset + 1;
      return;
    }
    const batch: ProducerBatch = {
      producerId: header.producerId,
      producerEpoch: header.producerEpoch,
      baseSequence: header.baseSequence,
      lastSequence: lastSequenceOf(header.baseSequence, header.lastOffsetDelta + 1),
      isTransactional: header.isTransactional,
    };
    this.record(batch, header.baseOffset, lastOffset, header.maxTimestamp);
  }

  /** Replays the log from endOffset on (after restore(), from the snapshot's offset). */
  rebuildFrom(headers: Iterable<LogBatchHeader>): void {
    for (const header of headers) this.applyLogBatch(header);
  }

  /**
   * The log was truncated to `offset` (everything at or after it is gone). Batches there are
   * forgotten; a producer with nothing left is forgotten entirely (it becomes unknown, which is
   * accepted). For exact state after a deep truncation, restore the newest snapshot below the
   * offset and rebuild from the log instead.
   */
  truncateTo(offset: number): void {
    for (const [producerId, entry] of this.#producers) {
      entry.batches = entry.batches.filter((batch) => batch.lastOffset < offset);
      if (entry.currentTxnFirstOffset !== null && entry.currentTxnFirstOffset >= offset) entry.currentTxnFirstOffset = null;
      if (entry.batches.length === 0) this.#producers.delete(producerId);
    }
    this.#endOffset = Math.min(this.#endOffset, offset);
  }

  /** Forgets producers silent for producerIdExpirationMs (never one with an open transaction). */
  expireProducers(nowMs: number): number {
    let expired = 0;
    for (const [producerId, entry] of this.#producers) {
      if (entry.currentTxnFirstOffset === null && nowMs - entry.lastTimestampMs >= this.config.producerIdExpirationMs) {
        this.#producers.delete(producerId);
        expired++;
      }
    }
    return expired;
  }

  /** Versioned, checksummed bytes to write next to the log (format in producer-state-snapshot.ts). */
  snapshot(): Buffer {
    return encodeProducerStateSnapshot({ endOffset: this.#endOffset, entries: [...this.#producers.values()] });
  }

  /**
   * Replaces this state with a snapshot's; then rebuildFrom() the log from endOffset on. Throws a
   * DecodeError (state unchanged) when the snapshot is damaged: rebuild from the log start instead.
   */
  restore(snapshot: Buffer): void {
    const decoded = decodeProducerStateSnapshot(snapshot);
    this.#producers.clear();
    for (const entry of decoded.entries) this.#producers.set(entry.producerId, copyEntry(entry));
    this.#endOffset = decoded.endOffset;
  }

  #entryFor(producerId: number, producerEpoch: number, timestampMs: number): ProducerEntry {
    let entry = this.#producers.get(producerId);
    if (!entry) {
      entry = { producerId, producerEpoch, batches: [], lastTimestampMs: timestampMs, currentTxnFirstOffset: null };
      this.#producers.set(producerId, entry);
    }
    return entry;
  }

  #moveToEpoch(entry: ProducerEntry, producerEpoch: number): void {
    if (entry.producerEpoch !== producerEpoch) {
      entry.batches = [];
      entry.producerEpoch = producerEpoch;
    }
  }
}

function error(errorCode: number, message: string): SequenceCheck {
  return { kind: 'error', errorCode, message };
}

function copyEntry(entry: ProducerEntry): ProducerEntry {
  return { ...entry, batches: entry.batches.map((batch) => ({ ...batch })) };
}
