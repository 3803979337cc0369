// One consistent view of partition and broker health, computed from the metadata image and the
// local replicas. Metrics, alerts and the REST API all read this, so they never disagree.
import { effectiveTopicConfig } from '../config/topic-config.ts';
import type { BrokerServices } from '../server/broker-services.ts';
import type { GroupLagSample } from './groups-api.ts';

export interface PartitionHealth {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  minInsyncReplicas: number;
  /** No leader, or the leader is not a live (registered, unfenced) broker. */
  offline: boolean;
  underReplicated: boolean;
  underMinIsr: boolean;
  /** Offsets are known only for partitions hosted on this node; null elsewhere. */
  logStartOffset: number | null;
  highWatermark: number | null;
  logEndOffset: number | null;
}

export interface BrokerHealth {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
  state: 'online' | 'fenced';
}

export interface ClusterHealth {
  clusterId: string;
  nodeId: number;
  controllerId: number;
  /** True when the controller is a live broker of the image (on a single node: this node). */
  controllerActive: boolean;
  brokers: BrokerHealth[];
  partitions: PartitionHealth[];
  disk: { usedRatio: number; maxUsedRatio: number };
  /** Known lags of the groups coordinated here; absent when the node has no groups view. */
  consumerLag?: readonly GroupLagSample[];
}

export function clusterHealth(services: BrokerServices): ClusterHealth {
  const image = services.metadata.image();
  const brokers: BrokerHealth[] = [...image.brokers.values()]
    .map((broker) => ({ nodeId: broker.nodeId, host: broker.host, port: broker.port, rack: broker.rack, state: broker.fenced ? 'fenced' as const : 'online' as const }))
    .sort((a, b) => a.nodeId - b.nodeId);
  const live = new Set(brokers.filter((broker) => broker.state === 'online').map((broker) => broker.nodeId));
  const defaults = services.config.topicDefaults();
  const partitions: PartitionHealth[] = [];
  for (const topic of image.topicsByName.values()) {
    const minInsyncReplicas = Number(effectiveTopicConfig(topic.configs, defaults)['min.insync.replicas'] ?? 1);
    for (const metadata of topic.partitions) {
      const local = services.replicas.get(topic.name, metadata.partition);
      const offline = metadata.leader < 0 || !live.has(metadata.leader);
      partitions.push({
        topic: topic.name,
        partition: metadata.partition,
        leader: metadata.leader,
        replicas: metadata.replicas,
        isr: metadata.isr,
        minInsyncReplicas,
        offline,
        underReplicated: !offline && metadata.isr.length < metadata.replicas.length,
        underMinIsr: !offline && metadata.isr.length < minInsyncReplicas,
        logStartOffset: local?.logStartOffset ?? null,
        highWatermark: local?.highWatermark ?? null,
        logEndOffset: local?.logEndOffset ?? null,
      });
    }
  }
  return {
    clusterId: image.clusterId,
    nodeId: services.nodeId,
    controllerId: image.controllerId,
    controllerActive: image.controllerId >= 0 && live.has(image.controllerId),
    brokers,
    partitions,
    disk: { usedRatio: services.diskGuard.ratio, maxUsedRatio: Number(services.config.string('disk.max.used.ratio')) },
  };
}

export interface PartitionCounts {
  total: number;
  online: number;
  offline: number;
  underReplicated: number;
  underMinIsr: number;
}

export function countPartitions(partitions: readonly PartitionHealth[]): PartitionCounts {
  const counts = { total: partitions.length, online: 0, offline: 0, underReplicated: 0, underMinIsr: 0 };
  for (const partition of partitions) {
    if (partition.offline) counts.offline++;
    else counts.online++;
    if (partition.underReplicated) counts.underReplicated++;
    if (partition.underMinIsr) counts.underMinIsr++;
  }
  return counts;
}
