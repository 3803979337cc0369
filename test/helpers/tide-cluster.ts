// Starts N real `tide start` processes on loopback as one cluster (every node a voter unless told
// otherwise), each with its own data dir and internal (controller) port; stops, kills and restarts
// single nodes by pid. Internal ports are found by binding port 0 first, then released and handed
// to the nodes (a small race with other processes, acceptable on a test machine).
import { createServer } from 'node:net';
import { makeTempDir, removeDir, startTide, stopTide, type TideProcess } from './tide-process.ts';

export interface ClusterNode {
  nodeId: number;
  dataDir: string;
  controllerPort: number;
  voter: boolean;
  process: TideProcess | null;
  /** Extra environment for this node's next start (e.g. a TIDE_TEST_* hook). */
  env?: Record<string, string>;
}

export interface TideCluster {
  nodes: Map<number, ClusterNode>;
  voters: string;
  extraArgs: string[];
  baseDir: string;
}

export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<import('node:net').Server>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

export interface StartClusterOptions {
  /** Runs once the data dir paths are chosen, before any node starts (e.g. to mount a small tmpfs on one). */
  beforeStart?(cluster: TideCluster): void | Promise<void>;
}

/** Starts `voterCount` voters with ids 1..voterCount, all at once. */
export async function startCluster(voterCount: number, extraArgs: string[] = [], options: StartClusterOptions = {}): Promise<TideCluster> {
  const baseDir = await makeTempDir('tide-cluster-');
  const ports = await freePorts(voterCount);
  const voters = ports.map((port, index) => `${index + 1}@127.0.0.1:${port}`).join(',');
  const cluster: TideCluster = { nodes: new Map(), voters, extraArgs, baseDir };
  for (let index = 0; index < voterCount; index++) {
    const nodeId = index + 1;
    cluster.nodes.set(nodeId, { nodeId, dataDir: `${baseDir}/node-${nodeId}`, controllerPort: ports[index]!, voter: true, process: null });
  }
  try {
    await options.beforeStart?.(cluster);
    await Promise.all([...cluster.nodes.values()].map((node) => startNode(cluster, node.nodeId)));
  } catch (error) {
    // Kept for the logs (<baseDir>/node-N.log); the message says where.
    await stopCluster(cluster, true);
    throw new Error(`cluster did not start (logs in ${baseDir}): ${(error as Error).message}`);
  }
  return cluster;
}

/** Adds a node that is not in the voter list (an observer). */
export async function addObserver(cluster: TideCluster, nodeId: number): Promise<ClusterNode> {
  const node: ClusterNode = { nodeId, dataDir: `${cluster.baseDir}/node-${nodeId}`, controllerPort: 0, voter: false, process: null };
  cluster.nodes.set(nodeId, node);
  await startNode(cluster, nodeId);
  return node;
}

/** Starts (or restarts, from the same data dir and on the same Kafka port) node `nodeId`. */
export async function startNode(cluster: TideCluster, nodeId: number): Promise<TideProcess> {
  const node = cluster.nodes.get(nodeId)!;
  const previousKafkaPort = node.process?.kafkaPort;
  const args = ['--node-id', String(nodeId), '--controllers', cluster.voters, ...cluster.extraArgs];
  if (node.voter) args.push('--controller-listen', `127.0.0.1:${node.controllerPort}`);
  const started = await startTide({ dataDir: node.dataDir, kafkaPort: previousKafkaPort ?? 0, args, startTimeoutMs: 30_000, ...(node.env ? { env: node.env } : {}) });
  node.process = started;
  return started;
}

export async function killNode(cluster: TideCluster, nodeId: number): Promise<void> {
  const node = cluster.nodes.get(nodeId)!;
  if (node.process) await stopTide(node.process, 'SIGKILL');
}

export async function stopNode(cluster: TideCluster, nodeId: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const node = cluster.nodes.get(nodeId)!;
  return stopTide(node.process!, 'SIGTERM', 20_000);
}

export function bootstrapOf(cluster: TideCluster, nodeId: number): string {
  return cluster.nodes.get(nodeId)!.process!.bootstrap;
}

/** The nodes whose process is running. */
export function liveNodes(cluster: TideCluster): ClusterNode[] {
  return [...cluster.nodes.values()].filter((node) => node.process && node.process.child.exitCode === null && node.process.child.signalCode === null);
}

export async function stopCluster(cluster: TideCluster, keepData = false): Promise<void> {
  // A node a test paused with SIGSTOP must run again to handle SIGTERM.
  for (const node of liveNodes(cluster)) node.process!.child.kill('SIGCONT');
  await Promise.all(liveNodes(cluster).map((node) => stopTide(node.process!, 'SIGTERM', 20_000)));
  if (!keepData) await removeDir(cluster.baseDir);
}

/** Calls `probe` every `intervalMs` until it returns a value that is not undefined; throws with the last problem after `timeoutMs`. */
export async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no attempt made';
  for (let attempt = 0; attempt < 100_000; attempt++) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastProblem = 'condition not met';
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms (${lastProblem})`);
}
