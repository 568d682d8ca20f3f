// Writes a file so that readers see either the old content or the new, never a torn one:
// write to a temporary file in the same folder, fsync, then rename over the target.
import { promises as fs } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Writes `path` and fsyncs it (for files that a folder rename publishes: see syncDir). */
export async function writeFileDurable(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await fs.open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * fsyncs a folder, so that the renames and new entries in it survive a power loss (Linux and
 * macOS; Windows cannot open a folder for this, and its renames are journaled: best effort).
 */
export async function syncDir(path: string): Promise<void> {
  let handle;
  try {
    handle = await fs.open(path, 'r');
    await handle.sync();
  } catch {
    /* not supported here */
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFileDurable(tmp, data);
  try {
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
