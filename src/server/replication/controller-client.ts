// How a broker's replication reaches the active controller: its own controller RPC client (links to
// every voter, leader hints from this node's quorum view), so that replication needs nothing from
// the cluster plumbing beyond its public surface. On a voter the in-process path serves requests
// this node can answer itself.
import { callAlterPartition } from '../../cluster/alter-partition-rpc.ts';
import { callReplicaLostData } from '../../cluster/replica-data-loss-rpc.ts';
import type { ClusterMembership } from '../../cluster/cluster-membership.ts';
import { ControllerRpcClient, serveControllerRequest } from '../../cluster/controller-rpc.ts';
import { PeerLink } from '../../cluster/peer-link.ts';
import type { AlterPartitionControllerRequest, AlterPartitionControllerResult, ReplicaLostDataRequest, ReplicaLostDataResult } from '../../controller/quorum-controller.ts';
import type { Logger } from '../../util/log.ts';

export interface ReplicationControllerClient {
  alterPartition(request: AlterPartitionControllerRequest): Promise<AlterPartitionControllerResult>;
  replicaLostData(request: ReplicaLostDataRequest): Promise<ReplicaLostDataResult>;
  close(): void;
}

export function replicationControllerClient(cluster: ClusterMembership, nodeId: number, rpcTimeoutMs: number, logger: Logger): ReplicationControllerClient {
  const voters = cluster.quorumState().voters;
  const links = new Map<number, PeerLink>();
  for (const voter of voters) {
    if (voter.nodeId !== nodeId) links.set(voter.nodeId, new PeerLink(voter.host, voter.port, logger.child(`controller-link-${voter.nodeId}`), undefined, cluster.outboundLocalHost));
  }
  const client = new ControllerRpcClient({
    selfId: nodeId,
    links,
    voterIds: voters.map((voter) => voter.nodeId),
    leaderHint: () => cluster.leaderId(),
    local: cluster.isVoter ? (request) => serveControllerRequest(cluster, request, logger) : null,
    logger,
  });
  return {
    alterPartition: (request) => callAlterPartition(client, request, rpcTimeoutMs),
    replicaLostData: (request) => callReplicaLostData(client, request, rpcTimeoutMs),
    close: () => {
      client.close();
      for (const link of links.values()) link.close();
    },
  };
}
