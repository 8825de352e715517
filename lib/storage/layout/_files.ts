/**
 * The file-system side of OCI layouts (`read.ts`, `save.ts`): every read goes
 * through `openRegularFile`, which refuses symbolic links and non-files and catches a file
 * swapped between its `lstat` and its `open` (device and inode must agree; go-containerregistry
 * #2306, SECURITY.md row 15); blob paths are built only from validated `alg:hex` digests (rows 19
 * and 34); every byte read is checked against its descriptor's size and digest; writes go through
 * a temporary file and a rename.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Bytes } from "../../util/bytes.ts";
import { CosignError } from "../../errors.ts";
import type { OciDescriptor } from "../../oci/manifest.ts";
import { parseDigest } from "../../oci/reference.ts";
import { checkedStream } from "../../oci/blob_stream.ts";

/** `OCI_LAYOUT_INVALID` for the layout at `dir`: not a layout, or malformed. */
export function invalid(dir: string, reason: string, cause?: unknown): CosignError {
  return new CosignError(
    "OCI_LAYOUT_INVALID",
    `Invalid OCI layout "${dir}": ${reason}`,
    cause === undefined ? undefined : { cause },
  );
}

/** `OCI_LAYOUT_UNSAFE` for the layout at `dir`: a symlink, a non-file, a file swapped. */
export function unsafe(dir: string, reason: string): CosignError {
  return new CosignError("OCI_LAYOUT_UNSAFE", `Refusing OCI layout "${dir}": ${reason}`);
}

/** The path of a blob: built only from a validated `alg:hex` digest. */
export function blobPath(dir: string, digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return join(dir, "blobs", algorithm, hex);
}

/** `lstat` of a path, or `undefined` when it (or a parent directory) does not exist. */
export async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw error;
  }
}

/** A real directory, not a symlink to one. */
export async function requireDirectory(dir: string, path: string, what: string): Promise<void> {
  const info = await lstatOrUndefined(path);
  if (info === undefined) throw invalid(dir, `${what} is missing`);
  if (info.isSymlink) throw unsafe(dir, `${what} is a symbolic link`);
  if (!info.isDirectory) throw invalid(dir, `${what} is not a directory`);
}

/**
 * Open a regular file for reading, refusing symlinks, non-files, and a file swapped between the
 * `lstat` and the `open` (device and inode must agree). Returns the open file and its size.
 */
export async function openRegularFile(
  dir: string,
  path: string,
  what: string,
): Promise<{ file: Deno.FsFile; size: number }> {
  const info = await lstatOrUndefined(path);
  if (info === undefined) throw invalid(dir, `${what} is missing`);
  if (info.isSymlink) throw unsafe(dir, `${what} is a symbolic link`);
  if (!info.isFile) throw unsafe(dir, `${what} is not a regular file`);
  const file = await Deno.open(path, { read: true });
  try {
    const opened = await file.stat();
    if (!opened.isFile || opened.ino !== info.ino || opened.dev !== info.dev) {
      throw unsafe(dir, `${what} changed while it was opened`);
    }
    return { file, size: opened.size };
  } catch (error) {
    file.close();
    throw error;
  }
}

/** Read a small file whole, refusing more than `max` bytes before reading. */
export async function readSmallFile(
  dir: string,
  path: string,
  what: string,
  max: number,
): Promise<Bytes> {
  const { file, size } = await openRegularFile(dir, path, what);
  try {
    if (size > max) {
      throw new CosignError(
        "OCI_LAYOUT_TOO_LARGE",
        `Refusing OCI layout "${dir}": ${what} is ${size} bytes, over the limit of ${max}`,
      );
    }
    const bytes = new Uint8Array(size);
    let offset = 0;
    while (offset < size) {
      const n = await file.read(bytes.subarray(offset));
      if (n === null) break;
      offset += n;
    }
    if (offset !== size) throw unsafe(dir, `${what} changed while it was read`);
    return bytes;
  } finally {
    file.close();
  }
}

/**
 * A blob file as a stream checked against its descriptor (size while reading, digest at the end),
 * after the same symlink and size checks as every read.
 */
export async function openBlobFile(
  dir: string,
  descriptor: OciDescriptor,
  maxBytes: number,
): Promise<ReadableStream<Bytes>> {
  const what = `blob "${descriptor.digest}"`;
  if (descriptor.size > maxBytes) {
    throw new CosignError(
      "OCI_LAYOUT_TOO_LARGE",
      `Refusing OCI layout "${dir}": ${what} is ${descriptor.size} bytes, over the limit of ${maxBytes}`,
    );
  }
  const { file, size } = await openRegularFile(dir, blobPath(dir, descriptor.digest), what);
  if (size !== descriptor.size) {
    file.close();
    throw new CosignError(
      "OCI_SIZE_MISMATCH",
      `Refusing OCI layout "${dir}": ${what} is ${size} bytes, its descriptor says ${descriptor.size}`,
    );
  }
  return checkedStream(file.readable, descriptor, `${what} in "${dir}"`);
}

/** Hash a blob file through (without holding it) and check it against its descriptor. */
export async function verifyBlobFile(
  dir: string,
  descriptor: OciDescriptor,
  maxBytes: number,
): Promise<void> {
  const stream = await openBlobFile(dir, descriptor, maxBytes);
  for await (const _ of stream) {
    // checkedStream counts and hashes; nothing to keep.
  }
}

/** A manifest (or index) read from the layout and checked against its digest. */
export interface LayoutManifest {
  /** Its descriptor (media type from the referring descriptor or the body). */
  readonly descriptor: OciDescriptor;
  /** Its bytes. */
  readonly bytes: Bytes;
}

/** A manifest blob read whole (at most `maxManifestBytes`) and checked against `descriptor`. */
export async function readManifestBlob(
  dir: string,
  descriptor: OciDescriptor,
  maxManifestBytes: number,
): Promise<LayoutManifest> {
  const what = `manifest "${descriptor.digest}"`;
  if (descriptor.size > maxManifestBytes) {
    throw new CosignError(
      "OCI_LAYOUT_TOO_LARGE",
      `Refusing OCI layout "${dir}": ${what} is ${descriptor.size} bytes, over the limit of ${maxManifestBytes}`,
    );
  }
  const bytes = await readSmallFile(
    dir,
    blobPath(dir, descriptor.digest),
    what,
    maxManifestBytes,
  );
  checkBytes(dir, what, bytes, descriptor);
  return { descriptor, bytes };
}

/** Check bytes against a descriptor: size (`OCI_SIZE_MISMATCH`), digest (`OCI_DIGEST_MISMATCH`). */
export function checkBytes(
  dir: string,
  what: string,
  bytes: Bytes,
  descriptor: OciDescriptor,
): void {
  if (bytes.length !== descriptor.size) {
    throw new CosignError(
      "OCI_SIZE_MISMATCH",
      `Refusing OCI layout "${dir}": ${what} is ${bytes.length} bytes, its descriptor says ${descriptor.size}`,
    );
  }
  const { algorithm } = parseDigest(descriptor.digest);
  const actual = `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
  if (actual !== descriptor.digest) {
    throw new CosignError(
      "OCI_DIGEST_MISMATCH",
      `Refusing OCI layout "${dir}": ${what} has digest "${actual}"`,
    );
  }
}

/** Write `bytes` or a stream to `path` atomically (temporary file, then rename). */
export async function writeAtomically(
  path: string,
  data: Bytes | ReadableStream<Bytes>,
): Promise<void> {
  const temporary = `${path}.tmp-${crypto.randomUUID()}`;
  const file = await Deno.open(temporary, { write: true, createNew: true, mode: 0o644 });
  try {
    if (data instanceof Uint8Array) {
      let offset = 0;
      while (offset < data.length) offset += await file.write(data.subarray(offset));
    } else {
      for await (const chunk of data) {
        let offset = 0;
        while (offset < chunk.length) offset += await file.write(chunk.subarray(offset));
      }
    }
    file.close();
  } catch (error) {
    file.close();
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
  await Deno.rename(temporary, path);
}

/**
 * Make `dir` ready for `save`: create it with `blobs/sha256/`, or accept an empty directory or an
 * existing layout; anything else (a file, a symlink, a directory of other files) is refused.
 */
export async function prepareDirectory(dir: string): Promise<void> {
  const info = await lstatOrUndefined(dir);
  if (info !== undefined) {
    if (info.isSymlink || !info.isDirectory) {
      throw invalid(dir, "exists and is not a directory (name a new or empty directory)");
    }
    let empty = true;
    for await (const _ of Deno.readDir(dir)) {
      empty = false;
      break;
    }
    if (!empty && await lstatOrUndefined(join(dir, "oci-layout")) === undefined) {
      throw invalid(dir, "exists, is not empty and is not an OCI layout (name a new directory)");
    }
  }
  await Deno.mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  for (const part of ["blobs", join("blobs", "sha256")]) {
    await requireDirectory(dir, join(dir, part), `${part}/`);
  }
}
