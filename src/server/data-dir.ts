import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../storage/checkpoint-file.ts';
import { parseProperties } from '../config/broker-config.ts';

/** The data directory is in use by another process; the message says which and what to do. */
export class DataDirLockedError extends Error {}

/** The data directory was formatted for another node or cluster; the message says what to do. */
export class DataDirMismatchError extends Error {}

/** meta.properties is there but cannot be read as Tide writes it. */
export class DataDirDamagedError extends Error {}

export interface DataDirIdentity {
  nodeId: number;
  clusterId: string;
}

const lockFileName = '.lock';

/**
 * Takes the data directory for this process. The lock file holds our pid; a lock whose pid is no
 * longer alive is stale (the previous process was killed) and is taken over.
 */
export function lockDataDir(dataDir: string): () => void {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, lockFileName);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
        } catch {
          // already gone: nothing to release
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DataDirLockedError(`data directory ${dir} is in use by another Tide process (pid ${holder}); stop it first or use another --data-dir`);
      }
      unlinkSync(path);
    }
  }
  throw new DataDirLockedError(`could not lock data directory ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The identity meta.properties records, or null for a directory never started. */
export function readMeta(dataDir: string): DataDirIdentity | null {
  const path = join(dataDir, 'meta.properties');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let stored: Record<string, string>;
  try {
    stored = parseProperties(text, path);
  } catch (error) {
    throw damagedMeta(path, (error as Error).message.replace(`${path} `, ''));
  }
  const nodeId = Number(stored['node.id']);
  const clusterId = stored['cluster.id'] ?? '';
  if (!Number.isSafeInteger(nodeId) || nodeId < 0 || clusterId === '') throw damagedMeta(path, 'node.id or cluster.id is missing or invalid');
  return { nodeId, clusterId };
}

function damagedMeta(path: string, problem: string): DataDirDamagedError {
  return new DataDirDamagedError(`${path} is damaged (${problem}); it names the node and the cluster this data directory belongs to: restore it (lines version=1, node.id=<id>, cluster.id=<id>) or use another --data-dir`);
}

/**
 * Reads meta.properties, or writes it on first start. A directory formatted for another node id or
 * cluster is refused rather than silently mixed.
 */
export async function loadOrFormatMeta(dataDir: string, nodeId: number, wantedClusterId: string | null): Promise<DataDirIdentity> {
  const stored = readMeta(dataDir);
  if (stored !== null) {
    const { nodeId: storedNodeId, clusterId: storedClusterId } = stored;
    if (storedNodeId !== nodeId) {
      throw new DataDirMismatchError(`data directory ${dataDir} belongs to node ${storedNodeId}, not node ${nodeId}; start with --node-id ${storedNodeId} or use another --data-dir`);
    }
    if (wantedClusterId !== null && wantedClusterId !== storedClusterId) {
      throw new DataDirMismatchError(`data directory ${dataDir} belongs to cluster ${storedClusterId}, not ${wantedClusterId}; start with --cluster.id ${storedClusterId} or use another --data-dir`);
    }
    return { nodeId, clusterId: storedClusterId };
  }
  const clusterId = wantedClusterId ?? randomUUID().replace(/-/g, '').slice(0, 22);
  await writeFileAtomic(join(dataDir, 'meta.properties'), Buffer.from(`# written by Tide on first start; do not edit\nversion=1\nnode.id=${nodeId}\ncluster.id=${clusterId}\n`));
  return { nodeId, clusterId };
}
