// The `topic-partition` string that keys a node's partition maps (and names its directories).
// Looked up on every Produce and Fetch: a fresh template string must be flattened and hashed on
// each Map lookup, a remembered one carries its hash. One string per partition the node has seen.
const keys = new Map<string, string[]>();

export function partitionKey(topic: string, partition: number): string {
  let byPartition = keys.get(topic);
  if (byPartition === undefined) {
    byPartition = [];
    keys.set(topic, byPartition);
  }
  return (byPartition[partition] ??= `${topic}-${partition}`);
}
