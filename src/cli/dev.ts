// `tide dev --nodes 3`: a local cluster for trying Tide's failover. Starts N `tide start` child
// processes on loopback, every one a controller voter and a broker, each with its own data dir
// (<data-dir>/node-N) and log file (<data-dir>/node-N.log); prints every node's addresses and pid;
// on Ctrl-C / SIGTERM stops them all (SIGTERM, then SIGKILL after a grace period). A node that
// dies meanwhile is reported and the others keep running, so failover can be watched.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { DataDirDamagedError, readMeta, type DataDirIdentity } from '../server/data-dir.ts';
import { CliError } from './cli-error.ts';
import { parseInteger } from './command-kit.ts';
import { TIDE_NODE_FLAGS } from './node-flags.ts';

const tideBin = resolve(import.meta.dirname, '..', '..', 'bin', 'tide.js');
const nodesMax = 9;
const readyTimeoutMs = 60_000;
const stopGraceMs = 20_000;

const help = `usage: tide dev [--nodes N] [--data-dir DIR] [--base-port P] [--KEY VALUE ...]

Starts a local Tide cluster of N nodes (default 3) as child processes on 127.0.0.1; every node
is a controller voter and a broker. Ctrl-C stops them all.

options:
  --nodes N         nodes to start, 1 to ${nodesMax} (default 3)
  --data-dir DIR    where node-1, node-2 ... keep their data and logs (default ./tide-dev); a
                    directory that holds a dev cluster restarts it with its data (same --nodes)
  --base-port P     node i listens for Kafka on P+i-1, for controllers on P+100+i-1 and for
                    HTTP on P+200+i-1 (default 9092); 0 picks free ports
  --preset NAME     HA preset of the cluster (docs/high-availability.md): single, multi-master,
                    async-replica or sync-replica (default: sync-replica for 3+ nodes,
                    async-replica for 2, single for 1)
  --KEY VALUE       any configuration key, passed to every node (see docs/configuration.md)`;

interface DevNode {
  nodeId: number;
  kafkaPort: number;
  httpPort: number;
  controllerPort: number;
  dataDir: string;
  logPath: string;
  child: ChildProcess | null;
  exited: boolean;
}

export async function run(args: string[]): Promise<number> {
  let nodeCount = 3;
  let dataDir = './tide-dev';
  let basePort = 9092;
  let preset: string | null = null;
  const passThrough: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(help + '\n');
      return 0;
    }
    if (!arg.startsWith('--')) throw new CliError(`unexpected argument "${arg}" (see tide dev --help)`);
    const equals = arg.indexOf('=');
    const name = arg.slice(2, equals === -1 ? undefined : equals);
    const value = equals === -1 ? args[++index] : arg.slice(equals + 1);
    if (value === undefined) throw new CliError(`option --${name} needs a value`);
    if (name === 'nodes') nodeCount = parseInteger(value, '--nodes', 1, nodesMax);
    else if (name === 'data-dir') dataDir = value;
    else if (name === 'preset') preset = value;
    else if (name === 'base-port') basePort = parseInteger(value, '--base-port', 0, 65535 - 200 - nodesMax);
    else if (['node-id', 'controllers', 'controller-listen', 'listen', 'http', 'cluster.id'].includes(name)) throw new CliError(`--${name} is set by tide dev for each node`);
    else passThrough.push(`--${name}`, value);
  }

  // The seeds' point of a local cluster is watching failover lose nothing, hence sync-replica; fewer
  // nodes get the strongest preset they can satisfy (sync-replica needs 2 in-sync replicas).
  passThrough.push('--preset', preset ?? defaultPreset(nodeCount));

  const root = resolve(dataDir);
  mkdirSync(root, { recursive: true });
  const ephemeral = basePort === 0;
  const controllerPorts = ephemeral ? await freePorts(nodeCount) : Array.from({ length: nodeCount }, (_, index) => basePort + 100 + index);
  const nodes: DevNode[] = Array.from({ length: nodeCount }, (_, index) => ({
    nodeId: index + 1,
    kafkaPort: ephemeral ? 0 : basePort + index,
    httpPort: ephemeral ? 0 : basePort + 200 + index,
    controllerPort: controllerPorts[index]!,
    dataDir: join(root, `node-${index + 1}`),
    logPath: join(root, `node-${index + 1}.log`),
    child: null,
    exited: false,
  }));
  const voters = nodes.map((node) => `${node.nodeId}@127.0.0.1:${node.controllerPort}`).join(',');
  // One cluster id for all, so every data dir's meta.properties agrees with the metadata log; a
  // data dir that already holds a dev cluster restarts that one.
  const clusterId = existingClusterId(root, nodeCount) ?? randomUUID().replace(/-/g, '').slice(0, 22);

  let stopping = false;
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolveFinished) => { finish = resolveFinished; });
  const stopAll = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${reason}: stopping ${nodes.filter((node) => node.child && !node.exited).length} node(s)\n`);
    await Promise.all(nodes.map((node) => stopChild(node)));
    process.stdout.write('all nodes stopped\n');
    finish(0);
  };
  process.on('SIGINT', () => void stopAll('SIGINT'));
  process.on('SIGTERM', () => void stopAll('SIGTERM'));

  const readiness = nodes.map((node) => startChild(node, voters, clusterId, passThrough, () => stopping));
  const results = await Promise.allSettled(readiness);
  if (stopping) return finished;
  const failed = results.filter((result) => result.status === 'rejected');
  if (failed.length > 0) {
    for (const failure of failed) process.stderr.write(`tide dev: ${(failure as PromiseRejectedResult).reason instanceof Error ? ((failure as PromiseRejectedResult).reason as Error).message : String((failure as PromiseRejectedResult).reason)}\n`);
    await stopAll('start-up failed');
    await finished;
    return 1;
  }
  process.stdout.write(`\nTide dev cluster of ${nodeCount} node(s) ready; data and logs in ${root}\n`);
  process.stdout.write(`bootstrap: ${nodes.map((node) => `127.0.0.1:${node.kafkaPort}`).join(',')}\n`);
  process.stdout.write('Try: tide cluster info --bootstrap 127.0.0.1:' + nodes[0]!.kafkaPort + '   Stop with Ctrl-C.\n');
  return finished;
}

/**
 * The cluster id of the dev cluster kept in `root`, or null when it holds none. Its voters are
 * node 1..N, fixed at its first start: starting it with another N would give its metadata quorum
 * another voter set, so that is refused.
 */
function existingClusterId(root: string, nodeCount: number): string | null {
  const formatted = readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^node-\d+$/.test(entry.name))
    .map((entry) => ({ dir: entry.name, meta: readDevMeta(join(root, entry.name)) }))
    .filter((node): node is { dir: string; meta: DataDirIdentity } => node.meta !== null)
    .sort((a, b) => a.meta.nodeId - b.meta.nodeId);
  if (formatted.length === 0) return null;
  const clusterIds = new Set(formatted.map((node) => node.meta.clusterId));
  if (clusterIds.size > 1) {
    throw new CliError(`${root} holds nodes of ${clusterIds.size} different clusters (${[...clusterIds].join(', ')}); remove it or choose another --data-dir`, 1);
  }
  const ids = formatted.map((node) => node.meta.nodeId);
  const whole = ids.every((id, index) => id === index + 1);
  if (!whole || ids.length !== nodeCount) {
    const restart = whole ? `restart it with --nodes ${ids.length}, or ` : '';
    throw new CliError(`${root} holds a dev cluster of ${formatted.map((node) => node.dir).join(', ')}; ${restart}remove it or choose another --data-dir for a new cluster`, 1);
  }
  return formatted[0]!.meta.clusterId;
}

function startChild(node: DevNode, voters: string, clusterId: string, passThrough: string[], stopping: () => boolean): Promise<void> {
  mkdirSync(node.dataDir, { recursive: true });
  const args = [
    ...TIDE_NODE_FLAGS,
    tideBin, 'start',
    '--node-id', String(node.nodeId),
    '--data-dir', node.dataDir,
    '--listen', `127.0.0.1:${node.kafkaPort}`,
    '--http', `127.0.0.1:${node.httpPort}`,
    '--controllers', voters,
    '--controller-listen', `127.0.0.1:${node.controllerPort}`,
    '--cluster.id', clusterId,
    ...passThrough,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  node.child = child;
  const log = createWriteStream(node.logPath, { flags: 'a' });
  child.stderr!.pipe(log);
  return new Promise<void>((resolveReady, reject) => {
    let output = '';
    let ready = false;
    const timer = setTimeout(() => reject(new Error(`node ${node.nodeId} did not start within ${readyTimeoutMs} ms; see ${node.logPath}`)), readyTimeoutMs);
    timer.unref();
    child.stdout!.on('data', (chunk: Buffer) => {
      if (ready) return;
      output = (output + chunk.toString()).slice(-64 * 1024);
      const match = /kafka=([^\s]+) http=([^\s]+)/.exec(output);
      if (!match) return;
      ready = true;
      clearTimeout(timer);
      const kafkaPort = Number(match[1]!.split(':').pop());
      node.kafkaPort = kafkaPort;
      node.httpPort = Number(match[2]!.split(':').pop());
      process.stdout.write(`node ${node.nodeId} ready: kafka=${match[1]} http=${match[2]} controller=127.0.0.1:${node.controllerPort} pid=${child.pid} log=${node.logPath}\n`);
      resolveReady();
    });
    child.once('exit', (code, signal) => {
      node.exited = true;
      clearTimeout(timer);
      if (!ready) reject(new Error(`node ${node.nodeId} exited during start-up (code ${code}, signal ${signal}); see ${node.logPath}`));
      else if (!stopping()) process.stdout.write(`node ${node.nodeId} (pid ${child.pid}) exited unexpectedly (code ${code}, signal ${signal}); the other nodes keep running\n`);
    });
  });
}

async function stopChild(node: DevNode): Promise<void> {
  const child = node.child;
  if (!child || node.exited) return;
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
  await exited;
  clearTimeout(timer);
}

export function defaultPreset(nodeCount: number): string {
  if (nodeCount >= 3) return 'sync-replica';
  return nodeCount === 2 ? 'async-replica' : 'single';
}

/** Ports that were free a moment ago (bound to port 0, then released). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolveServer, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveServer(server));
  })));
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolveClose) => server.close(() => resolveClose()))));
  return ports;
}

function readDevMeta(dataDir: string): DataDirIdentity | null {
  try {
    return readMeta(dataDir);
  } catch (error) {
    if (error instanceof DataDirDamagedError) throw new CliError(error.message, 1);
    throw error;
  }
}
