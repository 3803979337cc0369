import type { MetadataImage } from './metadata-image.ts';
import type { ElectionType } from './partition-election.ts';
import type { ElectLeadersResult, ElectLeadersTopic } from './quorum-controller.ts';
import type { AlterConfigOperation, CreateTopicRequest, TopicChangeResult } from './topic-requests.ts';

/**
 * What the broker asks of the metadata owner. In a single node it is the local store; in a cluster
 * it forwards to the active controller and answers once the change is committed.
 */
export interface MetadataService {
  image(): MetadataImage;
  /** Listeners run in order after each committed change; the change is answered once they finish. */
  onChange(listener: (image: MetadataImage) => void | Promise<void>): void;
  createTopic(request: CreateTopicRequest, validateOnly: boolean): Promise<TopicChangeResult & { topicId: string | null }>;
  deleteTopic(name: string): Promise<TopicChangeResult>;
  createPartitions(name: string, totalCount: number, validateOnly: boolean): Promise<TopicChangeResult>;
  alterTopicConfigs(name: string, operations: AlterConfigOperation[], validateOnly: boolean): Promise<TopicChangeResult>;
  /**
   * ElectLeaders through the active controller (cluster mode only; a single node has nothing to
   * elect). Answered once this node applied the elections; null when no controller answered in time.
   */
  electLeaders?(type: ElectionType, topics: ElectLeadersTopic[] | null): Promise<ElectLeadersResult | null>;
}
