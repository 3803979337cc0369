// The ReplicaLostData controller RPC: a broker tells the active controller it lost data of a
// partition (recovery cut damaged or unflushed bytes, or a read found a batch failing its CRC), so
// that it leaves the ISR before it could lead data it lacks. Registered with one hook in
// serveControllerRequest, like alter-partition-rpc.ts; every field is checked before it reaches
// the controller, because it comes off the network.
import type { ReplicaLostDataRequest, ReplicaLostDataResult } from '../controller/quorum-controller.ts';
import type { Logger } from '../util/log.ts';
import type { ControllerRpcClient, ControllerRpcHost, RpcAnswer } from './controller-rpc.ts';

export const replicaLostDataMethod = 'replicaLostData';

const replicasMax = 1000;
const int32Max = 2 ** 31 - 1;

export function isReplicaLostDataCall(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as { method?: unknown }).method === replicaLostDataMethod;
}

/** Serves one ReplicaLostData request. Never throws: every failure is an answer. */
export async function serveReplicaLostData(host: ControllerRpcHost, raw: unknown, logger: Logger): Promise<RpcAnswer<ReplicaLostDataResult>> {
  let request: ReplicaLostDataRequest;
  try {
    request = checkReplicaLostData((raw as { params?: unknown }).params);
  } catch (error) {
    return { ok: false, error: 'invalid', message: (error as Error).message };
  }
  const controller = host.activeController();
  if (!controller) return { ok: false, error: 'not-leader', leaderId: host.leaderId() };
  try {
    return { ok: true, result: await controller.replicaLostData(request) };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'NotLeaderError' || name === 'LeadershipLostError' || name === 'ProposalRefusedError') {
      return { ok: false, error: 'not-leader', leaderId: host.leaderId() };
    }
    logger.error('replicaLostData failed', { error: (error as Error).stack });
    return { ok: false, error: 'internal', message: (error as Error).message };
  }
}

/** Calls ReplicaLostData on the active controller through a client (following leader hints). */
export async function callReplicaLostData(client: ControllerRpcClient, request: ReplicaLostDataRequest, timeoutMs: number): Promise<ReplicaLostDataResult> {
  // The client's method table is controller-rpc.ts's; this method travels the same way, untyped there.
  const call = client.call.bind(client) as unknown as (method: string, params: unknown, timeoutMs: number) => Promise<unknown>;
  return checkReplicaLostDataResult(await call(replicaLostDataMethod, request, timeoutMs));
}

export function checkReplicaLostData(value: unknown): ReplicaLostDataRequest {
  const p = object(value, 'params');
  const topicId = p['topicId'];
  if (typeof topicId !== 'string' || !/^[0-9a-f]{32}$/.test(topicId)) throw new Error('topicId must be 32 lowercase hex digits');
  return {
    brokerId: int(p['brokerId'], 'brokerId', 0, int32Max),
    brokerEpoch: int(p['brokerEpoch'], 'brokerEpoch', -1, Number.MAX_SAFE_INTEGER),
    topicId,
    partition: int(p['partition'], 'partition', 0, int32Max),
  };
}

function checkReplicaLostDataResult(value: unknown): ReplicaLostDataResult {
  const r = object(value, 'replicaLostData result');
  const isr = r['isr'];
  if (!Array.isArray(isr) || isr.length > replicasMax) throw new Error('replicaLostData result has a malformed isr');
  return {
    errorCode: int(r['errorCode'], 'errorCode', -1, 32767),
    isr: isr.map((id, index) => int(id, `isr[${index}]`, 0, int32Max)),
    leader: int(r['leader'], 'leader', -1, int32Max),
    leaderEpoch: int(r['leaderEpoch'], 'leaderEpoch', -1, int32Max),
    partitionEpoch: int(r['partitionEpoch'], 'partitionEpoch', -1, int32Max),
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
