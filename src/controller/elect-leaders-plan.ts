// What an ElectLeaders request does to the committed image. Pure: the active controller commits the
// elections it finds (quorum-controller.ts); a single node, which has nothing to elect, answers
// with the same rules straight from its image.
import { ErrorCode } from '../protocol/error-codes.ts';
import type { MetadataImage, PartitionMetadata } from './metadata-image.ts';
import { electOnDemand, noStorageFull, type ElectionType, type IsLive, type IsStorageFull } from './partition-election.ts';

/** One topic's partitions of an ElectLeaders request. */
export interface ElectLeadersTopic {
  topic: string;
  partitions: number[];
}

export interface ElectLeadersAnswer {
  topic: string;
  partitions: Array<{ partition: number; errorCode: number; errorMessage: string | null }>;
}

export interface ElectionPlan {
  topics: ElectLeadersAnswer[];
  elections: Array<{ topicId: string; next: PartitionMetadata }>;
}

/**
 * Per partition, Kafka's answer (partition-election.ts `electOnDemand`); UNKNOWN_TOPIC_OR_PARTITION for
 * what does not exist. `topics` null means every partition, and then, as in Kafka, partitions that
 * needed no election are left out of the answer (and topics left without any answer).
 */
export function planElections(image: MetadataImage, type: ElectionType, topics: ElectLeadersTopic[] | null, isLive: IsLive, isFull: IsStorageFull = noStorageFull): ElectionPlan {
  const everything = topics === null;
  // Repeated topics and partitions are asked once (Kafka reads the request into a set).
  const wanted = new Map<string, Set<number>>();
  if (topics === null) {
    for (const name of [...image.topicsByName.keys()].sort()) {
      wanted.set(name, new Set(image.topicsByName.get(name)!.partitions.map((partition) => partition.partition)));
    }
  } else {
    for (const entry of topics) {
      const ids = wanted.get(entry.topic) ?? new Set<number>();
      for (const id of entry.partitions) ids.add(id);
      wanted.set(entry.topic, ids);
    }
  }
  const plan: ElectionPlan = { topics: [], elections: [] };
  for (const [name, ids] of wanted) {
    const topic = image.topicsByName.get(name);
    const answers: ElectLeadersAnswer['partitions'] = [];
    for (const id of ids) {
      const partition = topic?.partitions[id];
      if (topic === undefined || partition === undefined) {
        answers.push({ partition: id, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `no partition ${name}-${id}` });
        continue;
      }
      const outcome = electOnDemand(partition, type, isLive, isFull);
      if (outcome.next !== null) {
        plan.elections.push({ topicId: topic.topicId, next: outcome.next });
        answers.push({ partition: id, errorCode: ErrorCode.NONE, errorMessage: null });
      } else if (!(everything && outcome.errorCode === ErrorCode.ELECTION_NOT_NEEDED)) {
        answers.push({ partition: id, errorCode: outcome.errorCode, errorMessage: outcome.message });
      }
    }
    if (!everything || answers.length > 0) plan.topics.push({ topic: name, partitions: answers });
  }
  return plan;
}
