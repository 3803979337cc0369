// Plumbing shared by the controller RPCs that replication added beside controller-rpc.ts
// (AlterPartition, ReplicaLostData): recognising a call, serving it on the active controller, calling
// it through a ControllerRpcClient, and the field checks their requests and answers go through
// because they come off the network. Each RPC file keeps only its method name, its checks and
// which controller method it invokes.
import type { QuorumController } from '../controller/quorum-controller.ts';
import type { Logger } from '../util/log.ts';
import type { ControllerRpcClient, ControllerRpcHost, RpcAnswer } from './controller-rpc.ts';

export interface PartitionRpc<Request, Result> {
  method: string;
  checkRequest(params: unknown): Request;
  checkResult(value: unknown): Result;
  invoke(controller: QuorumController, request: Request): Promise<Result>;
}

export const replicasMax = 1000;
export const int32Max = 2 ** 31 - 1;

export function isCallOf(rpc: PartitionRpc<unknown, unknown>, raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as { method?: unknown }).method === rpc.method;
}

/** Serves one request of `rpc`. Never throws: every failure is an answer. */
export async function servePartitionRpc<Request, Result>(rpc: PartitionRpc<Request, Result>, host: ControllerRpcHost, raw: unknown, logger: Logger): Promise<RpcAnswer<Result>> {
  let request: Request;
  try {
    request = rpc.checkRequest((raw as { params?: unknown }).params);
  } catch (error) {
    return { ok: false, error: 'invalid', message: (error as Error).message };
  }
  const controller = host.activeController();
  if (!controller) return { ok: false, error: 'not-leader', leaderId: host.leaderId() };
  try {
    return { ok: true, result: await rpc.invoke(controller, request) };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'NotLeaderError' || name === 'LeadershipLostError' || name === 'ProposalRefusedError') {
      return { ok: false, error: 'not-leader', leaderId: host.leaderId() };
    }
    logger.error(`${rpc.method} failed`, { error: (error as Error).stack });
    return { ok: false, error: 'internal', message: (error as Error).message };
  }
}

/** Calls `rpc` on the active controller through a client (following leader hints). */
export async function callPartitionRpc<Request, Result>(rpc: PartitionRpc<Request, Result>, client: ControllerRpcClient, request: Request, timeoutMs: number): Promise<Result> {
  // The client's method table is controller-rpc.ts's; these methods travel the same way, untyped there.
  const call = client.call.bind(client) as unknown as (method: string, params: unknown, timeoutMs: number) => Promise<unknown>;
  return rpc.checkResult(await call(rpc.method, request, timeoutMs));
}

export function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where} must be an object`);
  return value as Record<string, unknown>;
}

export function int(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw new Error(`${where} must be an integer in [${min}, ${max}]`);
  return value;
}

export function topicIdField(p: Record<string, unknown>): string {
  const topicId = p['topicId'];
  if (typeof topicId !== 'string' || !/^[0-9a-f]{32}$/.test(topicId)) throw new Error('topicId must be 32 lowercase hex digits');
  return topicId;
}

export function brokerIdList(value: unknown, where: string): number[] {
  if (!Array.isArray(value) || value.length > replicasMax) throw new Error(`${where} must be a list of at most ${replicasMax} broker ids`);
  return value.map((id, index) => int(id, `${where}[${index}]`, 0, int32Max));
}
