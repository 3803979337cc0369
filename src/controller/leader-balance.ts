// Preferred leader balancing (`auto.leader.rebalance.enable`). Pure: from the committed image and
// which brokers are live, which partitions should hand leadership back to their preferred (first)
// replica. The controller runs it every `leader.imbalance.check.interval.seconds`.
//
// Kafka's rule (the documented meaning of `leader.imbalance.per.broker.percentage`): for each broker,
// imbalance = partitions it is preferred for but does not lead / partitions it is preferred for.
// Only a broker whose imbalance is ABOVE the percentage gets its leaderships back, and only for
// partitions where it is live and in the ISR (never a leader that could lack acknowledged data), and
// not while its storage is full and another live ISR member has room (it comes back once it has room).
// 0 % moves back every partition that can move.
import type { ClusterMetadataImage } from './metadata-image-builder.ts';
import type { PartitionMetadata } from './metadata-image.ts';
import { electOnDemand, noStorageFull, type IsLive, type IsStorageFull } from './partition-election.ts';

export interface LeaderBalanceSettings {
  /** `auto.leader.rebalance.enable` */
  enabled: boolean;
  /** `leader.imbalance.check.interval.seconds`, in ms. */
  checkIntervalMs: number;
  /** `leader.imbalance.per.broker.percentage`, 0..100. */
  imbalancePercentage: number;
}

export interface PreferredMove {
  topicId: string;
  topic: string;
  before: PartitionMetadata;
  next: PartitionMetadata;
}

export interface BrokerImbalance {
  preferred: number;
  notLed: number;
}

/** Per broker: partitions it is the preferred replica of, and how many of those it does not lead. */
export function leaderImbalance(image: ClusterMetadataImage): Map<number, BrokerImbalance> {
  const counts = new Map<number, BrokerImbalance>();
  for (const topic of image.topicsById.values()) {
    for (const partition of topic.partitions) {
      const preferred = partition.replicas[0]!;
      const entry = counts.get(preferred) ?? { preferred: 0, notLed: 0 };
      entry.preferred++;
      if (partition.leader !== preferred) entry.notLed++;
      counts.set(preferred, entry);
    }
  }
  return counts;
}

/** The preferred-leader elections a balance check makes, in topic and partition order. */
export function preferredLeaderMoves(image: ClusterMetadataImage, isLive: IsLive, imbalancePercentage: number, isFull: IsStorageFull = noStorageFull): PreferredMove[] {
  const imbalanced = new Set<number>();
  for (const [nodeId, { preferred, notLed }] of leaderImbalance(image)) {
    // Integer comparison of notLed/preferred > percentage/100, free of rounding.
    if (notLed > 0 && notLed * 100 > imbalancePercentage * preferred) imbalanced.add(nodeId);
  }
  const moves: PreferredMove[] = [];
  if (imbalanced.size === 0) return moves;
  const topics = [...image.topicsById.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const topic of topics) {
    for (const partition of topic.partitions) {
      if (!imbalanced.has(partition.replicas[0]!)) continue;
      const outcome = electOnDemand(partition, 'preferred', isLive, isFull);
      if (outcome.next !== null) moves.push({ topicId: topic.topicId, topic: topic.name, before: partition, next: outcome.next });
    }
  }
  return moves;
}
