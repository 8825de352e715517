/**
 * Files the embedded services write for other processes and for their own restart (the ready
 * file, trust files, keys): written atomically, so a reader never sees half a file, and removed
 * without caring whether they are still there.
 *
 * @module
 */

/** Write a file atomically: a temp file in the same directory (0600), fsync, rename. */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    try {
      await file.write(new TextEncoder().encode(text));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await removeIfPresent(temp);
    throw error;
  }
}

/** Remove a file; one that is already gone is fine. */
export async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
