// The cluster metadata as every node sees it: topics, their partitions (replicas, leader, ISR, epochs),
// configs and brokers. A single node keeps it in a local file; a cluster replays it from the Raft
// metadata log (issue 4). Request handlers read only this image, never the store behind it.

export interface PartitionMetadata {
  partition: number;
  replicas: number[];
  isr: number[];
  leader: number;           // -1 when the partition has no leader
  leaderEpoch: number;
  partitionEpoch: number;
}

export interface TopicMetadata {
  name: string;
  topicId: string;          // 32 lowercase hex digits, stable for the topic's life
  partitions: PartitionMetadata[];
  configs: Record<string, string>;  // only the keys set on the topic; defaults come from the broker
  internal: boolean;
}

export interface BrokerMetadata {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
  fenced: boolean;
}

export interface MetadataImage {
  clusterId: string;
  controllerId: number;
  brokers: ReadonlyMap<number, BrokerMetadata>;
  topicsByName: ReadonlyMap<string, TopicMetadata>;
  topicsById: ReadonlyMap<string, TopicMetadata>;
}

export const zeroTopicId = '00000000000000000000000000000000';
