// The AlterPartition controller RPC: a partition leader asks the active controller to change the
// ISR. Kept apart from controller-rpc.ts (which registers it with one hook in
// serveControllerRequest) so replication can grow without touching the shared dispatcher. Same
// framing and answers as the other controller RPCs; every field is checked before it reaches the
// controller, because it comes off the network.
import type { AlterPartitionControllerRequest, AlterPartitionControllerResult } from '../controller/quorum-controller.ts';
import type { Logger } from '../util/log.ts';
import type { ControllerRpcClient, ControllerRpcHost, RpcAnswer } from './controller-rpc.ts';

export const alterPartitionMethod = 'alterPartition';

const replicasMax = 1000;
const int32Max = 2 ** 31 - 1;

export function isAlterPartitionCall(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as { method?: unknown }).method === alterPartitionMethod;
}

/** Serves one AlterPartition request. Never throws: every failure is an answer. */
export async function serveAlterPartition(host: ControllerRpcHost, raw: unknown, logger: Logger): Promise<RpcAnswer<AlterPartitionControllerResult>> {
  let request: AlterPartitionControllerRequest;
  try {
    request = checkAlterPartition((raw as { params?: unknown }).params);
  } catch (error) {
    return { ok: false, error: 'invalid', message: (error as Error).message };
  }
  const controller = host.activeController();
  if (!controller) return { ok: false, error: 'not-leader', leaderId: host.leaderId() };
  try {
    return { ok: true, result: await controller.alterPartition(request) };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'NotLeaderError' || name === 'LeadershipLostError' || name === 'ProposalRefusedError') {
      return { ok: false, error: 'not-leader', leaderId: host.leaderId() };
    }
    logger.error('alterPartition failed', { error: (error as Error).stack });
    return { ok: false, error: 'internal', message: (error as Error).message };
  }
}

/** Calls AlterPartition on the active controller through a client (following leader hints). */
export async function callAlterPartition(client: ControllerRpcClient, request: AlterPartitionControllerRequest, timeoutMs: number): Promise<AlterPartitionControllerResult> {
  // The client's method table is controller-rpc.ts's; this method travels the same way, untyped there.
  const call = client.call.bind(client) as unknown as (method: string, params: unknown, timeoutMs: number) => Promise<unknown>;
  const answer = await call(alterPartitionMethod, request, timeoutMs);
  return checkAlterPartitionResult(answer);
}

export function checkAlterPartition(value: unknown): AlterPartitionControllerRequest {
  const p = object(value, 'params');
  const newIsr = p['newIsr'];
  if (!Array.isArray(newIsr) || newIsr.length > replicasMax) throw new Error(`newIsr must be a list of at most ${replicasMax} broker ids`);
  const topicId = p['topicId'];
  if (typeof topicId !== 'string' || !/^[0-9a-f]{32}$/.test(topicId)) throw new Error('topicId must be 32 lowercase hex digits');
  return {
    brokerId: int(p['brokerId'], 'brokerId', 0, int32Max),
    brokerEpoch: int(p['brokerEpoch'], 'brokerEpoch', -1, Number.MAX_SAFE_INTEGER),
    topicId,
    partition: int(p['partition'], 'partition', 0, int32Max),
    leaderEpoch: int(p['leaderEpoch'], 'leaderEpoch', -1, int32Max),
    partitionEpoch: int(p['partitionEpoch'], 'partitionEpoch', -1, int32Max),
    newIsr: newIsr.map((id, index) => int(id, `newIsr[${index}]`, 0, int32Max)),
  };
}

function checkAlterPartitionResult(value: unknown): AlterPartitionControllerResult {
  const r = object(value, 'alterPartition result');
  const isr = r['isr'];
  if (!Array.isArray(isr) || isr.length > replicasMax) throw new Error('alterPartition result has a malformed isr');
  return {
    errorCode: int(r['errorCode'], 'errorCode', -1, 32767),
    leaderEpoch: int(r['leaderEpoch'], 'leaderEpoch', -1, int32Max),
    partitionEpoch: int(r['partitionEpoch'], 'partitionEpoch', -1, int32Max),
    isr: isr.map((id, index) => int(id, `isr[${index}]`, 0, int32Max)),
    offset: int(r['offset'], 'offset', -1, Number.MAX_SAFE_INTEGER),
  };
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where} must be an object`);
  return value as Record<string, unknown>;
}

function int(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw new Error(`${where} must be an integer in [${min}, ${max}]`);
  return value;
}
