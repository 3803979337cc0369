// Requests to change topics, as the admin handlers hand them to a MetadataService (the local
// single-node store today, the Raft controller in a cluster), and the typed outcome.

export interface CreateTopicRequest {
  name: string;
  numPartitions: number;        // -1: num.partitions
  replicationFactor: number;    // -1: default.replication.factor
  assignments: Array<{ partition: number; brokerIds: number[] }>;
  configs: Record<string, string>;
}

export interface TopicChangeResult {
  errorCode: number;
  errorMessage: string | null;
}

export type AlterConfigOperation = { key: string; op: 'set' | 'delete' | 'append' | 'subtract'; value: string | null };

export const ok: TopicChangeResult = { errorCode: 0, errorMessage: null };

export function failure(errorCode: number, errorMessage: string): TopicChangeResult {
  return { errorCode, errorMessage };
}
