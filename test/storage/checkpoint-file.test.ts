// Proves small-file writes are atomic (readers see the old or the new content, never a mix;
// interrupted writes leave only temp files, which are ignored and removed), durable (file and
// directory fsynced), and that the checkpoint text format is parsed strictly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CheckpointFormatError, encodeCheckpoint, parseCheckpoint, readFileIfExists, removeStaleTempFiles, writeFileAtomic,
} from '../../src/storage/checkpoint-file.ts';
import { withTempDir } from './helpers.ts';

test('writeFileAtomic replaces the content and fsyncs the file and the directory', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'meta.properties');
    const fsynced: string[] = [];
    await writeFileAtomic(path, 'node.id=1\n', (synced) => fsynced.push(synced));
    await writeFileAtomic(path, 'node.id=2\n', (synced) => fsynced.push(synced));
    assert.equal(await readFile(path, 'utf8'), 'node.id=2\n');
    assert.equal(fsynced.length, 4);
    assert.ok(fsynced.includes(dir), 'the directory was fsynced');
    assert.ok(fsynced.some((synced) => synced.endsWith('.tmp')), 'the temp file was fsynced before the rename');
    assert.deepEqual(await readdir(dir), ['meta.properties'], 'no temp file left behind');
  });
});

test('concurrent writers leave one complete version, never a mix', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'checkpoint');
    const versions = Array.from({ length: 20 }, (_, index) => `version-${index}\n`.repeat(500));
    await Promise.all(versions.map((content) => writeFileAtomic(path, content)));
    assert.ok(versions.includes(await readFile(path, 'utf8')));
    assert.deepEqual(await readdir(dir), ['checkpoint']);
  });
});

test('a write interrupted before its rename leaves the old content and a temp file that is cleaned up', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'leader-epoch-checkpoint');
    await writeFileAtomic(path, 'old');
    await writeFile(`${path}.1234-1.tmp`, 'half-writ'); // what a crash mid-write leaves
    assert.equal((await readFileIfExists(path))!.toString(), 'old');
    assert.deepEqual(await removeStaleTempFiles(dir), ['leader-epoch-checkpoint.1234-1.tmp']);
    assert.deepEqual(await readdir(dir), ['leader-epoch-checkpoint']);
  });
});

test('readFileIfExists returns null for a missing file and refuses oversized ones', async () => {
  await withTempDir(async (dir) => {
    assert.equal(await readFileIfExists(join(dir, 'missing')), null);
    await writeFile(join(dir, 'big'), Buffer.alloc(100));
    await assert.rejects(readFileIfExists(join(dir, 'big'), 10), CheckpointFormatError);
  });
});

test('checkpoint text round-trips and malformed text is refused', () => {
  const text = encodeCheckpoint(0, [[1, 0], [4, 100]]);
  assert.equal(text, '0\n2\n1 0\n4 100\n');
  assert.deepEqual(parseCheckpoint(text, 0, 2, 10), [[1, 0], [4, 100]]);
  for (const bad of ['', '1\n0\n', '0\n3\n1 0\n', '0\n1\n1 0 7\n', '0\n1\nx 0\n', '0\n-1\n', '0\n1\n1 99999999999999999\n']) {
    assert.throws(() => parseCheckpoint(bad, 0, 2, 10), CheckpointFormatError, JSON.stringify(bad));
  }
  assert.throws(() => parseCheckpoint('0\n11\n' + '1 1\n'.repeat(11), 0, 2, 10), CheckpointFormatError, 'entry limit');
});
