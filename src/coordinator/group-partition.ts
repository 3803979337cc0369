// Which __consumer_offsets partition owns a group. It must match Kafka byte for byte, because
// clients (and Kafka's own tools) reason about it: Utils.abs(groupId.hashCode()) % partitionCount.

/** Java's String.hashCode: over UTF-16 code units, h = 31*h + c with 32-bit overflow. */
export function javaStringHashCode(text: string): number {
  let hash = 0;
  for (let index = 0; index < text.length; index++) {
    hash = (Math.imul(31, hash) + text.charCodeAt(index)) | 0;
  }
  return hash;
}

/**
 * Kafka's Utils.abs: Math.abs, except Integer.MIN_VALUE maps to 0. Note that this is not
 * `n & 0x7fffffff` (Utils.toPositive, used by the producer partitioner): the two differ for every
 * negative hash, and only this one agrees with where Kafka places a group.
 */
export function kafkaAbs(value: number): number {
  if (value === -0x80000000) return 0;
  return Math.abs(value);
}

export function partitionForGroup(groupId: string, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partition count must be a positive integer, got ${partitionCount}`);
  }
  return kafkaAbs(javaStringHashCode(groupId)) % partitionCount;
}
