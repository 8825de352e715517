/**
 * copyImage() over two in-memory registries: manifests byte for byte with their attachments and
 * referrers, blobs streamed in PATCH chunks between registries and mounted within one, the
 * fallback index written where there is no referrers API, and a source that lies about a blob
 * stopped before anything names it at the destination.
 */

import assert from "node:assert/strict";
import { type Bytes, sha256Digest, utf8 } from "../../../lib/util/bytes.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { RegistryClient } from "../../../lib/oci/client.ts";
import { copyImage } from "../../../lib/storage/copy.ts";
import { parsePlatform } from "../../../lib/oci/platform.ts";
import { encodeManifest, MEDIA_TYPE, type OciDescriptor } from "../../../lib/oci/manifest.ts";
import { parseImageReference } from "../../../lib/oci/reference.ts";
import { writeBundleReferrer } from "../../../lib/storage/referrers.ts";
import { appendLegacyAttachment, attachmentTag } from "../../../lib/storage/signatures.ts";
import { FakeRegistry } from "../_fake_registry.ts";

const REPO = "org/app";
const code = (expected: string) => (error: unknown) =>
  isCosignError(error) && error.code === expected;

function descriptor(mediaType: string, bytes: Bytes): OciDescriptor {
  return { mediaType, size: bytes.length, digest: sha256Digest(bytes) };
}

/** Two registries behind one fetch, and an image with a .sig tag and a bundle referrer. */
async function setup(options: { referrersApi?: boolean } = {}) {
  const source = new FakeRegistry({ host: "source.test" });
  const target = new FakeRegistry({
    host: "target.test",
    ...(options.referrersApi === false ? { referrersApi: false } : {}),
  });
  const fetch: typeof globalThis.fetch = (input, init) => {
    const host = new URL(input instanceof Request ? input.url : String(input)).host;
    return (host === target.host ? target : source).fetch(input, init);
  };
  const client = new RegistryClient({ fetch, sleep: () => Promise.resolve(), chunkSize: 100 });
  const layer = new Uint8Array(1000).map((_, i) => i % 251);
  const config = utf8('{"os":"linux","architecture":"amd64"}');
  source.putBlob(REPO, layer);
  source.putBlob(REPO, config);
  const manifestBytes = utf8(encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: descriptor(MEDIA_TYPE.OCI_CONFIG, config),
    layers: [descriptor("application/vnd.oci.image.layer.v1.tar", layer)],
  }));
  const digest = source.putManifest(REPO, manifestBytes, MEDIA_TYPE.OCI_MANIFEST, "v1");
  const image = { registry: source.host, repository: REPO, digest };
  await appendLegacyAttachment(client, image, "sig", {
    payload: utf8('{"critical":{}}'),
    mediaType: MEDIA_TYPE.SIMPLE_SIGNING,
    annotations: { "dev.cosignproject.cosign/signature": "MEUC" },
  });
  const subject = descriptor(MEDIA_TYPE.OCI_MANIFEST, manifestBytes);
  const referrer = await writeBundleReferrer(client, image, subject, utf8('{"bundle":1}'), {
    predicateType: "https://sigstore.dev/cosign/sign/v1",
  });
  return { source, target, client, layer, manifestBytes, digest, referrer };
}

Deno.test("copyImage() streams blobs in chunks between registries and keeps every digest", async () => {
  const { source, target, client, manifestBytes, digest, referrer } = await setup();
  const result = await copyImage(
    client,
    parseImageReference(`${source.host}/${REPO}:v1`),
    parseImageReference(`${target.host}/mirror/app:v2`),
  );
  assert.equal(result.digest, digest);
  assert.deepEqual(result.tags, [
    `${target.host}/mirror/app:${attachmentTag(digest, "sig")}`,
    `${target.host}/mirror/app:v2`,
  ]);
  assert.deepEqual(result.referrers, [`${target.host}/mirror/app@${referrer.manifest.digest}`]);
  // image (2 blobs), .sig (payload + config), referrer ({} + bundle): 6 uploads, 3 manifests.
  assert.equal(result.stats.uploaded, 6);
  assert.equal(result.stats.mounted, 0);
  assert.equal(result.stats.manifests, 3);
  // Blobs over the chunk size (the 1000-byte layer: 10 chunks) went in PATCH chunks of at most
  // 100 bytes; nothing was buffered whole.
  const patches = target.requests.filter((r) => r.method === "PATCH");
  assert.ok(patches.length >= 10, `${patches.length} PATCH requests`);
  assert.ok(patches.every((r) => r.body.length > 0 && r.body.length <= 100));
  const copied = await client.getManifest(parseImageReference(`${target.host}/mirror/app:v2`));
  assert.deepEqual(copied.bytes, manifestBytes);
  const listed = await client.listReferrers(
    { registry: target.host, repository: "mirror/app" },
    digest,
  );
  assert.deepEqual(listed.manifests.map((m) => m.digest), [referrer.manifest.digest]);
  // A second copy moves nothing.
  const again = await copyImage(
    client,
    parseImageReference(`${source.host}/${REPO}:v1`),
    parseImageReference(`${target.host}/mirror/app:v2`),
  );
  assert.equal(again.stats.uploaded, 0);
});

Deno.test("copyImage() writes the fallback index on a registry without the referrers API", async () => {
  const { source, target, client, digest, referrer } = await setup({ referrersApi: false });
  await copyImage(
    client,
    parseImageReference(`${source.host}/${REPO}:v1`),
    parseImageReference(`${target.host}/mirror/app:v1`),
  );
  const index = await client.getManifest(
    parseImageReference(`${target.host}/mirror/app:sha256-${digest.slice(7)}`),
  );
  const parsed = JSON.parse(new TextDecoder().decode(index.bytes));
  assert.deepEqual(parsed.manifests.map((m: { digest: string }) => m.digest), [
    referrer.manifest.digest,
  ]);
  assert.equal(parsed.manifests[0].artifactType, MEDIA_TYPE.SIGSTORE_BUNDLE_V03);
});

Deno.test("copyImage() mounts blobs within a registry instead of moving bytes", async () => {
  const { source, client } = await setup();
  const result = await copyImage(
    client,
    parseImageReference(`${source.host}/${REPO}:v1`),
    parseImageReference(`${source.host}/copy/app:v1`),
  );
  assert.equal(result.stats.uploaded, 0);
  assert.equal(result.stats.mounted, 6);
  assert.equal(source.count("GET", /\/blobs\/sha256:/), 0);
});

Deno.test("copyImage() stops at a blob the source altered: no manifest reaches the destination", async () => {
  const { source, target, client, layer } = await setup();
  const layerDigest = sha256Digest(layer);
  source.intercept = (req) => {
    if (req.method === "GET" && req.url.pathname.endsWith(`/blobs/${layerDigest}`)) {
      const altered = layer.slice();
      altered[500] = altered[500]! ^ 1;
      return new Response(altered, { status: 200 });
    }
    return undefined;
  };
  await assert.rejects(
    copyImage(
      client,
      parseImageReference(`${source.host}/${REPO}:v1`),
      parseImageReference(`${target.host}/mirror/app:v1`),
    ),
    code("OCI_DIGEST_MISMATCH"),
  );
  assert.equal(target.count("PUT", /\/manifests\//), 0);
  assert.equal(target.blob("mirror/app", layerDigest), undefined);
  assert.ok(target.count("DELETE", /\/blobs\/uploads\//) >= 1, "the upload session is cancelled");
});

Deno.test("copyImage() refuses to move a tag elsewhere without overwrite, and a wrong digest destination", async () => {
  const { source, target, client, digest } = await setup();
  const other = utf8(encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: descriptor(MEDIA_TYPE.OCI_CONFIG, utf8("{}")),
    layers: [],
  }));
  target.putBlob("mirror/app", utf8("{}"));
  target.putManifest("mirror/app", other, MEDIA_TYPE.OCI_MANIFEST, "v1");
  const copy = (overwrite: boolean) =>
    copyImage(
      client,
      parseImageReference(`${source.host}/${REPO}:v1`),
      parseImageReference(`${target.host}/mirror/app:v1`),
      { overwrite },
    );
  await assert.rejects(copy(false), code("OCI_DESTINATION_EXISTS"));
  await copy(true);
  const now = await client.resolve(parseImageReference(`${target.host}/mirror/app:v1`));
  assert.equal(now.digest, digest);
  await assert.rejects(
    copyImage(
      client,
      parseImageReference(`${source.host}/${REPO}:v1`),
      parseImageReference(`${target.host}/mirror/app@sha256:${"0".repeat(64)}`),
    ),
    code("OCI_DIGEST_MISMATCH"),
  );
});

Deno.test("parsePlatform() reads os/arch[/variant] and refuses anything else", () => {
  assert.deepEqual(parsePlatform("linux/arm64/v8"), {
    os: "linux",
    architecture: "arm64",
    variant: "v8",
  });
  assert.deepEqual(parsePlatform("linux/amd64"), { os: "linux", architecture: "amd64" });
  for (const bad of ["linux", "linux/", "a/b/c/d", "linux/../x", "linux/am d64"]) {
    assert.throws(() => parsePlatform(bad), SyntaxError, bad);
  }
});
