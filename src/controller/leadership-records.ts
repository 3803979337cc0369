// Pure helpers the quorum controller uses to turn a change of broker state into partition records:
// which partitions change leader or ISR when brokers are fenced, unfenced or report full storage,
// a new partition's first leader, unclean elections a config change allows. Kept apart from
// quorum-controller.ts so the controller holds only request handling and its serialised state;
// these take the committed image and return records, so they stay deterministic (purity.test.ts).
import { partitionRecord, type ClusterMetadataImage } from './metadata-image-builder.ts';
import type { MetadataRecord } from './metadata-records.ts';
import { electPartition, isUncleanElection, type IsStorageFull } from './partition-election.ts';

export const uncleanConfigKey = 'unclean.leader.election.enable';

/** How elections treat a topic: whether a replica outside the ISR may lead when no ISR member is live. */
export interface ElectionPolicy {
  uncleanAllowed(topicConfigs: Record<string, string>): boolean;
}

/** Fence records for `nodeIds` plus the leader/ISR changes their fencing causes, as one entry. */
export function fenceRecords(image: ClusterMetadataImage, nodeIds: number[], policy: ElectionPolicy): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (const nodeId of nodeIds) {
    const broker = image.brokers.get(nodeId);
    if (broker !== undefined) records.push({ type: 'fence-broker', nodeId, brokerEpoch: broker.brokerEpoch });
  }
  records.push(...leadershipChanges(image, new Set(nodeIds), new Set(), policy));
  return records;
}

/**
 * Partition records for every partition whose leader or ISR changes when `fencing` go down and
 * `unfencing` come up, with the storage states in `storage` (nodeId -> full) replacing the image's.
 */
export function leadershipChanges(image: ClusterMetadataImage, fencing: ReadonlySet<number>, unfencing: ReadonlySet<number>, policy: ElectionPolicy, storage: ReadonlyMap<number, boolean> = new Map()): MetadataRecord[] {
  const isLive = (nodeId: number): boolean => {
    if (fencing.has(nodeId)) return false;
    if (unfencing.has(nodeId)) return true;
    const broker = image.brokers.get(nodeId);
    return broker !== undefined && !broker.fenced;
  };
  const isFull = storageFullness(image, storage);
  const records: MetadataRecord[] = [];
  for (const topic of image.topicsById.values()) {
    const unclean = policy.uncleanAllowed(topic.configs);
    for (const partition of topic.partitions) {
      const next = electPartition(partition, isLive, unclean, isFull);
      if (next === null) continue;
      records.push(partitionRecord(topic.topicId, next));
    }
  }
  return records;
}

export function liveness(image: ClusterMetadataImage): (nodeId: number) => boolean {
  return (nodeId) => image.brokers.get(nodeId)?.fenced === false;
}

/** Which brokers reported full storage, as committed, with `overrides` (nodeId -> full) taking precedence. */
export function storageFullness(image: ClusterMetadataImage, overrides: ReadonlyMap<number, boolean> = new Map()): IsStorageFull {
  return (nodeId) => overrides.get(nodeId) ?? image.brokers.get(nodeId)?.storageFull === true;
}

/**
 * The partition record of a new partition: the first replica leads, unless its storage is full and
 * a live replica has room. Every replica is empty (and live: placement picks unfenced brokers only),
 * so each one with room starts in the ISR, as in Kafka: waiting for followers to fetch nothing and
 * ask to join left a new partition below min.insync.replicas (acks=all refused, an alert raised)
 * for its first seconds.
 */
export function newPartitionRecord(image: ClusterMetadataImage, topicId: string, partition: number, replicas: number[]): MetadataRecord {
  const isFull = storageFullness(image);
  const isLive = liveness(image);
  const preferred = replicas[0]!;
  const leader = isFull(preferred) ? replicas.find((id) => isLive(id) && !isFull(id)) ?? preferred : preferred;
  const isr = replicas.filter((id) => id === leader || !isFull(id));
  return { type: 'partition', topicId, partition, replicas, isr, leader, leaderEpoch: 0, partitionEpoch: 0 };
}

/** `topic-partition: old -> new` for each partition record among `records` that changes the leader `before` had. */
export function describeLeaderMoves(before: ClusterMetadataImage, records: MetadataRecord[]): string[] {
  const moves: string[] = [];
  for (const record of records) {
    if (record.type !== 'partition') continue;
    const topic = before.topicsById.get(record.topicId);
    const previous = topic?.partitions[record.partition];
    if (topic === undefined || previous === undefined || previous.leader === record.leader) continue;
    moves.push(`${topic.name}-${record.partition}: ${previous.leader} -> ${record.leader}`);
  }
  return moves;
}

/** Unclean elections for the leaderless partitions of one topic (its configs now allow them). */
export function uncleanElections(image: ClusterMetadataImage, topicId: string): MetadataRecord[] {
  const topic = image.topicsById.get(topicId);
  if (topic === undefined) return [];
  const isLive = liveness(image);
  const isFull = storageFullness(image);
  const records: MetadataRecord[] = [];
  for (const partition of topic.partitions) {
    const next = electPartition(partition, isLive, true, isFull);
    if (next !== null && isUncleanElection(partition, next)) records.push(partitionRecord(topicId, next));
  }
  return records;
}
