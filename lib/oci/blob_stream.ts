/**
 * Streamed blobs for image transfers (`copy`, `save`, `load`): image layers can be gigabytes, so
 * they never sit in memory whole. A download is checked while it streams (length against the
 * descriptor, digest at the end: OCI image spec "descriptor.md", digests are verified on read);
 * an upload sends PATCH chunks of at most `chunkSize` bytes as they arrive, then the closing PUT
 * with the digest (OCI distribution spec "Pushing a blob in chunks").
 *
 * Memory stays flat: at most one chunk is buffered. A source that turns out longer, shorter or
 * different than its descriptor errors before the closing PUT, so nothing wrong is committed.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { Bytes } from "../util/bytes.ts";
import { CosignError } from "../errors.ts";
import { formatRepository, parseDigest, type RepositoryRef } from "./reference.ts";
import { contentLength, discardBody } from "./_http.ts";
import { repositoryScope } from "./_auth.ts";
import type { RegistryTransport } from "./_transport.ts";
import {
  finishUploadSession,
  headBlobWith,
  mountBlobWith,
  patchChunk,
  startUploadSession,
} from "./uploads.ts";

/** What a streamed blob must be. */
export interface BlobTarget {
  /** Digest `alg:hex` the bytes must hash to. */
  readonly digest: string;
  /** Exact size in bytes. */
  readonly size: number;
}

function blobName(repo: RepositoryRef, digest: string): string {
  return `${formatRepository(repo)}@${digest}`;
}

/**
 * Wrap `source` so that it errors with `OCI_SIZE_MISMATCH` as soon as it passes `size` bytes or
 * ends short of it, and with `OCI_DIGEST_MISMATCH` when it ends with another digest. `what`
 * names the blob in those errors.
 */
export function checkedStream(
  source: ReadableStream<Uint8Array>,
  target: BlobTarget,
  what: string,
): ReadableStream<Bytes> {
  const { algorithm } = parseDigest(target.digest);
  const hasher = createHash(algorithm);
  let total = 0;
  return source.pipeThrough(
    new TransformStream<Uint8Array, Bytes>({
      transform(chunk, controller) {
        total += chunk.length;
        if (total > target.size) {
          throw new CosignError(
            "OCI_SIZE_MISMATCH",
            `Refusing ${what}: more than the ${target.size} bytes its descriptor says`,
          );
        }
        hasher.update(chunk);
        controller.enqueue(Uint8Array.from(chunk));
      },
      flush() {
        if (total !== target.size) {
          throw new CosignError(
            "OCI_SIZE_MISMATCH",
            `Refusing ${what}: ${total} bytes, its descriptor says ${target.size}`,
          );
        }
        const actual = `${algorithm}:${hasher.digest("hex")}`;
        if (actual !== target.digest) {
          throw new CosignError(
            "OCI_DIGEST_MISMATCH",
            `Refusing ${what}: its content has digest "${actual}"`,
          );
        }
      },
    }),
  );
}

/**
 * GET a blob as a checked stream (see `checkedStream`). A `Content-Length` that disagrees with
 * the descriptor is refused before any byte is read.
 */
export async function openBlobWith(
  transport: RegistryTransport,
  repo: RepositoryRef,
  target: BlobTarget,
): Promise<ReadableStream<Bytes>> {
  parseDigest(target.digest);
  if (!Number.isSafeInteger(target.size) || target.size < 0) {
    throw new RangeError(`Invalid blob size ${target.size}`);
  }
  const name = blobName(repo, target.digest);
  const response = await transport.exchange({
    method: "GET",
    repo,
    target: `/v2/${repo.repository}/blobs/${target.digest}`,
    scopes: [repositoryScope(repo.repository, false)],
  });
  if (response.status !== 200) {
    throw await transport.fail(response, `get blob "${name}"`, "OCI_BLOB_UNKNOWN", repo);
  }
  const declared = contentLength(response);
  if (declared !== undefined && declared !== target.size) {
    await discardBody(response);
    throw new CosignError(
      "OCI_SIZE_MISMATCH",
      `Refusing blob "${name}": Content-Length ${declared}, its descriptor says ${target.size}`,
    );
  }
  const body = response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  return checkedStream(body, target, `blob "${name}"`);
}

/** Options of `uploadBlobStreamWith`. */
export interface StreamUploadOptions {
  /** Try a cross-repository mount from here first (same registry only). */
  readonly mountFrom?: RepositoryRef;
}

/** How a streamed upload ended. */
export type StreamUploadOutcome = "present" | "mounted" | "uploaded";

/**
 * Upload a blob from a stream unless the registry has it: HEAD, then a mount when `mountFrom` is
 * on the same registry, else `open()` the source and POST + PATCH chunks of `chunkSize` + PUT
 * `?digest=`. The source is wrapped in `checkedStream`, so a wrong source fails before the
 * closing PUT and the upload session is cancelled. `open` is called only when bytes must move.
 */
export async function uploadBlobStreamWith(
  transport: RegistryTransport,
  repo: RepositoryRef,
  target: BlobTarget,
  open: () => Promise<ReadableStream<Uint8Array>>,
  chunkSize: number,
  options: StreamUploadOptions = {},
): Promise<StreamUploadOutcome> {
  const name = blobName(repo, target.digest);
  const push = [repositoryScope(repo.repository, true)];
  if (await headBlobWith(transport, repo, target.digest) !== undefined) return "present";
  const from = options.mountFrom;
  if (
    from !== undefined && from.registry === repo.registry && from.repository !== repo.repository &&
    await mountBlobWith(transport, repo, target.digest, from)
  ) {
    return "mounted";
  }
  let location = await startUploadSession(transport, repo, name);
  let source: ReadableStream<Uint8Array>;
  try {
    source = await open();
  } catch (error) {
    await cancelUpload(transport, repo, location, push);
    throw error;
  }
  const reader = checkedStream(source, target, `source of blob "${name}"`).getReader();
  try {
    let buffer = new Uint8Array(Math.min(chunkSize, target.size));
    let filled = 0;
    let offset = 0;
    let patched = false;
    const sendChunk = async () => {
      const chunk = buffer.subarray(0, filled);
      location = await patchChunk(transport, repo, location, offset, chunk, name);
      offset += chunk.length;
      filled = 0;
      patched = true;
      // A fresh buffer: the one just sent may still be referenced by the request body.
      buffer = new Uint8Array(Math.min(chunkSize, target.size - offset) || 1);
    };
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let rest: Uint8Array = value;
      while (rest.length > 0) {
        const room = buffer.length - filled;
        if (room === 0) {
          await sendChunk();
          continue;
        }
        const take = Math.min(room, rest.length);
        buffer.set(rest.subarray(0, take), filled);
        filled += take;
        rest = rest.subarray(take);
      }
    }
    // The last bytes go with the closing PUT unless chunks were sent (then they are PATCHed).
    if (patched && filled > 0) await sendChunk();
    await finishUploadSession(
      transport,
      repo,
      location,
      target.digest,
      patched ? new Uint8Array(0) : buffer.slice(0, filled),
    );
    return "uploaded";
  } catch (error) {
    await reader.cancel().catch(() => {});
    await cancelUpload(transport, repo, location, push);
    throw error;
  } finally {
    reader.releaseLock();
  }
}

async function cancelUpload(
  transport: RegistryTransport,
  repo: RepositoryRef,
  location: URL,
  scopes: readonly string[],
): Promise<void> {
  try {
    const response = await transport.exchange({ method: "DELETE", repo, target: location, scopes });
    await discardBody(response);
  } catch {
    // Best effort: the registry expires abandoned sessions anyway.
  }
}
