/**
 * `verify --local-image DIR`: a saved layout seen through the registry API, so that verification
 * runs the one pipeline (`lib/verify/image.ts`, SECURITY.md rule 3) on it unchanged. The layout is
 * read and checked whole first (`readImageLayout`: symlinks, traversal, sizes, every digest);
 * this module then answers, from those checked files only, the few registry reads verification
 * makes: manifests by digest, the `.sig`/`.att` tags of the image, blobs (re-checked as they
 * stream), and the referrers list. Nothing goes to the network: the `fetch` it returns serves
 * the files and answers 404 to everything else.
 *
 * @module
 */

import { utf8 } from "../../util/bytes.ts";
import { encodeIndex, MEDIA_TYPE, type OciDescriptor } from "../../oci/manifest.ts";
import type { ImageReference } from "../../oci/reference.ts";
import { attachmentTag } from "../signatures.ts";
import { type ImageLayout, type LayoutLimits, readImageLayout } from "./read.ts";
import { openBlobFile } from "./_files.ts";

/** The registry name local images are verified under (loopback: plain HTTP, never dialled). */
export const LOCAL_IMAGE_REGISTRY = "localhost";

/** Saved layouts behind one `fetch`, each under its own repository name. */
export interface LocalImages {
  /** The image of each layout, by digest, in the order given. */
  readonly references: readonly ImageReference[];
  /** Serves the layouts' files as registry answers (inject into `RegistryClient`). */
  readonly fetch: typeof globalThis.fetch;
}

function notFound(code: string): Response {
  return new Response(JSON.stringify({ errors: [{ code, message: "not in the layout" }] }), {
    status: 404,
    headers: { "content-type": "application/json" },
  });
}

function answer(method: string, body: Uint8Array | ReadableStream<Uint8Array>, headers: Headers) {
  if (method === "HEAD") {
    if (body instanceof ReadableStream) void body.cancel().catch(() => {});
    return new Response(null, { status: 200, headers });
  }
  return new Response(body as BodyInit, { status: 200, headers });
}

/** Answer one registry request from a checked layout. */
async function serve(
  layout: ImageLayout,
  method: string,
  kind: string,
  id: string,
  maxBlobBytes: number,
): Promise<Response> {
  const manifests = new Map(layout.manifests.map((m) => [m.descriptor.digest, m]));
  if (kind === "manifests") {
    const byTag: Record<string, OciDescriptor | undefined> = {
      [attachmentTag(layout.image.digest, "sig")]: layout.signatures,
      [attachmentTag(layout.image.digest, "att")]: layout.attestations,
    };
    const digest = id.includes(":") ? id : byTag[id]?.digest;
    const manifest = digest === undefined ? undefined : manifests.get(digest);
    if (manifest === undefined) return notFound("MANIFEST_UNKNOWN");
    return answer(
      method,
      manifest.bytes,
      new Headers({
        "content-type": manifest.descriptor.mediaType,
        "content-length": String(manifest.bytes.length),
        "docker-content-digest": manifest.descriptor.digest,
      }),
    );
  }
  if (kind === "blobs") {
    const descriptor = layout.blobs.find((b) => b.digest === id) ?? manifests.get(id)?.descriptor;
    if (descriptor === undefined) return notFound("BLOB_UNKNOWN");
    const stream = await openBlobFile(layout.directory, descriptor, maxBlobBytes);
    return answer(
      method,
      stream,
      new Headers({
        "content-type": "application/octet-stream",
        "content-length": String(descriptor.size),
        "docker-content-digest": descriptor.digest,
      }),
    );
  }
  if (kind === "referrers") {
    const entries = id === layout.image.digest ? layout.referrers : [];
    const body = utf8(
      encodeIndex({ schemaVersion: 2, mediaType: MEDIA_TYPE.OCI_INDEX, manifests: [...entries] }),
    );
    return answer(method, body, new Headers({ "content-type": MEDIA_TYPE.OCI_INDEX }));
  }
  return notFound("NAME_UNKNOWN");
}

/**
 * Read and check each layout directory, then serve them as repositories `local/image-<n>` of
 * `LOCAL_IMAGE_REGISTRY`. A layout that fails its checks fails here, before any verification.
 */
export async function openLocalImages(
  directories: readonly string[],
  options: { limits?: Partial<LayoutLimits> } = {},
): Promise<LocalImages> {
  const layouts: ImageLayout[] = [];
  for (const dir of directories) layouts.push(await readImageLayout(dir, options));
  const maxBlobBytes = options.limits?.maxBlobBytes ?? 128 * 1024 * 1024;
  const references = layouts.map((layout, i): ImageReference => ({
    registry: LOCAL_IMAGE_REGISTRY,
    repository: `local/image-${i}`,
    digest: layout.image.digest,
  }));
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const match = /^\/v2\/local\/image-(\d+)\/(manifests|blobs|referrers)\/([^/]+)$/.exec(
      url.pathname,
    );
    const layout = match === null ? undefined : layouts[Number(match[1])];
    if (url.host !== LOCAL_IMAGE_REGISTRY || match === null || layout === undefined) {
      return notFound("NAME_UNKNOWN");
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response(null, { status: 405 });
    }
    return await serve(
      layout,
      request.method,
      match[2]!,
      decodeURIComponent(match[3]!),
      maxBlobBytes,
    );
  };
  return { references, fetch };
}
