// The ReplicaLostData controller RPC: a broker tells the active controller it lost data of a
// partition (recovery cut damaged or unflushed bytes, or a read found a batch failing its CRC), so
// that it leaves the ISR before it could lead data it lacks. Registered with one hook in
// serveControllerRequest, like alter-partition-rpc.ts; every field is checked before it reaches
// the controller, because it comes off the network.
import type { ReplicaLostDataRequest, ReplicaLostDataResult } from '../controller/quorum-controller.ts';
import type { Logger } from '../util/log.ts';
import type { ControllerRpcClient, ControllerRpcHost, RpcAnswer } from './controller-rpc.ts';
import { brokerIdList, callPartitionRpc, int, int32Max, isCallOf, object, servePartitionRpc, topicIdField, type PartitionRpc } from './partition-rpc.ts';

export const replicaLostDataMethod = 'replicaLostData';

const replicaLostDataRpc: PartitionRpc<ReplicaLostDataRequest, ReplicaLostDataResult> = {
  method: replicaLostDataMethod,
  checkRequest: checkReplicaLostData,
  checkResult: checkReplicaLostDataResult,
  invoke: (controller, request) => controller.replicaLostData(request),
};

export function isReplicaLostDataCall(raw: unknown): boolean {
  return isCallOf(replicaLostDataRpc, raw);
}

/** Serves one ReplicaLostData request. Never throws: every failure is an answer. */
export function serveReplicaLostData(host: ControllerRpcHost, raw: unknown, logger: Logger): Promise<RpcAnswer<ReplicaLostDataResult>> {
  return servePartitionRpc(replicaLostDataRpc, host, raw, logger);
}

/** Calls ReplicaLostData on the active controller through a client (following leader hints). */
export function callReplicaLostData(client: ControllerRpcClient, request: ReplicaLostDataRequest, timeoutMs: number): Promise<ReplicaLostDataResult> {
  return callPartitionRpc(replicaLostDataRpc, client, request, timeoutMs);
}

export function checkReplicaLostData(value: unknown): ReplicaLostDataRequest {
  const p = object(value, 'params');
  return {
    brokerId: int(p['brokerId'], 'brokerId', 0, int32Max),
    brokerEpoch: int(p['brokerEpoch'], 'brokerEpoch', -1, Number.MAX_SAFE_INTEGER),
    topicId: topicIdField(p),
    partition: int(p['partition'], 'partition', 0, int32Max),
  };
}

function checkReplicaLostDataResult(value: unknown): ReplicaLostDataResult {
  const r = object(value, 'replicaLostData result');
  return {
    errorCode: int(r['errorCode'], 'errorCode', -1, 32767),
    isr: brokerIdList(r['isr'], 'replicaLostData result isr'),
    leader: int(r['leader'], 'leader', -1, int32Max),
    leaderEpoch: int(r['leaderEpoch'], 'leaderEpoch', -1, int32Max),
    partitionEpoch: int(r['partitionEpoch'], 'partitionEpoch', -1, int32Max),
    offset: int(r['offset'], 'offset', -1, Number.MAX_SAFE_INTEGER),
  };
}
