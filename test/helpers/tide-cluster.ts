// Starts N real `tide start` processes on loopback as one cluster (every node a voter unless told
// otherwise), each with its own data dir and internal (controller) port; stops, kills and restarts
// single nodes by pid. A node keeps its internal (controller) and Kafka ports across restarts, so
// these are picked below the kernel's ephemeral port range (freePorts): an ephemeral port can be
// taken meanwhile as the local port of some outgoing connection (a client's, the fault proxy's),
// and the restarted node then fails with EADDRINUSE — a 30-minute fault run once stopped on that.
// Each port is checked by binding it, then released and handed to a node (a small race with other
// processes, acceptable on a test machine).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { makeTempDir, removeDir, startTide, stopTide, type TideProcess } from './tide-process.ts';
import { metricValue } from '../admin/http-client.ts';

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

/** Lowest port picked; below it are well-known and registered services' usual ports. */
const PICKED_PORT_MIN = 10_000;
const PICK_ATTEMPTS = 1000;

/** `count` distinct free loopback ports below the ephemeral range (see the top of this file). */
export async function freePorts(count: number): Promise<number[]> {
  const pickedPortMax = ephemeralPortRangeStart() - 1;
  const ports: number[] = [];
  // Bounded: each attempt tries one random port.
  for (let attempt = 0; ports.length < count && attempt < PICK_ATTEMPTS; attempt++) {
    const port = PICKED_PORT_MIN + Math.floor(Math.random() * (pickedPortMax - PICKED_PORT_MIN + 1));
    if (!ports.includes(port) && (await canListen(port))) ports.push(port);
  }
  if (ports.length < count) throw new Error(`found only ${ports.length} of ${count} free ports in ${PICKED_PORT_MIN}-${pickedPortMax}`);
  return ports;
}

function ephemeralPortRangeStart(): number {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(start) && start > PICKED_PORT_MIN + 1000) return start;
  } catch {
    // Not Linux: fall back to the IANA dynamic range's start.
  }
  return 49_152;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
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
  const kafkaPort = previousKafkaPort ?? (await freePorts(1))[0]!;
  const started = await startTide({ dataDir: node.dataDir, kafkaPort, args, startTimeoutMs: 30_000, ...(node.env ? { env: node.env } : {}) });
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

/** One node's value of a metric from its /metrics, all label sets summed (0 when absent). */
export async function nodeMetric(cluster: TideCluster, nodeId: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${cluster.nodes.get(nodeId)!.process!.httpPort}/metrics`)).text();
  return metricValue(text, name) ?? 0;
}

/** The sum of nodeMetric over the running nodes. */
export async function metricSum(cluster: TideCluster, name: string): Promise<number> {
  let sum = 0;
  for (const node of liveNodes(cluster)) sum += await nodeMetric(cluster, node.nodeId, name);
  return sum;
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
