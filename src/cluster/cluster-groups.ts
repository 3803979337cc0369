// Starting the group service of a node in a cluster. GroupService.start() creates
// __consumer_offsets when it is missing, with its replication factor capped by the brokers alive
// then; so it waits until this broker is unfenced and the other voters had a chance to join (all
// voters unfenced, or a grace period passed), rather than creating the topic on a lone first node.
// It never blocks the node's start: a cluster without quorum still serves what it can.
import type { GroupService } from '../server/groups/group-service.ts';
import type { Logger } from '../util/log.ts';
import type { ClusterMembership } from './cluster-membership.ts';

const pollMs = 100;
const joinGraceMs = 10_000;
const startAttemptsMax = 1000;

export function startClusterGroups(groups: GroupService, cluster: ClusterMembership, shutdown: AbortSignal, logger: Logger): void {
  void (async () => {
    const beganMs = Date.now();
    // Bounded: at most one attempt per poll interval until shutdown or success.
    for (let attempt = 0; attempt < startAttemptsMax * 100; attempt++) {
      if (shutdown.aborted) return;
      const image = cluster.metadata.image();
      const self = image.brokers.get(cluster.quorumState().nodeId);
      const live = [...image.brokers.values()].filter((broker) => !broker.fenced).map((broker) => broker.nodeId);
      const votersLive = cluster.quorumState().voters.every((voter) => live.includes(voter.nodeId));
      if (self && !self.fenced && (votersLive || Date.now() - beganMs > joinGraceMs)) break;
      await new Promise<void>((resolve) => setTimeout(resolve, pollMs).unref());
    }
    for (let attempt = 1; attempt <= startAttemptsMax; attempt++) {
      if (shutdown.aborted) return;
      try {
        await groups.start();
        logger.info('group service started');
        return;
      } catch (error) {
        logger.warn('starting the group service failed; retrying', { attempt, error: (error as Error).message });
        await new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
      }
    }
  })();
}
