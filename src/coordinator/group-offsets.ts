// The committed offsets of one group, plus the commits accepted but not yet durable. A commit is
// visible to OffsetFetch only once its record is appended (applyPending); while pending it makes
// OffsetFetch with requireStable answer UNSTABLE_OFFSET_COMMIT, as in Kafka.
import type { CommittedOffset } from './group-types.ts';

interface StoredOffset {
  value: CommittedOffset;
  /** Where the commit record sits in __consumer_offsets, when known: a later record wins. */
  recordOffset: number | null;
}

export class GroupOffsets {
  readonly #committed = new Map<string, Map<number, StoredOffset>>();
  readonly #pending = new Map<string, Map<number, CommittedOffset>>();

  get(topic: string, partition: number): CommittedOffset | undefined {
    return this.#committed.get(topic)?.get(partition)?.value;
  }

  all(): CommittedOffset[] {
    const result: CommittedOffset[] = [];
    for (const partitions of this.#committed.values()) {
      for (const stored of partitions.values()) result.push(stored.value);
    }
    return result;
  }

  get count(): number {
    let total = 0;
    for (const partitions of this.#committed.values()) total += partitions.size;
    return total;
  }

  hasOffsets(): boolean {
    return this.#committed.size > 0 || this.#pending.size > 0;
  }

  hasPending(topic: string, partition: number): boolean {
    return this.#pending.get(topic)?.has(partition) ?? false;
  }

  /** Stages an accepted commit; the same objects must come back to applyPending / failPending. */
  preparePending(offsets: readonly CommittedOffset[]): void {
    for (const offset of offsets) mapFor(this.#pending, offset.topic).set(offset.partition, offset);
  }

  /**
   * The commit's record is durable. As in Kafka, the offset is applied only while some commit of
   * that partition is still pending (a deleteOffsets in between drops it), and the staged entry is
   * cleared only if it is this very commit (a newer one may be in flight behind it).
   */
  applyPending(offset: CommittedOffset, recordOffset: number | null): void {
    const pendingForTopic = this.#pending.get(offset.topic);
    const staged = pendingForTopic?.get(offset.partition);
    if (staged === undefined) return;
    const current = this.#committed.get(offset.topic)?.get(offset.partition);
    const isNewer = current === undefined || current.recordOffset === null || recordOffset === null || current.recordOffset < recordOffset;
    if (isNewer) mapFor(this.#committed, offset.topic).set(offset.partition, { value: offset, recordOffset });
    if (staged === offset) deleteFrom(this.#pending, offset.topic, offset.partition);
  }

  failPending(offset: CommittedOffset): void {
    if (this.#pending.get(offset.topic)?.get(offset.partition) === offset) {
      deleteFrom(this.#pending, offset.topic, offset.partition);
    }
  }

  /** Loading: the record is already durable. */
  load(offset: CommittedOffset, recordOffset: number | null): void {
    mapFor(this.#committed, offset.topic).set(offset.partition, { value: offset, recordOffset });
  }

  /** Drops an offset and any pending commit of it; returns the committed one, if any. */
  remove(topic: string, partition: number): CommittedOffset | undefined {
    deleteFrom(this.#pending, topic, partition);
    const stored = this.#committed.get(topic)?.get(partition);
    if (stored) deleteFrom(this.#committed, topic, partition);
    return stored?.value;
  }

  /** Removes the committed offsets (not pending) that match; returns them. */
  removeWhere(shouldRemove: (offset: CommittedOffset) => boolean): CommittedOffset[] {
    const removed: CommittedOffset[] = [];
    for (const offset of this.all()) {
      if (shouldRemove(offset)) {
        deleteFrom(this.#committed, offset.topic, offset.partition);
        removed.push(offset);
      }
    }
    return removed;
  }

  removeAll(): CommittedOffset[] {
    const removed = this.all();
    this.#committed.clear();
    this.#pending.clear();
    return removed;
  }
}

function mapFor<T>(outer: Map<string, Map<number, T>>, topic: string): Map<number, T> {
  let inner = outer.get(topic);
  if (!inner) {
    inner = new Map();
    outer.set(topic, inner);
  }
  return inner;
}

function deleteFrom<T>(outer: Map<string, Map<number, T>>, topic: string, partition: number): void {
  const inner = outer.get(topic);
  if (!inner) return;
  inner.delete(partition);
  if (inner.size === 0) outer.delete(topic);
}
