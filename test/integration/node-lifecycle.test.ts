// Proves `tide start` behaves as documented: one ready line with its addresses, /healthz and
// /readyz on the HTTP port, a second process on the same data dir refused with a clear message, a
// data dir of another node or cluster refused saying what to do,
// bad configuration refused naming the key, and SIGTERM/SIGINT exit 0 promptly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeDir, startTide, stopTide, tideBin } from '../helpers/tide-process.ts';

test('ready line, health endpoints, data-dir lock and clean SIGTERM', async () => {
  const node = await startTide();
  try {
    const health = await fetch(`http://127.0.0.1:${node.httpPort}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`http://127.0.0.1:${node.httpPort}/readyz`);
    assert.equal(ready.status, 200);
    const missing = await fetch(`http://127.0.0.1:${node.httpPort}/no-such-thing`);
    assert.equal(missing.status, 404);
    assert.match((await missing.json() as { error: string }).error, /no such resource/);
    assert.match(readFileSync(join(node.dataDir, 'meta.properties'), 'utf8'), /node\.id=1/);

    const second = spawnSync(process.execPath, [tideBin, 'start', '--data-dir', node.dataDir, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0'], { encoding: 'utf8', timeout: 20000 });
    assert.notEqual(second.status, 0);
    assert.match(second.stderr, /in use by another Tide process \(pid \d+\)/);
  } finally {
    const exit = await stopTide(node, 'SIGTERM');
    assert.equal(exit.code, 0);
    assert.ok(!existsSync(join(node.dataDir, '.lock')), 'lock released on clean exit');
    await removeDir(node.dataDir);
  }
});

test('SIGINT also stops the node with exit 0', async () => {
  const node = await startTide();
  const exit = await stopTide(node, 'SIGINT');
  assert.equal(exit.code, 0);
  await removeDir(node.dataDir);
});

test('a data dir formatted for another node or cluster is refused with one line saying what to do', async () => {
  const dataDir = await makeTempDir();
  try {
    writeFileSync(join(dataDir, 'meta.properties'), 'version=1\nnode.id=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\n');
    const cases: Array<[string[], RegExp]> = [
      [['--cluster.id', 'BBBBBBBBBBBBBBBBBBBBBB'], /belongs to cluster AAAAAAAAAAAAAAAAAAAAAA, not BBBBBBBBBBBBBBBBBBBBBB; start with --cluster\.id AAAAAAAAAAAAAAAAAAAAAA or use another --data-dir/],
      [['--node-id', '2'], /belongs to node 1, not node 2; start with --node-id 1 or use another --data-dir/],
    ];
    for (const [args, expected] of cases) {
      const result = spawnSync(process.execPath, [tideBin, 'start', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', ...args], { encoding: 'utf8', timeout: 20000 });
      assert.equal(result.status, 1, `exit code for ${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, expected);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.equal(readFileSync(join(dataDir, 'meta.properties'), 'utf8'), 'version=1\nnode.id=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\n', 'meta.properties untouched');
  } finally {
    await removeDir(dataDir);
  }
});

test('a damaged meta.properties is refused by tide start and tide dev with one line saying what to do', async () => {
  const dataDir = await makeTempDir();
  try {
    const devRoot = join(dataDir, 'dev');
    mkdirSync(join(devRoot, 'node-1'), { recursive: true });
    for (const content of ['garbage words here\n', 'version=1\nnode.id=1\n', 'version=1\nnode.id=x\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\n']) {
      writeFileSync(join(dataDir, 'meta.properties'), content);
      writeFileSync(join(devRoot, 'node-1', 'meta.properties'), content);
      const runs = [
        spawnSync(process.execPath, [tideBin, 'start', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0'], { encoding: 'utf8', timeout: 20000 }),
        spawnSync(process.execPath, [tideBin, 'dev', '--nodes', '1', '--data-dir', devRoot, '--base-port', '0'], { encoding: 'utf8', timeout: 20000 }),
      ];
      for (const result of runs) {
        assert.equal(result.status, 1, `exit code for ${JSON.stringify(content)}: ${result.stderr}`);
        assert.match(result.stderr, /meta\.properties is damaged \(.+\); it names the node and the cluster this data directory belongs to: restore it .* or use another --data-dir/);
        assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      }
      assert.equal(readFileSync(join(dataDir, 'meta.properties'), 'utf8'), content, 'left as it was');
    }
  } finally {
    await removeDir(dataDir);
  }
});

test('bad configuration is refused at start with the key named', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--num.partitions', 'zero'], /num\.partitions.*not a whole number/],
    [['--no.such.setting', '1'], /unknown option --no\.such\.setting/],
    [['--listen', 'nowhere'], /listen.*host:port/],
    [['--config', '/nonexistent/tide.properties'], /cannot read config file/],
  ];
  for (const [args, expected] of cases) {
    const result = spawnSync(process.execPath, [tideBin, 'start', ...args], { encoding: 'utf8', timeout: 20000 });
    assert.equal(result.status, 2, `exit code for ${args.join(' ')}`);
    assert.match(result.stderr, expected);
  }
});
