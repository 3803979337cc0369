// Sparse time index of one segment: (largest timestamp so far, offset of the batch holding it,
// relative to the segment base) — int64 + int32, big-endian in the `.timeindex` file. An entry is
// only added when the running maximum grows, so timestamps strictly increase. Every batch before
// an entry's index point has maxTimestamp <= that entry's timestamp, which is what lets a
// timestamp search skip everything before it.

export const TIME_INDEX_ENTRY_BYTES = 12;
const INITIAL_CAPACITY = 64;
const TWO_POW_32 = 2 ** 32;

export class TimeIndex {
  private timestamps = new Float64Array(INITIAL_CAPACITY);
  private relativeOffsets = new Int32Array(INITIAL_CAPACITY);
  private size = 0;

  get entryCount(): number {
    return this.size;
  }

  lastTimestamp(): number {
    return this.size === 0 ? -1 : this.timestamps[this.size - 1]!;
  }

  lastRelativeOffset(): number {
    return this.size === 0 ? -1 : this.relativeOffsets[this.size - 1]!;
  }

  /** Adds (timestamp, relativeOffset) when timestamp is above the last entry's. */
  maybeAppend(timestamp: number, relativeOffset: number): void {
    if (timestamp <= this.lastTimestamp()) return;
    if (this.size === this.timestamps.length) this.reserve(this.size * 2);
    this.timestamps[this.size] = timestamp;
    this.relativeOffsets[this.size] = relativeOffset;
    this.size++;
  }

  /** Relative offset to start a search for `timestamp` from: the last entry strictly below it, or -1. */
  lookup(timestamp: number): number {
    let low = 0;
    let high = this.size - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.timestamps[middle]! < timestamp) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found < 0 ? -1 : this.relativeOffsets[found]!;
  }

  /** Drops entries whose batch offset is at or past `relativeOffset`. */
  truncateFromRelativeOffset(relativeOffset: number): void {
    // Entries' offsets never decrease, so the ones to drop form a suffix.
    while (this.size > 0 && this.relativeOffsets[this.size - 1]! >= relativeOffset) this.size--;
  }

  encode(): Buffer {
    const buf = Buffer.allocUnsafe(this.size * TIME_INDEX_ENTRY_BYTES);
    for (let index = 0; index < this.size; index++) {
      const at = index * TIME_INDEX_ENTRY_BYTES;
      const timestamp = this.timestamps[index]!;
      const high = Math.floor(timestamp / TWO_POW_32);
      buf.writeInt32BE(high, at);
      buf.writeUInt32BE(timestamp - high * TWO_POW_32, at + 4);
      buf.writeInt32BE(this.relativeOffsets[index]!, at + 8);
    }
    return buf;
  }

  /** Parses a `.timeindex` file; null when damaged (partial entry, timestamps not increasing, offsets decreasing or negative). */
  static decode(buf: Buffer): TimeIndex | null {
    if (buf.length % TIME_INDEX_ENTRY_BYTES !== 0) return null;
    const index = new TimeIndex();
    const count = buf.length / TIME_INDEX_ENTRY_BYTES;
    index.reserve(count);
    let lastTimestamp = -1;
    let lastRelative = 0;
    for (let entry = 0; entry < count; entry++) {
      const at = entry * TIME_INDEX_ENTRY_BYTES;
      const timestamp = buf.readInt32BE(at) * TWO_POW_32 + buf.readUInt32BE(at + 4);
      const relativeOffset = buf.readInt32BE(at + 8);
      if (timestamp <= lastTimestamp || relativeOffset < lastRelative) return null;
      index.timestamps[entry] = timestamp;
      index.relativeOffsets[entry] = relativeOffset;
      lastTimestamp = timestamp;
      lastRelative = relativeOffset;
    }
    index.size = count;
    return index;
  }

  private reserve(capacity: number): void {
    if (capacity <= this.timestamps.length) return;
    const timestamps = new Float64Array(capacity);
    const relativeOffsets = new Int32Array(capacity);
    timestamps.set(this.timestamps.subarray(0, this.size));
    relativeOffsets.set(this.relativeOffsets.subarray(0, this.size));
    this.timestamps = timestamps;
    this.relativeOffsets = relativeOffsets;
  }
}
