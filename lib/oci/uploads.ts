/**
 * Blob uploads (OCI distribution spec "Pushing blobs"): existence check, cross-repository mount,
 * monolithic POST + PUT, or POST + PATCH chunks + PUT for large blobs.
 *
 * @module
 */

import { type Bytes, sha256Digest } from "../util/bytes.ts";
import { CosignError } from "../errors.ts";
import { formatRepository, parseDigest, type RepositoryRef } from "./reference.ts";
import { discardBody } from "./_http.ts";
import { repositoryScope } from "./_auth.ts";
import type { RegistryTransport } from "./_transport.ts";

/** Options of `uploadBlob`. */
export interface UploadOptions {
  /** Try a cross-repository mount from this repository (same registry) first. */
  readonly mountFrom?: RepositoryRef;
  /** Skip the HEAD that avoids re-uploading a blob the registry has. */
  readonly skipExistsCheck?: boolean;
}

/** The digest and size of an uploaded (or already present) blob. */
export interface UploadedBlob {
  /** Digest `sha256:<hex>` of the blob. */
  readonly digest: string;
  /** Size in bytes. */
  readonly size: number;
}

function name(repo: RepositoryRef, digest: string): string {
  return `${formatRepository(repo)}@${digest}`;
}

/** HEAD a blob: its size, or `undefined` when the registry does not have it. */
export async function headBlobWith(
  transport: RegistryTransport,
  repo: RepositoryRef,
  digest: string,
): Promise<number | undefined> {
  parseDigest(digest);
  const response = await transport.exchange({
    method: "HEAD",
    repo,
    target: `/v2/${repo.repository}/blobs/${digest}`,
    scopes: [repositoryScope(repo.repository, false)],
  });
  if (response.status === 404) {
    await discardBody(response);
    return undefined;
  }
  if (response.status !== 200) {
    throw await transport.fail(
      response,
      `check blob "${name(repo, digest)}"`,
      "OCI_BLOB_UNKNOWN",
      repo,
    );
  }
  await discardBody(response);
  const size = Number(response.headers.get("content-length") ?? "NaN");
  return Number.isSafeInteger(size) ? size : 0;
}

/** POST `?mount=&from=`: 201 mounted (`true`), or 202 with the session the registry opened. */
async function startMount(
  transport: RegistryTransport,
  repo: RepositoryRef,
  digest: string,
  from: RepositoryRef,
): Promise<true | URL> {
  const query = `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from.repository)}`;
  const response = await transport.exchange({
    method: "POST",
    repo,
    target: `/v2/${repo.repository}/blobs/uploads/${query}`,
    scopes: [repositoryScope(repo.repository, true), repositoryScope(from.repository, false)],
  });
  if (response.status === 201) {
    await discardBody(response);
    return true;
  }
  if (response.status !== 202) {
    throw await transport.fail(
      response,
      `mount blob "${name(repo, digest)}"`,
      "OCI_NAME_UNKNOWN",
      repo,
    );
  }
  const location = transport.location(response, name(repo, digest));
  await discardBody(response);
  return location;
}

/**
 * Mount a blob from another repository of the same registry: true when mounted; false when the
 * registry declined (the upload session it opened instead is cancelled).
 */
export async function mountBlobWith(
  transport: RegistryTransport,
  repo: RepositoryRef,
  digest: string,
  from: RepositoryRef,
): Promise<boolean> {
  parseDigest(digest);
  if (from.registry !== repo.registry) return false;
  const started = await startMount(transport, repo, digest, from);
  if (started === true) return true;
  const cancel = await transport.exchange({
    method: "DELETE",
    repo,
    target: started,
    scopes: [repositoryScope(repo.repository, true)],
  });
  await discardBody(cancel);
  return false;
}

/**
 * Send one chunk of an upload session (distribution spec "Pushing a blob in chunks"): PATCH with
 * its `Content-Range`; returns the session's next location.
 */
export async function patchChunk(
  transport: RegistryTransport,
  repo: RepositoryRef,
  location: URL,
  offset: number,
  chunk: Uint8Array,
  blob: string,
): Promise<URL> {
  const response = await transport.exchange({
    method: "PATCH",
    repo,
    target: location,
    scopes: [repositoryScope(repo.repository, true)],
    headers: {
      "content-type": "application/octet-stream",
      "content-range": `${offset}-${offset + chunk.length - 1}`,
    },
    body: chunk as Bytes,
  });
  if (response.status !== 202) {
    throw await transport.fail(response, `upload blob "${blob}"`, "OCI_BLOB_UNKNOWN", repo);
  }
  const next = transport.location(response, blob);
  await discardBody(response);
  return next;
}

/** Upload a blob unless the registry has it (see the module doc). */
export async function uploadBlobWith(
  transport: RegistryTransport,
  repo: RepositoryRef,
  data: Bytes,
  chunkSize: number,
  options: UploadOptions = {},
): Promise<UploadedBlob> {
  const digest = sha256Digest(data);
  const blob = name(repo, digest);
  const done = { digest, size: data.length };
  if (!options.skipExistsCheck && await headBlobWith(transport, repo, digest) !== undefined) {
    return done;
  }
  let location: URL | undefined;
  const from = options.mountFrom;
  if (
    from !== undefined && from.registry === repo.registry && from.repository !== repo.repository
  ) {
    const started = await startMount(transport, repo, digest, from);
    if (started === true) return done;
    location = started;
  }
  location ??= await startUploadSession(transport, repo, blob);
  let rest = data;
  if (data.length > chunkSize) {
    for (let offset = 0; offset < data.length; offset += chunkSize) {
      const chunk = data.subarray(offset, Math.min(offset + chunkSize, data.length));
      location = await patchChunk(transport, repo, location, offset, chunk, blob);
    }
    rest = new Uint8Array(0);
  }
  await finishUploadSession(transport, repo, location, digest, rest);
  return done;
}

/** POST an upload session (spec "Pushing blobs"): the session's URL from the 202 answer. */
export async function startUploadSession(
  transport: RegistryTransport,
  repo: RepositoryRef,
  blob: string,
): Promise<URL> {
  const response = await transport.exchange({
    method: "POST",
    repo,
    target: `/v2/${repo.repository}/blobs/uploads/`,
    scopes: [repositoryScope(repo.repository, true)],
  });
  if (response.status !== 202) {
    throw await transport.fail(response, `upload blob "${blob}"`, "OCI_NAME_UNKNOWN", repo);
  }
  const location = transport.location(response, blob);
  await discardBody(response);
  return location;
}

/**
 * Close an upload session with PUT `?digest=` and its last bytes; a registry that says it stored
 * another digest is refused.
 */
export async function finishUploadSession(
  transport: RegistryTransport,
  repo: RepositoryRef,
  location: URL,
  digest: string,
  last: Bytes,
): Promise<void> {
  const blob = name(repo, digest);
  const finish = new URL(location);
  finish.searchParams.set("digest", digest);
  const response = await transport.exchange({
    method: "PUT",
    repo,
    target: finish,
    scopes: [repositoryScope(repo.repository, true)],
    headers: { "content-type": "application/octet-stream" },
    body: last,
  });
  if (response.status !== 201 && response.status !== 200 && response.status !== 204) {
    throw await transport.fail(response, `upload blob "${blob}"`, "OCI_BLOB_UNKNOWN", repo);
  }
  await discardBody(response);
  const echoed = response.headers.get("docker-content-digest")?.trim();
  if (echoed && echoed !== digest) {
    throw new CosignError(
      "OCI_DIGEST_MISMATCH",
      `Refusing upload of "${blob}": the registry stored it as "${echoed}"`,
    );
  }
}
