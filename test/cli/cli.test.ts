// Proves the `tide` CLI works end to end against a real node, run as a user would run it
// (`node bin/tide.js ...` in a child process): topic create/list/describe/alter-config/
// add-partitions/delete with --json output, "already exists" and connection-refused errors with
// non-zero exit codes, 1,000 keyed records with headers produced under gzip and zstd and consumed
// back with --format, cluster info/health, and consumer-group membership, describe with lag,
// offset reset (refused while the group has members) and delete.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { removeDir, startTide, stopTide, tideBin, type TideProcess } from '../helpers/tide-process.ts';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let node: TideProcess;

function startCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [tideBin, ...args], {
    env: { ...process.env, TIDE_BOOTSTRAP: node.bootstrap, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

function collect(child: ChildProcess, input?: string): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.end(input ?? '');
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

function tide(args: string[], input?: string, env?: Record<string, string>): Promise<CliResult> {
  return collect(startCli(args, env), input);
}

async function tideOk(args: string[], input?: string): Promise<CliResult> {
  const result = await tide(args, input);
  assert.equal(result.code, 0, `tide ${args.join(' ')} failed: ${result.stderr}`);
  return result;
}

async function tideJson<T = any>(args: string[]): Promise<T> {
  return JSON.parse((await tideOk([...args, '--json'])).stdout) as T;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

before(async () => {
  // Groups form without the default 3 s wait for more members, which keeps this file short.
  node = await startTide({ args: ['--group.initial.rebalance.delay.ms', '300'] });
});

after(async () => {
  await stopTide(node);
  await removeDir(node.dataDir);
});

describe('tide topic', () => {
  test('create, list, describe, alter-config, add-partitions and delete', async () => {
    const created = await tideJson(['topic', 'create', 'orders', '--partitions', '3', '--config', 'retention.ms=86400000']);
    assert.deepEqual({ name: created.name, partitions: created.partitions }, { name: 'orders', partitions: 3 });

    const again = await tide(['topic', 'create', 'orders']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /^tide: topic orders already exists/);
    assert.equal(again.stderr.trim().split('\n').length, 1, 'an error is one line');

    const listed = await tideJson<Array<{ name: string; partitions: number }>>(['topic', 'list']);
    assert.deepEqual(listed.find((t) => t.name === 'orders')?.partitions, 3);

    const described = await tideJson(['topic', 'describe', 'orders']);
    assert.equal(described.partitions.length, 3);
    for (const partition of described.partitions) {
      assert.equal(partition.leader, 1);
      assert.deepEqual(partition.replicas, [1]);
      assert.deepEqual(partition.isr, [1]);
      assert.equal(partition.logStartOffset, 0);
      assert.equal(partition.highWatermark, 0);
    }
    assert.equal(described.configs['retention.ms'], '86400000');

    await tideOk(['topic', 'alter-config', 'orders', '--set', 'retention.ms=3600000', '--set', 'max.message.bytes=2000000']);
    const altered = await tideJson(['topic', 'describe', 'orders']);
    assert.equal(altered.configs['retention.ms'], '3600000');
    assert.equal(altered.configs['max.message.bytes'], '2000000');
    await tideOk(['topic', 'alter-config', 'orders', '--delete', 'max.message.bytes']);
    const text = (await tideOk(['topic', 'describe', 'orders'])).stdout;
    assert.match(text, /retention\.ms=3600000/);
    assert.doesNotMatch(text, /max\.message\.bytes/, 'a deleted config is back to the default, which is not listed');

    await tideOk(['topic', 'add-partitions', 'orders', '--count', '5']);
    assert.equal((await tideJson(['topic', 'describe', 'orders'])).partitions.length, 5);

    await tideOk(['topic', 'delete', 'orders']);
    const afterDelete = await tideJson<Array<{ name: string }>>(['topic', 'list']);
    assert.equal(afterDelete.some((t) => t.name === 'orders'), false);
    const missing = await tide(['topic', 'describe', 'orders']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /topic orders does not exist/);
  });

  test('usage mistakes are one-line errors with a non-zero exit code', async () => {
    const badCount = await tide(['topic', 'create', 'x', '--partitions', 'many']);
    assert.equal(badCount.code, 2);
    assert.match(badCount.stderr, /^tide: --partitions must be a whole number/);
    const unknown = await tide(['topic', 'frobnicate']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown action "topic frobnicate"/);
    const help = await tideOk(['topic', 'create', '--help']);
    assert.match(help.stdout, /--replication-factor/);
  });
});

describe('tide produce and consume', () => {
  test('1,000 keyed records with headers round-trip under gzip and under zstd', async () => {
    await Promise.all(['gzip', 'zstd'].map(async (compression) => {
      const topic = `events-${compression}`;
      await tideOk(['topic', 'create', topic, '--partitions', '3']);
      const lines = Array.from({ length: 1000 }, (_, index) => `user-${index % 17}:payload ${index} ✓`);
      const produced = await tideOk(
        ['produce', topic, '--key-separator', ':', '--header', 'source=cli-test', '--header', 'codec=' + compression, '--compression', compression, '--acks', 'all'],
        lines.join('\n') + '\n',
      );
      assert.match(produced.stderr, /produced 1000 records/);

      const consumed = await tideOk(['consume', topic, '--from-beginning', '--count', '1000', '--format', '%k|%v|%h|%p|%o']);
      const out = consumed.stdout.trimEnd().split('\n');
      assert.equal(out.length, 1000);
      const partitionOfKey = new Map<string, string>();
      const seenOffsets = new Set<string>();
      const values: string[] = [];
      for (const line of out) {
        const [key, value, headers, partition, offset] = line.split('|');
        assert.equal(headers, `source=cli-test,codec=${compression}`);
        const index = Number(/payload (\d+)/.exec(value!)![1]);
        assert.equal(key, `user-${index % 17}`);
        // Same key, same partition (the default partitioner).
        assert.equal(partitionOfKey.get(key!) ?? partition, partition);
        partitionOfKey.set(key!, partition!);
        seenOffsets.add(`${partition}/${offset}`);
        values.push(value!);
      }
      assert.equal(seenOffsets.size, 1000);
      assert.deepEqual(values.sort(), lines.map((line) => line.slice(line.indexOf(':') + 1)).sort());

      const described = await tideJson(['topic', 'describe', topic]);
      const total = described.partitions.reduce((sum: number, p: { highWatermark: number }) => sum + p.highWatermark, 0);
      assert.equal(total, 1000);
    }));
  });

  test('consume --partition --offset --json and --exit-at-end', async () => {
    await tideOk(['topic', 'create', 'small', '--partitions', '1']);
    await tideOk(['produce', 'small', '--key', 'k', '--partition', '0'], 'a\nb\nc\nd\n');
    const records = (await tideOk(['consume', 'small', '--partition', '0', '--offset', '2', '--exit-at-end', '--json'])).stdout
      .trimEnd().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(records.map((r) => [r.offset, r.key, r.value]), [[2, 'k', 'c'], [3, 'k', 'd']]);
  });
});

describe('tide cluster', () => {
  test('info names the cluster, controller and broker', async () => {
    const info = await tideJson(['cluster', 'info']);
    assert.ok(typeof info.clusterId === 'string' && info.clusterId.length > 0);
    assert.equal(info.controllerId, 1);
    assert.deepEqual(info.brokers.map((b: { nodeId: number; port: number }) => [b.nodeId, b.port]), [[1, node.kafkaPort]]);
  });

  test('health is 0 on a healthy node, with /readyz checked', async () => {
    const result = await tide(['cluster', 'health', '--http', `127.0.0.1:${node.httpPort}`, '--json']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.healthy, true);
    assert.deepEqual(report.problems, []);
    assert.equal(report.readyz.status, 200);
  });

  test('health is 1 when /readyz cannot be reached', async () => {
    const port = await closedPort();
    const result = await tide(['cluster', 'health', '--http', `127.0.0.1:${port}`]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /UNHEALTHY/);
    assert.match(result.stdout, /readyz/);
  });
});

describe('tide without a broker', () => {
  test('connection refused says Tide is not running and how to start it', async () => {
    const port = await closedPort();
    const result = await tide(['topic', 'list', '--bootstrap', `127.0.0.1:${port}`]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `tide: no broker at 127.0.0.1:${port} — is Tide running? (start it with npm start)\n`);
    const fromEnv = await tide(['cluster', 'info'], undefined, { TIDE_BOOTSTRAP: `127.0.0.1:${port}` });
    assert.match(fromEnv.stderr, new RegExp(`no broker at 127\\.0\\.0\\.1:${port}`));
  });
});

describe('tide group', () => {
  test('consume with a group commits; describe shows lag; reset is refused while a member is active; delete', async () => {
    await tideOk(['topic', 'create', 'jobs', '--partitions', '2']);
    const lines = Array.from({ length: 100 }, (_, index) => `job ${index}`);
    await tideOk(['produce', 'jobs'], lines.join('\n') + '\n');

    const first = await tideOk(['consume', 'jobs', '--group', 'workers', '--from-beginning', '--count', '60']);
    assert.equal(first.stdout.trimEnd().split('\n').length, 60);
    const groups = await tideJson<Array<{ groupId: string; state: string }>>(['group', 'list']);
    assert.deepEqual(groups.find((g) => g.groupId === 'workers')?.state, 'Empty');
    const view = await tideJson(['group', 'describe', 'workers']);
    const lag = view.offsets.reduce((sum: number, o: { lag: number }) => sum + o.lag, 0);
    const committed = view.offsets.reduce((sum: number, o: { committedOffset: number }) => sum + o.committedOffset, 0);
    assert.equal(committed, 60);
    assert.equal(lag, 40);

    // The second run resumes where the first committed.
    const rest = await tideOk(['consume', 'jobs', '--group', 'workers', '--exit-at-end']);
    const seen = [...first.stdout.trimEnd().split('\n'), ...rest.stdout.trimEnd().split('\n')];
    assert.deepEqual(seen.sort(), [...lines].sort());

    // A member that stays: reset must be refused until it leaves.
    const follower = startCli(['consume', 'jobs', '--group', 'workers']);
    const followerDone = collect(follower);
    let members = 0;
    for (let attempt = 0; attempt < 40 && members === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      members = (await tideJson(['group', 'describe', 'workers'])).members.length;
    }
    assert.equal(members, 1);
    const refused = await tide(['group', 'reset-offsets', 'workers', '--topic', 'jobs', '--to-earliest']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /group workers has 1 active member.*stop its consumers/);
    follower.kill('SIGINT');
    assert.equal((await followerDone).code, 0);

    const reset = await tideJson(['group', 'reset-offsets', 'workers', '--topic', 'jobs', '--to-earliest']);
    assert.deepEqual(reset.offsets.map((o: { offset: number }) => o.offset), [0, 0]);
    const afterReset = await tideJson(['group', 'describe', 'workers']);
    assert.equal(afterReset.offsets.reduce((sum: number, o: { lag: number }) => sum + o.lag, 0), 100);

    await tideOk(['group', 'delete', 'workers']);
    const gone = await tide(['group', 'describe', 'workers']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /group workers does not exist/);
  });
});
