// Controller RPCs between nodes, carried as JSON frames on the internal listener. Brokers register
// and heartbeat, admin changes are forwarded, producer-id blocks are reserved: all served by the
// active controller (the Raft leader), which answers once the change is committed. Any voter also
// serves `fetchMetadata` (committed log entries, or a snapshot when the entries are compacted away)
// so observers can follow the log. A voter that does not lead answers `not-leader` with the leader
// it knows; the client follows that hint, else tries the voters in turn, until its deadline.
// Requests come off the network: every field is checked before it reaches the controller.
import type { ElectLeadersResult, ElectLeadersTopic, QuorumController } from '../controller/quorum-controller.ts';
import type { AlterConfigOperation, CreateTopicRequest, TopicChangeResult } from '../controller/topic-requests.ts';
import type { HeartbeatConnection } from '../controller/broker-liveness.ts';
import type { Logger } from '../util/log.ts';
import { PeerUnavailableError, type PeerLink } from './peer-link.ts';
import { isAlterPartitionCall, serveAlterPartition } from './alter-partition-rpc.ts';
import { isReplicaLostDataCall, serveReplicaLostData } from './replica-data-loss-rpc.ts';

export interface RegisterParams { nodeId: number; incarnationId: string; host: string; port: number; rack: string | null; internalHost: string; internalPort: number }
/** `storageFull` is optional on the wire: a sender that predates it means false. */
export interface HeartbeatParams { nodeId: number; brokerEpoch: number; metadataOffset: number; wantFence: boolean; storageFull?: boolean }

export interface ControllerMethods {
  register: { params: RegisterParams; result: { errorCode: number; brokerEpoch: number; offset: number } };
  heartbeat: { params: HeartbeatParams; result: { errorCode: number; fenced: boolean; offset: number } };
  createTopic: { params: { request: CreateTopicRequest; validateOnly: boolean }; result: TopicChangeResult & { topicId: string | null; offset: number } };
  deleteTopic: { params: { name: string }; result: TopicChangeResult & { offset: number } };
  createPartitions: { params: { name: string; totalCount: number; validateOnly: boolean }; result: TopicChangeResult & { offset: number } };
  alterTopicConfigs: { params: { name: string; operations: AlterConfigOperation[]; validateOnly: boolean }; result: TopicChangeResult & { offset: number } };
  allocateProducerIds: { params: { nodeId: number; size: number }; result: { errorCode: number; firstId: number; size: number; offset: number } };
  electLeaders: { params: { type: 'preferred' | 'unclean'; topics: ElectLeadersTopic[] | null }; result: ElectLeadersResult };
  fetchMetadata: { params: { fromOffset: number; maxBytes: number }; result: FetchMetadataResult };
}
export type ControllerMethod = keyof ControllerMethods;

export interface FetchMetadataResult {
  leaderId: number | null;
  term: number;
  /** When the entries from `fromOffset` are compacted away: the serving node's image at `snapshotOffset`. */
  snapshot: { offset: number; data: string /* base64 */ } | null;
  /** Committed entries in order; empty data is a leader's no-op. */
  entries: Array<{ offset: number; data: string /* base64 */ }>;
  /** The serving node's applied offset: the follower is caught up when it reaches this. */
  highOffset: number;
}

export type RpcAnswer<T> = { ok: true; result: T } | { ok: false; error: 'not-leader'; leaderId: number | null } | { ok: false; error: 'invalid' | 'internal'; message: string };

/** The serving side's view of its node. */
export interface ControllerRpcHost {
  /** The controller logic when this node is the active controller and caught up; else null. */
  activeController(): QuorumController | null;
  leaderId(): number | null;
  fetchMetadata(fromOffset: number, maxBytes: number): FetchMetadataResult;
}

export const fetchMetadataBytesMax = 8 * 1024 * 1024;

/**
 * Decodes and dispatches one request. Never throws: every failure is an answer. `connection` is the
 * internal-listener connection it came over (undefined in-process): the controller watches the one
 * a broker heartbeats over, to fence a killed broker when it closes.
 */
export async function serveControllerRequest(host: ControllerRpcHost, raw: unknown, logger: Logger, connection?: HeartbeatConnection): Promise<RpcAnswer<unknown>> {
  if (isAlterPartitionCall(raw)) return serveAlterPartition(host, raw, logger); // replication's RPC (alter-partition-rpc.ts)
  if (isReplicaLostDataCall(raw)) return serveReplicaLostData(host, raw, logger); // replica-data-loss-rpc.ts
  let checked: { method: ControllerMethod; params: unknown };
  try {
    checked = checkRequest(raw);
  } catch (error) {
    return { ok: false, error: 'invalid', message: (error as Error).message };
  }
  try {
    if (checked.method === 'fetchMetadata') {
      const params = checked.params as ControllerMethods['fetchMetadata']['params'];
      return { ok: true, result: host.fetchMetadata(params.fromOffset, Math.min(params.maxBytes, fetchMetadataBytesMax)) };
    }
    const controller = host.activeController();
    if (!controller) return { ok: false, error: 'not-leader', leaderId: host.leaderId() };
    return { ok: true, result: await callController(controller, checked.method, checked.params, connection) };
  } catch (error) {
    // Leadership lost while the change was in flight: the client asks the new leader.
    // A proposal refused during a leadership transfer is retried the same way.
    const name = (error as Error).name;
    if (name === 'NotLeaderError' || name === 'LeadershipLostError' || name === 'ProposalRefusedError') {
      return { ok: false, error: 'not-leader', leaderId: host.leaderId() };
    }
    logger.error('controller request failed', { method: checked.method, error: (error as Error).stack });
    return { ok: false, error: 'internal', message: (error as Error).message };
  }
}

function callController(controller: QuorumController, method: Exclude<ControllerMethod, 'fetchMetadata'>, params: unknown, connection: HeartbeatConnection | undefined): Promise<unknown> {
  switch (method) {
    case 'register': return controller.registerBroker(params as RegisterParams, connection);
    case 'heartbeat': return controller.heartbeat(params as HeartbeatParams, connection);
    case 'createTopic': {
      const p = params as ControllerMethods['createTopic']['params'];
      return controller.createTopic(p.request, p.validateOnly);
    }
    case 'deleteTopic': return controller.deleteTopic((params as { name: string }).name);
    case 'createPartitions': {
      const p = params as ControllerMethods['createPartitions']['params'];
      return controller.createPartitions(p.name, p.totalCount, p.validateOnly);
    }
    case 'alterTopicConfigs': {
      const p = params as ControllerMethods['alterTopicConfigs']['params'];
      return controller.alterTopicConfigs(p.name, p.operations, p.validateOnly);
    }
    case 'allocateProducerIds': {
      const p = params as ControllerMethods['allocateProducerIds']['params'];
      return controller.allocateProducerIds(p.nodeId, p.size);
    }
    case 'electLeaders': {
      const p = params as ControllerMethods['electLeaders']['params'];
      return controller.electLeaders(p.type, p.topics);
    }
  }
}

// ---- Checking requests off the wire -----------------------------------------------------------

const stringLengthMax = 1024;
const listLengthMax = 100_000;

class InvalidRequest extends Error {}

function fail(message: string): never {
  throw new InvalidRequest(message);
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${where} must be an object`);
  return value as Record<string, unknown>;
}

function int(value: unknown, where: string, min = -2_147_483_648, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) fail(`${where} must be an integer in [${min}, ${max}]`);
  return value;
}

function str(value: unknown, where: string, maxLength = stringLengthMax): string {
  if (typeof value !== 'string' || value.length > maxLength) fail(`${where} must be a string of at most ${maxLength} characters`);
  return value;
}

function bool(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') fail(`${where} must be a boolean`);
  return value;
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value) || value.length > listLengthMax) fail(`${where} must be a list of at most ${listLengthMax} items`);
  return value;
}

function configs(value: unknown, where: string): Record<string, string> {
  const source = object(value, where);
  const entries = Object.entries(source);
  if (entries.length > 1000) fail(`${where} has too many entries`);
  const result: Record<string, string> = {};
  for (const [key, item] of entries) result[str(key, `${where} key`)] = str(item, `${where}.${key}`, 64 * 1024);
  return result;
}

function checkRequest(raw: unknown): { method: ControllerMethod; params: unknown } {
  const request = object(raw, 'request');
  const method = str(request.method, 'method');
  const p = object(request.params, 'params');
  const nodeId = () => int(p.nodeId, 'nodeId', 0);
  switch (method) {
    case 'register':
      return { method, params: {
        nodeId: nodeId(), incarnationId: str(p.incarnationId, 'incarnationId'), host: str(p.host, 'host'), port: int(p.port, 'port', 0, 65535),
        rack: p.rack === null ? null : str(p.rack, 'rack'), internalHost: str(p.internalHost, 'internalHost'), internalPort: int(p.internalPort, 'internalPort', 0, 65535),
      } satisfies RegisterParams };
    case 'heartbeat':
      return { method, params: {
        nodeId: nodeId(), brokerEpoch: int(p.brokerEpoch, 'brokerEpoch', -1), metadataOffset: int(p.metadataOffset, 'metadataOffset', -1), wantFence: bool(p.wantFence, 'wantFence'),
        storageFull: p.storageFull === undefined ? false : bool(p.storageFull, 'storageFull'),
      } satisfies HeartbeatParams };
    case 'createTopic': {
      const r = object(p.request, 'request');
      const assignments = list(r.assignments, 'assignments').map((item, index) => {
        const entry = object(item, `assignments[${index}]`);
        return { partition: int(entry.partition, 'partition', 0), brokerIds: list(entry.brokerIds, 'brokerIds').map((id) => int(id, 'brokerId')) };
      });
      const request: CreateTopicRequest = {
        name: str(r.name, 'name', 249), numPartitions: int(r.numPartitions, 'numPartitions'), replicationFactor: int(r.replicationFactor, 'replicationFactor'),
        assignments, configs: configs(r.configs, 'configs'),
      };
      return { method, params: { request, validateOnly: bool(p.validateOnly, 'validateOnly') } };
    }
    case 'deleteTopic':
      return { method, params: { name: str(p.name, 'name', 249) } };
    case 'createPartitions':
      return { method, params: { name: str(p.name, 'name', 249), totalCount: int(p.totalCount, 'totalCount'), validateOnly: bool(p.validateOnly, 'validateOnly') } };
    case 'alterTopicConfigs': {
      const operations = list(p.operations, 'operations').map((item, index): AlterConfigOperation => {
        const entry = object(item, `operations[${index}]`);
        const op = str(entry.op, 'op');
        if (op !== 'set' && op !== 'delete' && op !== 'append' && op !== 'subtract') fail(`operations[${index}].op ${op} is unknown`);
        return { key: str(entry.key, 'key'), op, value: entry.value === null ? null : str(entry.value, 'value', 64 * 1024) };
      });
      return { method, params: { name: str(p.name, 'name', 249), operations, validateOnly: bool(p.validateOnly, 'validateOnly') } };
    }
    case 'allocateProducerIds':
      return { method, params: { nodeId: nodeId(), size: int(p.size, 'size', 1, 1_000_000) } };
    case 'electLeaders': {
      const type = str(p.type, 'type');
      if (type !== 'preferred' && type !== 'unclean') fail(`election type ${type} is unknown`);
      const topics = p.topics === null ? null : list(p.topics, 'topics').map((item, index): ElectLeadersTopic => {
        const entry = object(item, `topics[${index}]`);
        return { topic: str(entry.topic, 'topic', 249), partitions: list(entry.partitions, 'partitions').map((id) => int(id, 'partition')) };
      });
      return { method, params: { type, topics } };
    }
    case 'fetchMetadata':
      return { method, params: { fromOffset: int(p.fromOffset, 'fromOffset', 0), maxBytes: int(p.maxBytes, 'maxBytes', 1) } };
    default:
      return fail(`unknown method ${method}`);
  }
}

// ---- The calling side -------------------------------------------------------------------------

export class ControllerUnavailableError extends Error {
  override name = 'ControllerUnavailableError';
}

export interface ControllerRpcClientOptions {
  selfId: number;
  /** Links to every voter (none to this node itself). */
  links: ReadonlyMap<number, PeerLink>;
  voterIds: readonly number[];
  /** The leader this node believes in (Raft's view on a voter, the last fetch answer on an observer). */
  leaderHint(): number | null;
  /** Serves a request in-process when the target is this node. */
  local: ((request: unknown) => Promise<RpcAnswer<unknown>>) | null;
  logger: Logger;
  /** One attempt's timeout. */
  attemptTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ControllerRpcClient {
  private hint: number | null = null;
  private rotation = 0;
  private closed = false;

  constructor(private readonly options: ControllerRpcClientOptions) {}

  close(): void {
    this.closed = true;
  }

  /** Calls `method` on the active controller, following leader hints, until `timeoutMs` runs out. */
  async call<M extends ControllerMethod>(method: M, params: ControllerMethods[M]['params'], timeoutMs: number, target?: number): Promise<ControllerMethods[M]['result']> {
    const deadline = Date.now() + timeoutMs;
    let lastProblem = 'no voter answered';
    // Bounded: each round either waits or follows a hint, and the deadline ends it.
    for (let attempt = 0; attempt < 10_000 && !this.closed; attempt++) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) break;
      const to = target ?? this.pickTarget(attempt);
      try {
        const answer = await this.send(to, { method, params }, Math.min(remainingMs, this.options.attemptTimeoutMs ?? 5000));
        if (answer.ok) {
          if (target === undefined) this.hint = to;
          return answer.result as ControllerMethods[M]['result'];
        }
        if (answer.error === 'not-leader') {
          lastProblem = `node ${to} is not the active controller`;
          this.hint = answer.leaderId !== null && answer.leaderId !== to ? answer.leaderId : null;
          if (this.hint === null || target !== undefined) await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
          continue;
        }
        throw new Error(`controller rejected ${method}: ${answer.message}`);
      } catch (error) {
        if (!(error instanceof PeerUnavailableError)) throw error;
        lastProblem = error.message;
        if (this.hint === to) this.hint = null;
        await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
      }
    }
    throw new ControllerUnavailableError(`${method}: no active controller answered within ${timeoutMs} ms (${lastProblem})`);
  }

  private pickTarget(attempt: number): number {
    const raftHint = this.options.leaderHint();
    if (this.hint !== null) return this.hint;
    if (raftHint !== null && attempt % 2 === 0) return raftHint;
    const voters = this.options.voterIds;
    this.rotation = (this.rotation + 1) % voters.length;
    return voters[this.rotation]!;
  }

  private async send(to: number, request: unknown, timeoutMs: number): Promise<RpcAnswer<unknown>> {
    if (to === this.options.selfId) {
      if (!this.options.local) throw new PeerUnavailableError('this node serves no controller requests');
      return this.options.local(request);
    }
    const link = this.options.links.get(to);
    if (!link) throw new PeerUnavailableError(`node ${to} is not a voter`);
    const answer = await link.request(request, timeoutMs);
    // Another node's answer: trust its shape only after a look (a node of another version, a bug).
    if (typeof answer !== 'object' || answer === null || typeof (answer as { ok?: unknown }).ok !== 'boolean') {
      throw new PeerUnavailableError(`node ${to} sent a malformed answer`);
    }
    const failed = answer as { ok: boolean; error?: unknown; leaderId?: unknown };
    if (!failed.ok && failed.error === 'not-leader' && failed.leaderId !== null && !Number.isSafeInteger(failed.leaderId)) {
      throw new PeerUnavailableError(`node ${to} named an invalid leader`);
    }
    return answer as RpcAnswer<unknown>;
  }
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}
