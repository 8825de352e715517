/**
 * Shared fixtures of the registry store unit tests.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Bytes, sha256Digest, utf8 } from "../../lib/util/bytes.ts";
import {
  isRegistryError,
  OCI_MANIFEST,
  type RegistryErrorCode,
  type RegistryStore,
} from "../../server/registry/store.ts";

/** The 2-byte `{}` blob (OCI empty descriptor). */
export const EMPTY_CONFIG = utf8("{}");
/** Its digest. */
export const EMPTY_DIGEST =
  "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/** An `assert.throws` validator for a `RegistryError` with `expected` code. */
export function code(expected: RegistryErrorCode): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isRegistryError(error), `expected a RegistryError, got ${error}`);
    assert.equal(error.code, expected, error.message);
    return true;
  };
}

/** A stream of the given chunks. */
export function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

/** All bytes of a blob body. */
export async function readAll(body: ReadableStream<Uint8Array> | Bytes): Promise<Bytes> {
  if (body instanceof Uint8Array) return body;
  return new Uint8Array(await new Response(body).arrayBuffer());
}

/** An OCI image manifest with the given config and layers. */
export function imageManifest(
  config: { digest: string; size: number; mediaType?: string },
  layers: { digest: string; size: number }[],
  extra: Record<string, unknown> = {},
): Bytes {
  return utf8(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...l })),
    ...extra,
  }));
}

/** A store with the empty config blob and one layer in `repo`, plus a manifest tagged "v1". */
export async function seeded(store: RegistryStore, repo = "demo/app") {
  const layer = utf8("layer bytes");
  await store.putBlob(repo, EMPTY_DIGEST, EMPTY_CONFIG);
  await store.putBlob(repo, sha256Digest(layer), layer);
  const manifest = imageManifest({ digest: EMPTY_DIGEST, size: 2 }, [
    { digest: sha256Digest(layer), size: layer.length },
  ]);
  const put = store.putManifest(repo, "v1", manifest, OCI_MANIFEST);
  return { layer, manifest, digest: put.digest };
}
