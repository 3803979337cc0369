// Sparse offset index of one segment: (offset relative to the segment base, byte position of the
// batch that starts there), both int32, big-endian in the `.index` file. Entries strictly increase
// in both fields; lookups return the closest entry at or below a target, and the reader scans
// forward from there (at most about one index interval of bytes).

export const OFFSET_INDEX_ENTRY_BYTES = 8;
const INITIAL_CAPACITY = 64;

export class OffsetIndex {
  private relativeOffsets = new Int32Array(INITIAL_CAPACITY);
  private positions = new Int32Array(INITIAL_CAPACITY);
  private size = 0;

  get entryCount(): number {
    return this.size;
  }

  append(relativeOffset: number, position: number): void {
    if (this.size > 0 && (relativeOffset <= this.relativeOffsets[this.size - 1]! || position <= this.positions[this.size - 1]!)) {
      throw new Error(`offset index entry (${relativeOffset}, ${position}) does not follow the last one`);
    }
    if (this.size === this.positions.length) this.grow();
    this.relativeOffsets[this.size] = relativeOffset;
    this.positions[this.size] = position;
    this.size++;
  }

  relativeOffsetAt(index: number): number {
    return this.relativeOffsets[index]!;
  }

  positionAt(index: number): number {
    return this.positions[index]!;
  }

  /** Index of the last entry with relativeOffset <= target, or -1. */
  floorEntry(relativeOffset: number): number {
    let low = 0;
    let high = this.size - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.relativeOffsets[middle]! <= relativeOffset) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  /** Byte position to start scanning from for `relativeOffset` (0 when no entry is at or below it). */
  lookup(relativeOffset: number): number {
    const entry = this.floorEntry(relativeOffset);
    return entry < 0 ? 0 : this.positions[entry]!;
  }

  /** Index of the last entry with position < limit, or -1. */
  lastEntryBefore(position: number): number {
    let low = 0;
    let high = this.size - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.positions[middle]! < position) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  /** Keeps entries [0, count). */
  truncateToEntries(count: number): void {
    this.size = Math.max(0, Math.min(this.size, count));
  }

  encode(): Buffer {
    const buf = Buffer.allocUnsafe(this.size * OFFSET_INDEX_ENTRY_BYTES);
    for (let index = 0; index < this.size; index++) {
      buf.writeInt32BE(this.relativeOffsets[index]!, index * OFFSET_INDEX_ENTRY_BYTES);
      buf.writeInt32BE(this.positions[index]!, index * OFFSET_INDEX_ENTRY_BYTES + 4);
    }
    return buf;
  }

  /**
   * Parses an `.index` file; null when it is damaged (partial entry, entries not strictly
   * increasing, negative values, or a position at or past the end of the log).
   */
  static decode(buf: Buffer, logBytes: number): OffsetIndex | null {
    if (buf.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return null;
    const index = new OffsetIndex();
    const count = buf.length / OFFSET_INDEX_ENTRY_BYTES;
    index.reserve(count);
    let lastRelative = -1;
    let lastPosition = -1;
    for (let entry = 0; entry < count; entry++) {
      const relativeOffset = buf.readInt32BE(entry * OFFSET_INDEX_ENTRY_BYTES);
      const position = buf.readInt32BE(entry * OFFSET_INDEX_ENTRY_BYTES + 4);
      if (relativeOffset <= lastRelative || position <= lastPosition || position >= logBytes) return null;
      index.relativeOffsets[entry] = relativeOffset;
      index.positions[entry] = position;
      lastRelative = relativeOffset;
      lastPosition = position;
    }
    index.size = count;
    return index;
  }

  private reserve(capacity: number): void {
    if (capacity <= this.positions.length) return;
    const relativeOffsets = new Int32Array(capacity);
    const positions = new Int32Array(capacity);
    relativeOffsets.set(this.relativeOffsets.subarray(0, this.size));
    positions.set(this.positions.subarray(0, this.size));
    this.relativeOffsets = relativeOffsets;
    this.positions = positions;
  }

  private grow(): void {
    this.reserve(this.positions.length * 2);
  }
}
