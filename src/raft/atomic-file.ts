// Whole-file replacement that a crash cannot tear: write a temp file, fsync it, rename it over the
// old one, fsync the directory so the rename itself is durable. Readers see the old or the new
// file, never a mix.
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';

export const tempSuffix = '.tmp';

export async function writeFileAtomic(directory: string, name: string, bytes: Uint8Array): Promise<void> {
  const finalPath = join(directory, name);
  const tempPath = finalPath + tempSuffix;
  const handle = await open(tempPath, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tempPath, finalPath);
  await fsyncDirectory(directory);
}

export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
