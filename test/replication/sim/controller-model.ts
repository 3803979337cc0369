// The controller as the replication simulator needs it (the real one is src/controller's
// QuorumController on Raft): one partition's committed state, broker fencing by missed heartbeats,
// re-registration after a restart (fenced until caught up, and out of the ISR while others remain,
// since its unflushed tail may be gone), leader election from the ISR only, and AlterPartition with
// epoch checks and idempotent retries. Every change bumps the metadata version it publishes.
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import type { SeededRandom } from '../../../src/io/random.ts';
import type { AlterPartitionRequest, AlterPartitionResult, PartitionState } from '../../../src/replication/types.ts';

export interface BrokerStatus {
  fenced: boolean;
  brokerEpoch: number;
  lastHeartbeatMs: number;
  /** Set at registration: the broker is unfenced only once it has applied this metadata version. */
  mustReachVersion: number;
  /** The process incarnation that registered: a resent registration from it is answered, not redone. */
  incarnation: number;
}

export class ControllerModel {
  state: PartitionState;
  version = 1;
  readonly brokers = new Map<number, BrokerStatus>();
  private nextBrokerEpoch = 1;
  elections = 0;
  leaderless = 0;

  constructor(
    replicas: readonly number[],
    private readonly random: SeededRandom,
    private readonly electOutsideIsr: boolean,
    private readonly onChange: (state: PartitionState, version: number, reason: string) => void,
  ) {
    this.state = { leader: replicas[0]!, leaderEpoch: 0, partitionEpoch: 0, replicas: [...replicas], isr: [...replicas] };
    for (const id of replicas) this.brokers.set(id, { fenced: false, brokerEpoch: this.nextBrokerEpoch++, lastHeartbeatMs: 0, mustReachVersion: 0, incarnation: 0 });
  }

  /** Fences brokers whose sessions expired. */
  tick(nowMs: number, sessionTimeoutMs: number): void {
    for (const [id, broker] of this.brokers) {
      if (!broker.fenced && nowMs - broker.lastHeartbeatMs > sessionTimeoutMs) this.fence(id, 'session expired');
    }
  }

  heartbeat(nodeId: number, brokerEpoch: number, appliedVersion: number, nowMs: number): void {
    const broker = this.brokers.get(nodeId)!;
    if (broker.brokerEpoch !== brokerEpoch) return; // STALE_BROKER_EPOCH
    broker.lastHeartbeatMs = nowMs;
    if (broker.fenced && appliedVersion >= broker.mustReachVersion) {
      broker.fenced = false;
      if (this.state.leader < 0 && this.state.isr.includes(nodeId)) this.elect('unfenced ISR member');
    }
  }

  /** A restarted broker registers: new epoch, fenced, out of the ISR where others remain. */
  register(nodeId: number, incarnation: number, nowMs: number): { brokerEpoch: number; version: number } {
    const broker = this.brokers.get(nodeId)!;
    if (broker.incarnation === incarnation) return { brokerEpoch: broker.brokerEpoch, version: broker.mustReachVersion };
    broker.incarnation = incarnation;
    this.fence(nodeId, 're-registered');
    broker.brokerEpoch = this.nextBrokerEpoch++;
    broker.lastHeartbeatMs = nowMs;
    broker.mustReachVersion = this.version;
    return { brokerEpoch: broker.brokerEpoch, version: this.version };
  }

  /** Fences a broker as if its session expired (also a fault of its own: "leader fenced"). */
  fence(nodeId: number, reason: string): void {
    const broker = this.brokers.get(nodeId)!;
    broker.fenced = true;
    const state = this.state;
    const isr = state.isr.length > 1 ? state.isr.filter((id) => id !== nodeId) : state.isr;
    if (state.leader === nodeId) {
      this.state = { ...state, isr };
      this.elect(`leader ${nodeId} fenced (${reason})`);
    } else if (isr.length !== state.isr.length) {
      this.commit({ ...state, isr, partitionEpoch: state.partitionEpoch + 1 }, `${nodeId} fenced (${reason})`);
    }
  }

  alterPartition(request: AlterPartitionRequest): AlterPartitionResult {
    const state = this.state;
    if (request.leaderId !== state.leader || request.leaderEpoch !== state.leaderEpoch) return { errorCode: ErrorCode.FENCED_LEADER_EPOCH };
    // A retry of a request already applied gets INVALID_UPDATE_VERSION; the metadata update tells the leader.
    if (request.partitionEpoch !== state.partitionEpoch) return { errorCode: ErrorCode.INVALID_UPDATE_VERSION };
    if (!request.isr.includes(state.leader)) return { errorCode: ErrorCode.INVALID_REQUEST };
    for (const id of request.isr) {
      if (!state.replicas.includes(id)) return { errorCode: ErrorCode.INELIGIBLE_REPLICA };
      if (!state.isr.includes(id) && this.brokers.get(id)!.fenced) return { errorCode: ErrorCode.INELIGIBLE_REPLICA };
    }
    this.commit({ ...state, isr: [...request.isr], partitionEpoch: state.partitionEpoch + 1 }, `alter-partition isr=[${request.isr.join(',')}]`);
    return { errorCode: 0, leaderEpoch: this.state.leaderEpoch, partitionEpoch: this.state.partitionEpoch, isr: this.state.isr };
  }

  private elect(reason: string): void {
    const state = this.state;
    const eligible = (id: number) => !this.brokers.get(id)!.fenced && id !== state.leader;
    let candidates = state.isr.filter(eligible);
    if (this.electOutsideIsr) {
      const outside = state.replicas.filter((id) => eligible(id) && !state.isr.includes(id));
      if (outside.length > 0) candidates = outside;
    }
    const leader = candidates.length > 0 ? candidates[this.random.nextInt(candidates.length)]! : -1;
    let isr = state.isr;
    if (leader >= 0 && !isr.includes(leader)) isr = [leader]; // Unclean: only the new leader is in sync with itself.
    if (leader < 0) this.leaderless++;
    else this.elections++;
    this.commit({ ...state, leader, isr, leaderEpoch: state.leaderEpoch + 1, partitionEpoch: state.partitionEpoch + 1 }, `election: ${reason}`);
  }

  private commit(state: PartitionState, reason: string): void {
    this.state = state;
    this.version++;
    this.onChange(state, this.version, reason);
  }
}
