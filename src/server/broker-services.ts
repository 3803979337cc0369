import type { BrokerConfig } from '../config/broker-config.ts';
import type { MetadataService } from '../controller/metadata-service.ts';
import type { Logger } from '../util/log.ts';
import type { ReplicaManager } from './replica-manager.ts';
import type { DiskGuard } from './disk-guard-service.ts';
import type { GroupService } from './groups/group-service.ts';
import type { ProducerIdService } from './producer-ids.ts';
import type { ReplicationManager } from './replication/replication-manager.ts';

/** Everything a Kafka API handler may use; handlers get nothing else. */
export interface BrokerServices {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly config: BrokerConfig;
  readonly metadata: MetadataService;
  readonly replicas: ReplicaManager;
  readonly diskGuard: DiskGuard;
  /** Consumer group coordinators of the __consumer_offsets partitions led here. */
  readonly groups: GroupService;
  /** InitProducerId: producer ids from durably reserved blocks, epoch bumps. */
  readonly producerIds: ProducerIdService;
  readonly logger: Logger;
  /** Aborted when the node starts shutting down, so long polls can answer at once. */
  readonly shutdownSignal: AbortSignal;
  isShuttingDown(): boolean;
  /** host:port this node advertises to clients. */
  readonly advertised: { host: string; port: number };
  /** Partition replication (cluster mode); absent on a single node, where the HW follows the log end. */
  readonly replication?: ReplicationManager | null;
}
