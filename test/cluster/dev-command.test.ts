// Proves `tide dev --nodes 3` starts a working local cluster as a new user would run it: it prints
// every node's Kafka address and pid, the nodes form one cluster (three brokers, one controller),
// a topic created through one node is seen by the others, `tide cluster info --http` shows the
// quorum (active controller, term, voters), and SIGTERM to the dev process stops
// every child process before it exits 0. Run again on the same data dir, it restarts that cluster
// with its data; with another node count it refuses and says what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { withClient } from '../../src/cli/client/tide-client.ts';
import { createTopicsCodec } from '../../src/protocol/messages/create-topics.ts';
import { eventually } from '../helpers/tide-cluster.ts';
import { makeTempDir, removeDir, tideBin } from '../helpers/tide-process.ts';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface DevRun {
  process: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

function startDev(dataDir: string, nodeCount: number): DevRun {
  const dev = spawn(process.execPath, [tideBin, 'dev', '--nodes', String(nodeCount), '--base-port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => dev.once('exit', (code, signal) => resolve({ code, signal })));
  let output = '';
  dev.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  dev.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  return { process: dev, exited, output: () => output };
}

async function readyNodes(dev: DevRun): Promise<Array<{ nodeId: number; bootstrap: string; http: string; pid: number }>> {
  await eventually('tide dev prints the cluster as ready', 60_000, async () => (/bootstrap: /.test(dev.output()) ? true : undefined), 100);
  return [...dev.output().matchAll(/node (\d) ready: kafka=127\.0\.0\.1:(\d+) http=http:\/\/(127\.0\.0\.1:\d+) .* pid=(\d+)/g)]
    .map((match) => ({ nodeId: Number(match[1]), bootstrap: `127.0.0.1:${match[2]}`, http: match[3]!, pid: Number(match[4]) }))
    .sort((a, b) => a.nodeId - b.nodeId);
}

async function tide(args: string[], input?: string): Promise<string> {
  const child = execFile(process.execPath, [tideBin, ...args], { timeout: 60_000 });
  if (input !== undefined) child.stdin!.end(input);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, `tide ${args.join(' ')}: ${stderr}`);
  return stdout;
}

async function stopDev(dev: DevRun, pids: number[]): Promise<void> {
  if (dev.process.exitCode === null && dev.process.signalCode === null) {
    dev.process.kill('SIGKILL');
    await dev.exited;
  }
  for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

test('tide dev --nodes 3 runs a cluster, SIGTERM stops every node, and running it again restarts it with its data', async () => {
  const dataDir = await makeTempDir('tide-dev-');
  let dev = startDev(dataDir, 3);
  let pids: number[] = [];
  try {
    const nodes = await readyNodes(dev);
    const output = dev.output();
    assert.deepEqual(nodes.map((node) => node.nodeId), [1, 2, 3], output);
    pids = nodes.map((node) => node.pid);
    for (const pid of pids) assert.ok(isAlive(pid), `node pid ${pid} runs`);

    await eventually('three brokers and one controller everywhere', 30_000, async () => {
      const views = await Promise.all(nodes.map((node) => withClient(node.bootstrap, (client) => client.metadata(null))));
      return views.every((view) => view.brokers.length === 3 && view.controllerId > 0 && view.controllerId === views[0]!.controllerId) ? true : undefined;
    });
    const created = await withClient(nodes[2]!.bootstrap, async (client) => (await client.bootstrap.send(createTopicsCodec, {
      topics: [{ name: 'dev-topic', numPartitions: 3, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false,
    })).body.topics[0]!);
    assert.equal(created.errorCode, 0, created.errorMessage ?? '');
    const seen = await eventually('node 1 sees the topic', 10_000, async () => {
      const view = await withClient(nodes[0]!.bootstrap, (client) => client.metadata(['dev-topic']));
      return view.topics[0]?.errorCode === 0 ? view.topics[0] : undefined;
    });
    assert.equal(seen.partitions.length, 3);

    // The node learns it is unfenced from its next heartbeat answer, a moment after the others see it.
    const info = await eventually('tide cluster info shows node 2 active', 10_000, async () => {
      const result = await promisify(execFile)(process.execPath, [tideBin, 'cluster', 'info', '--bootstrap', nodes[1]!.bootstrap, '--http', nodes[1]!.http]);
      return /broker active/.test(result.stdout) ? result : undefined;
    });
    assert.match(info.stdout, /quorum: active controller [123], term \d+, voters 1@127\.0\.0\.1:\d+,2@127\.0\.0\.1:\d+,3@127\.0\.0\.1:\d+/, info.stdout);
    assert.match(info.stdout, /node 2: voter, metadata applied to offset \d+, broker active/, info.stdout);

    await tide(['produce', 'dev-topic', '--partition', '1', '--bootstrap', nodes[0]!.bootstrap], 'before-restart\n');

    dev.process.kill('SIGTERM');
    const result = await dev.exited;
    assert.equal(result.code, 0, dev.output());
    for (const pid of pids) assert.equal(isAlive(pid), false, `node pid ${pid} stopped with tide dev`);
    assert.match(dev.output(), /all nodes stopped/);

    // Another node count would give the metadata quorum other voters: refused, nothing started.
    const wrongCount = startDev(dataDir, 2);
    assert.equal((await wrongCount.exited).code, 1, wrongCount.output());
    assert.match(wrongCount.output(), /holds a dev cluster of node-1, node-2, node-3; restart it with --nodes 3/);
    assert.doesNotMatch(wrongCount.output(), /ready:/);

    dev = startDev(dataDir, 3);
    const restarted = await readyNodes(dev);
    pids = restarted.map((node) => node.pid);
    assert.deepEqual(restarted.map((node) => node.nodeId), [1, 2, 3], dev.output());
    const read = await eventually('the record written before the restart is read back', 30_000, async () => {
      const text = await tide(['consume', 'dev-topic', '--partition', '1', '--offset', '0', '--count', '1', '--idle-timeout-ms', '5000', '--bootstrap', restarted[1]!.bootstrap]).catch(() => undefined);
      return text?.trim() === 'before-restart' ? text : undefined;
    }, 500);
    assert.equal(read.trim(), 'before-restart');
    dev.process.kill('SIGTERM');
    assert.equal((await dev.exited).code, 0, dev.output());
  } finally {
    await stopDev(dev, pids);
    await removeDir(dataDir);
  }
});
