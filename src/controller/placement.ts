// Where new partitions' replicas go. Greedy and deterministic: each partition's leader (its first,
// preferred replica) goes to the broker that leads the fewest partitions, its followers to the
// least loaded brokers of racks the partition does not use yet. Counting what the cluster already
// holds keeps leaders balanced across topics, not only within one; ties rotate with `rotation`
// so equal brokers take turns. Losing one broker or one rack then loses no partition when the
// replication factor allows it.
import type { MetadataImage } from './metadata-image.ts';

export interface PlacementBroker {
  nodeId: number;
  rack: string | null;
}

/** Per broker: preferred leaderships (first replicas) and replicas it already holds. */
export interface PlacementLoad {
  leaders: Map<number, number>;
  replicas: Map<number, number>;
}

export function placementLoad(image: MetadataImage): PlacementLoad {
  const load: PlacementLoad = { leaders: new Map(), replicas: new Map() };
  for (const topic of image.topicsById.values()) {
    for (const partition of topic.partitions) {
      // The preferred leader, not the current one: failovers are temporary, placement is not.
      const preferred = partition.replicas[0];
      if (preferred !== undefined) increment(load.leaders, preferred);
      for (const replica of partition.replicas) increment(load.replicas, replica);
    }
  }
  return load;
}

/**
 * Replica lists for `partitionCount` new partitions, leader first. Updates `load` as it goes.
 * `replicationFactor` must not exceed the number of brokers (callers refuse that with a Kafka error).
 */
export function placePartitions(brokers: readonly PlacementBroker[], partitionCount: number, replicationFactor: number, load: PlacementLoad, rotation: number): number[][] {
  if (!Number.isSafeInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > brokers.length) {
    throw new RangeError(`replication factor ${replicationFactor} cannot be placed on ${brokers.length} broker(s)`);
  }
  if (new Set(brokers.map((broker) => broker.nodeId)).size !== brokers.length) throw new RangeError('brokers repeat a node id');
  const sorted = [...brokers].sort((a, b) => a.nodeId - b.nodeId);
  const count = sorted.length;
  const assignments: number[][] = [];
  for (let partition = 0; partition < partitionCount; partition++) {
    const start = ((rotation + partition) % count + count) % count;
    const order = (index: number): number => (index - start + count) % count;
    const chosen = new Set<number>();
    const racks = new Set<string>();
    const replicas: number[] = [];
    for (let slot = 0; slot < replicationFactor; slot++) {
      let best = -1;
      let bestKey: number[] = [];
      for (let index = 0; index < count; index++) {
        const broker = sorted[index]!;
        if (chosen.has(broker.nodeId)) continue;
        const replicaLoad = load.replicas.get(broker.nodeId) ?? 0;
        const key = slot === 0
          ? [load.leaders.get(broker.nodeId) ?? 0, replicaLoad, order(index)]
          : [racks.has(rackKey(broker)) ? 1 : 0, replicaLoad, order(index)];
        if (best === -1 || lexicallyLess(key, bestKey)) {
          best = index;
          bestKey = key;
        }
      }
      const broker = sorted[best]!;
      chosen.add(broker.nodeId);
      racks.add(rackKey(broker));
      replicas.push(broker.nodeId);
      increment(load.replicas, broker.nodeId);
      if (slot === 0) increment(load.leaders, broker.nodeId);
    }
    assignments.push(replicas);
  }
  return assignments;
}

/** A broker without a rack is a rack of its own: it constrains nothing. */
function rackKey(broker: PlacementBroker): string {
  return broker.rack === null ? `\u0000node:${broker.nodeId}` : `rack:${broker.rack}`;
}

function lexicallyLess(a: number[], b: number[]): boolean {
  for (let index = 0; index < a.length; index++) {
    if (a[index]! !== b[index]!) return a[index]! < b[index]!;
  }
  return false;
}

function increment(map: Map<number, number>, key: number): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
