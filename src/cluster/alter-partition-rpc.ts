// The AlterPartition controller RPC: a partition leader asks the active controller to change the
// ISR. Kept apart from controller-rpc.ts (which registers it with one hook in
// serveControllerRequest) so replication can grow without touching the shared dispatcher. Same
// framing and answers as the other controller RPCs; every field is checked before it reaches the
// controller, because it comes off the network.
import type { AlterPartitionControllerRequest, AlterPartitionControllerResult } from '../controller/quorum-controller.ts';
import type { Logger } from '../util/log.ts';
import type { ControllerRpcClient, ControllerRpcHost, RpcAnswer } from './controller-rpc.ts';
import { brokerIdList, callPartitionRpc, int, int32Max, isCallOf, object, servePartitionRpc, topicIdField, type PartitionRpc } from './partition-rpc.ts';

export const alterPartitionMethod = 'alterPartition';

const alterPartitionRpc: PartitionRpc<AlterPartitionControllerRequest, AlterPartitionControllerResult> = {
  method: alterPartitionMethod,
  checkRequest: checkAlterPartition,
  checkResult: checkAlterPartitionResult,
  invoke: (controller, request) => controller.alterPartition(request),
};

export function isAlterPartitionCall(raw: unknown): boolean {
  return isCallOf(alterPartitionRpc, raw);
}

/** Serves one AlterPartition request. Never throws: every failure is an answer. */
export function serveAlterPartition(host: ControllerRpcHost, raw: unknown, logger: Logger): Promise<RpcAnswer<AlterPartitionControllerResult>> {
  return servePartitionRpc(alterPartitionRpc, host, raw, logger);
}

/** Calls AlterPartition on the active controller through a client (following leader hints). */
export function callAlterPartition(client: ControllerRpcClient, request: AlterPartitionControllerRequest, timeoutMs: number): Promise<AlterPartitionControllerResult> {
  return callPartitionRpc(alterPartitionRpc, client, request, timeoutMs);
}

export function checkAlterPartition(value: unknown): AlterPartitionControllerRequest {
  const p = object(value, 'params');
  const newIsr = brokerIdList(p['newIsr'], 'newIsr');
  return {
    brokerId: int(p['brokerId'], 'brokerId', 0, int32Max),
    brokerEpoch: int(p['brokerEpoch'], 'brokerEpoch', -1, Number.MAX_SAFE_INTEGER),
    topicId: topicIdField(p),
    partition: int(p['partition'], 'partition', 0, int32Max),
    leaderEpoch: int(p['leaderEpoch'], 'leaderEpoch', -1, int32Max),
    partitionEpoch: int(p['partitionEpoch'], 'partitionEpoch', -1, int32Max),
    newIsr,
  };
}

function checkAlterPartitionResult(value: unknown): AlterPartitionControllerResult {
  const r = object(value, 'alterPartition result');
  return {
    errorCode: int(r['errorCode'], 'errorCode', -1, 32767),
    leaderEpoch: int(r['leaderEpoch'], 'leaderEpoch', -1, int32Max),
    partitionEpoch: int(r['partitionEpoch'], 'partitionEpoch', -1, int32Max),
    isr: brokerIdList(r['isr'], 'alterPartition result isr'),
    offset: int(r['offset'], 'offset', -1, Number.MAX_SAFE_INTEGER),
  };
}
