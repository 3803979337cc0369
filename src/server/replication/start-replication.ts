// Assembles partition replication for a cluster node (called by tide-node.ts in cluster mode).
import { join, resolve } from 'node:path';
import type { ClusterMembership } from '../../cluster/cluster-membership.ts';
import type { BrokerConfig } from '../../config/broker-config.ts';
import type { MetadataService } from '../../controller/metadata-service.ts';
import type { Logger } from '../../util/log.ts';
import type { ReplicaManager } from '../replica-manager.ts';
import { replicationControllerClient } from './controller-client.ts';
import { HIGH_WATERMARK_CHECKPOINT_FILE } from './high-watermark-checkpoint.ts';
import { ReplicationManager } from './replication-manager.ts';

export interface StartedReplication {
  manager: ReplicationManager;
  stop(): Promise<void>;
}

export function startReplication(cluster: ClusterMembership, nodeId: number, replicas: ReplicaManager, metadata: MetadataService, config: BrokerConfig, logger: Logger): StartedReplication {
  const controller = replicationControllerClient(cluster, nodeId, config.int('controller.rpc.timeout.ms'), logger);
  const manager = new ReplicationManager({
    nodeId,
    replicas,
    image: () => metadata.image(),
    brokerEpoch: () => cluster.quorumState().brokerEpoch,
    alterPartition: (request) => controller.alterPartition(request),
    replicaLostData: (request) => controller.replicaLostData(request),
    replicaLagTimeMaxMs: config.int('replica.lag.time.max.ms'),
    replicaBacklogMaxBytes: config.int('replica.backlog.max.bytes'),
    outboundLocalHost: config.string('outbound.local.host'),
    highWatermarkCheckpointPath: join(resolve(config.string('data.dir')!), HIGH_WATERMARK_CHECKPOINT_FILE),
    highWatermarkCheckpointIntervalMs: config.int('replica.high.watermark.checkpoint.interval.ms'),
    logger,
  });
  return {
    manager,
    stop: async () => {
      await manager.close();
      controller.close();
    },
  };
}
