// Writes that finish: a regular file may take fewer bytes than asked per call without an error (a
// disk filling up answers the first call short and only the next one with ENOSPC), so every file
// write that must land whole loops until all bytes are in or a call fails. Shared by the partition
// log writer, the log cleaner and the Raft log store.
import { writeSync, writevSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** writev until every byte is in the file (a regular file may take fewer bytes per call). */
export async function writeFully(handle: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let pending = buffers;
  let at = position;
  // Each round writes at least one byte or throws: bounded by the total size.
  while (pending.length > 0) {
    const { bytesWritten } = pending.length === 1
      ? await handle.write(pending[0]!, 0, pending[0]!.length, at)
      : await handle.writev(pending, at);
    at += bytesWritten;
    pending = unwritten(pending, bytesWritten);
  }
}

/** writeFully with synchronous calls, for small writes on the event loop (a copy into the page cache). */
export function writeFullySync(fd: number, buffers: Buffer[], position: number): void {
  let pending = buffers;
  let at = position;
  // Each round writes at least one byte or throws: bounded by the total size.
  while (pending.length > 0) {
    const bytesWritten = pending.length === 1 ? writeSync(fd, pending[0]!, 0, pending[0]!.length, at) : writevSync(fd, pending, at);
    at += bytesWritten;
    pending = unwritten(pending, bytesWritten);
  }
}

/** What is left of `buffers` after the first `bytesWritten` bytes went out. */
function unwritten(buffers: Buffer[], bytesWritten: number): Buffer[] {
  if (bytesWritten <= 0) throw new Error('write made no progress');
  let skip = bytesWritten;
  let done = 0;
  while (done < buffers.length && skip >= buffers[done]!.length) {
    skip -= buffers[done]!.length;
    done++;
  }
  const pending = buffers.slice(done);
  if (skip > 0) pending[0] = pending[0]!.subarray(skip);
  return pending;
}
