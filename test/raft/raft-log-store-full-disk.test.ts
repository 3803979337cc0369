// A Raft log store on a disk that runs out of space mid-append: the file takes part of the record
// (a short write) and then refuses the rest with ENOSPC. persist() must reject, never resolve: a
// resolved persist lets the driver acknowledge the entry, and after a restart the store cuts the
// partial record as a torn tail, so the leader's commit index would lie past this node's log (the
// 30-minute fault run hit exactly that as a RaftInvariantError on restart).
// Needs root (a small tmpfs is mounted); skipped otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canMountTmpfs, fillDisk, mountTmpfs, removeFiller, unmountTmpfs } from '../../src/chaos/disk-faults.ts';
import { RaftLogStore } from '../../src/raft/raft-log-store.ts';
import type { Entry } from '../../src/raft/core/types.ts';

const confState = { voters: [1, 2, 3], learners: [] };
const TMPFS_BYTES = 1024 * 1024;

function entry(index: number, term: number, bytes: number): Entry {
  return { index, term, data: new Uint8Array(bytes).fill(index) };
}

test('an append the disk takes only in part rejects persist, and a reopen holds only what was acknowledged', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'tide-raft-full-'));
  const mountable = process.getuid?.() === 0 && canMountTmpfs(base);
  if (!mountable) {
    await rm(base, { recursive: true, force: true });
    t.skip('needs root and a mountable tmpfs');
    return;
  }
  mountTmpfs(base, TMPFS_BYTES);
  const directory = join(base, '__cluster_metadata-0');
  const filler = join(base, 'filler');
  let store: RaftLogStore | null = null;
  try {
    await mkdir(directory);
    store = await RaftLogStore.open({ directory, confState });
    await store.persist({ entries: [entry(1, 1, 100)], hardState: { term: 1, vote: 1, commit: 1 } });
    fillDisk(filler);
    // The log file's last page has room for part of this record (tmpfs allocates whole pages), the
    // next pages none: the first write call is short, the second fails.
    await assert.rejects(store.persist({ entries: [entry(2, 1, 16 * 1024)] }), /ENOSPC/);
    await store.close().catch(() => undefined);

    removeFiller(filler);
    store = await RaftLogStore.open({ directory, confState });
    assert.equal(store.storage.lastIndex(), 1, 'the entry persist refused is not in the log');
    assert.ok(store.recovery.tornTailBytes > 0, 'the partial record was on disk and was cut as a torn tail');
    await store.persist({ entries: [entry(2, 1, 16 * 1024)] });
    assert.equal(store.storage.lastIndex(), 2);
    await store.close();
  } finally {
    await store?.close().catch(() => undefined);
    removeFiller(filler);
    unmountTmpfs(base);
    await rm(base, { recursive: true, force: true });
  }
});
