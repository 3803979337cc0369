// Small helpers of the core. assert() marks programmer errors: Raft's invariants broken means a bug,
// and continuing would risk committed data, so it throws instead of limping on.
import type { Entry } from './types.ts';

export class RaftInvariantError extends Error {
  override name = 'RaftInvariantError';
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new RaftInvariantError(message);
}

export function entriesSizeBytes(entries: readonly Entry[]): number {
  let size = 0;
  for (const entry of entries) size += entry.data.length;
  return size;
}
