/**
 * Reading an OCI layout is reading untrusted input: symlinks (go-containerregistry #2306),
 * traversal through digests (SECURITY.md rows 19, 34), corrupted or resized blobs, oversized files
 * and counts are refused with typed errors, a refused layout pushes nothing, and a checked layout
 * is served read-only for `verify --local-image`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type Bytes, sha256Digest, utf8 } from "../../../lib/util/bytes.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { RegistryClient } from "../../../lib/oci/client.ts";
import { readImageLayout } from "../../../lib/storage/layout/read.ts";
import { loadImageLayout } from "../../../lib/storage/layout/load.ts";
import { openLocalImages } from "../../../lib/storage/layout/local_images.ts";
import {
  encodeIndex,
  encodeManifest,
  MEDIA_TYPE,
  type OciDescriptor,
} from "../../../lib/oci/manifest.ts";
import { parseImageReference } from "../../../lib/oci/reference.ts";
import { encodeSignatureConfig } from "../../../lib/storage/signatures.ts";
import { tempDir } from "../../_support.ts";
import { FakeRegistry } from "../_fake_registry.ts";

const code = (expected: string) => (error: unknown) =>
  isCosignError(error) && error.code === expected;

interface Built {
  readonly dir: string;
  readonly image: OciDescriptor;
  readonly layer: OciDescriptor;
  readonly signatures: OciDescriptor;
  readonly referrer: OciDescriptor;
  readonly indexEntries: OciDescriptor[];
}

async function writeBlob(dir: string, bytes: Bytes): Promise<string> {
  const digest = sha256Digest(bytes);
  await Deno.writeFile(join(dir, "blobs", "sha256", digest.slice("sha256:".length)), bytes);
  return digest;
}

function descriptor(mediaType: string, bytes: Bytes): OciDescriptor {
  return { mediaType, size: bytes.length, digest: sha256Digest(bytes) };
}

async function writeIndex(dir: string, entries: readonly OciDescriptor[]): Promise<void> {
  await Deno.writeTextFile(
    join(dir, "index.json"),
    encodeIndex({ schemaVersion: 2, mediaType: MEDIA_TYPE.OCI_INDEX, manifests: entries }),
  );
}

/** A layout as cosign save writes it: image, .sig manifest, and one bundle referrer blob. */
async function buildLayout(dir: string): Promise<Built> {
  await Deno.mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  await Deno.writeTextFile(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  const layerBytes = utf8("layer bytes ".repeat(100));
  const layer = descriptor("application/vnd.oci.image.layer.v1.tar", layerBytes);
  await writeBlob(dir, layerBytes);
  const config = utf8('{"architecture":"amd64","os":"linux"}');
  await writeBlob(dir, config);
  const imageBytes = utf8(encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: descriptor(MEDIA_TYPE.OCI_CONFIG, config),
    layers: [layer],
  }));
  await writeBlob(dir, imageBytes);
  const image = descriptor(MEDIA_TYPE.OCI_MANIFEST, imageBytes);

  const payload = utf8('{"critical":{}}');
  await writeBlob(dir, payload);
  const sigConfig = encodeSignatureConfig([sha256Digest(payload)]);
  await writeBlob(dir, sigConfig);
  const sigBytes = utf8(encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: descriptor(MEDIA_TYPE.OCI_CONFIG, sigConfig),
    layers: [{
      ...descriptor(MEDIA_TYPE.SIMPLE_SIGNING, payload),
      annotations: { "dev.cosignproject.cosign/signature": "MEUC" },
    }],
  }));
  await writeBlob(dir, sigBytes);
  const signatures = descriptor(MEDIA_TYPE.OCI_MANIFEST, sigBytes);

  const empty = utf8("{}");
  await writeBlob(dir, empty);
  const bundle = utf8('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}');
  await writeBlob(dir, bundle);
  const referrerBytes = utf8(encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: {
      ...descriptor(MEDIA_TYPE.OCI_EMPTY, empty),
      artifactType: MEDIA_TYPE.SIGSTORE_BUNDLE_V03,
    },
    layers: [descriptor(MEDIA_TYPE.SIGSTORE_BUNDLE_V03, bundle)],
    annotations: { "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1" },
    subject: image,
    artifactType: MEDIA_TYPE.SIGSTORE_BUNDLE_V03,
  }));
  await writeBlob(dir, referrerBytes);
  const referrer = descriptor(MEDIA_TYPE.OCI_MANIFEST, referrerBytes);

  const indexEntries = [
    { ...image, annotations: { kind: "dev.cosignproject.cosign/image" } },
    { ...signatures, annotations: { kind: "dev.cosignproject.cosign/sigs" } },
  ];
  await writeIndex(dir, indexEntries);
  return { dir, image, layer, signatures, referrer, indexEntries };
}

function blobFile(dir: string, digest: string): string {
  return join(dir, "blobs", "sha256", digest.slice("sha256:".length));
}

Deno.test("readImageLayout() reads a cosign layout: image, .sig manifest, referrer found by scan", async () => {
  await using tmp = await tempDir();
  const built = await buildLayout(tmp.path);
  const layout = await readImageLayout(tmp.path);
  assert.equal(layout.image.digest, built.image.digest);
  assert.equal(layout.signatures?.digest, built.signatures.digest);
  assert.equal(layout.attestations, undefined);
  assert.deepEqual(layout.referrers.map((r) => r.digest), [built.referrer.digest]);
  assert.equal(layout.referrers[0]!.artifactType, MEDIA_TYPE.SIGSTORE_BUNDLE_V03);
  // Children come before the manifests that list them; 3 manifests, 6 blobs (configs, layers).
  assert.equal(layout.manifests.length, 3);
  assert.equal(layout.blobs.length, 6);
  assert.ok(layout.blobs.some((b) => b.digest === built.layer.digest));
});

Deno.test("readImageLayout() takes the only entry of a plain layout without kind annotations", async () => {
  await using tmp = await tempDir();
  const built = await buildLayout(tmp.path);
  await writeIndex(tmp.path, [built.image]);
  const layout = await readImageLayout(tmp.path);
  assert.equal(layout.image.digest, built.image.digest);
  assert.equal(layout.signatures, undefined);
});

Deno.test("readImageLayout() refuses a layer blob that is a symbolic link", async () => {
  await using tmp = await tempDir();
  const built = await buildLayout(tmp.path);
  const path = blobFile(tmp.path, built.layer.digest);
  const outside = join(tmp.path, "outside");
  await Deno.rename(path, outside);
  await Deno.symlink(outside, path);
  await assert.rejects(readImageLayout(tmp.path), code("OCI_LAYOUT_UNSAFE"));
});

Deno.test("readImageLayout() refuses a symlinked blobs/ or blobs/sha256/ directory", async () => {
  for (const part of ["blobs", join("blobs", "sha256")]) {
    await using tmp = await tempDir();
    await buildLayout(tmp.path);
    const real = join(tmp.path, "real-dir");
    await Deno.rename(join(tmp.path, part), real);
    await Deno.symlink(real, join(tmp.path, part));
    await assert.rejects(readImageLayout(tmp.path), code("OCI_LAYOUT_UNSAFE"), part);
  }
});

Deno.test("readImageLayout() refuses a symlinked index.json", async () => {
  await using tmp = await tempDir();
  await buildLayout(tmp.path);
  await Deno.rename(join(tmp.path, "index.json"), join(tmp.path, "real-index.json"));
  await Deno.symlink(join(tmp.path, "real-index.json"), join(tmp.path, "index.json"));
  await assert.rejects(readImageLayout(tmp.path), code("OCI_LAYOUT_UNSAFE"));
});

Deno.test("readImageLayout() refuses a stray symlink or directory in blobs/sha256/", async () => {
  {
    await using tmp = await tempDir();
    await buildLayout(tmp.path);
    await Deno.symlink("/etc/passwd", join(tmp.path, "blobs", "sha256", "a".repeat(64)));
    await assert.rejects(readImageLayout(tmp.path), code("OCI_LAYOUT_UNSAFE"));
  }
  {
    await using tmp = await tempDir();
    await buildLayout(tmp.path);
    await Deno.mkdir(join(tmp.path, "blobs", "sha256", "b".repeat(64)));
    await assert.rejects(readImageLayout(tmp.path), code("OCI_LAYOUT_UNSAFE"));
  }
});

Deno.test("readImageLayout() refuses a traversal digest in index.json before reading any path", async () => {
  await using tmp = await tempDir();
  const built = await buildLayout(tmp.path);
  const text = encodeIndex({
    schemaVersion: 2,
    manifests: [{ ...built.image, annotations: { kind: "dev.cosignproject.cosign/image" } }],
  }).replace(built.image.digest, "sha256:../../../../etc/passwd");
  await Deno.writeTextFile(join(tmp.path, "index.json"), text);
  await assert.rejects(readImageLayout(tmp.path), code("OCI_LAYOUT_INVALID"));
});

Deno.test("readImageLayout() re-hashes every blob: a changed layer, manifest or stray blob fails", async () => {
  {
    await using tmp = await tempDir();
    const built = await buildLayout(tmp.path);
    const path = blobFile(tmp.path, built.layer.digest);
    const bytes = await Deno.readFile(path);
    bytes[0] = bytes[0]! ^ 1; // same size, other content
    await Deno.writeFile(path, bytes);
    await assert.rejects(readImageLayout(tmp.path), code("OCI_DIGEST_MISMATCH"));
  }
  {
    await using tmp = await tempDir();
    const built = await buildLayout(tmp.path);
    const path = blobFile(tmp.path, built.signatures.digest);
    const text = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, text.replace("MEUC", "MEUD"));
    await assert.rejects(readImageLayout(tmp.path), code("OCI_DIGEST_MISMATCH"));
  }
  {
    // A small blob nothing names is still re-hashed when scanning for referrers.
    await using tmp = await tempDir();
    await buildLayout(tmp.path);
    await Deno.writeTextFile(join(tmp.path, "blobs", "sha256", "c".repeat(64)), "{}");
    await assert.rejects(readImageLayout(tmp.path), code("OCI_DIGEST_MISMATCH"));
  }
});

Deno.test("readImageLayout() refuses a blob longer or shorter than its descriptor", async () => {
  for (const change of [(b: Bytes) => new Uint8Array([...b, 0]), (b: Bytes) => b.slice(1)]) {
    await using tmp = await tempDir();
    const built = await buildLayout(tmp.path);
    const path = blobFile(tmp.path, built.layer.digest);
    await Deno.writeFile(path, change(await Deno.readFile(path)));
    await assert.rejects(readImageLayout(tmp.path), code("OCI_SIZE_MISMATCH"));
  }
});

Deno.test("readImageLayout() refuses oversized files and too many objects before reading them", async () => {
  await using tmp = await tempDir();
  const built = await buildLayout(tmp.path);
  await assert.rejects(
    readImageLayout(tmp.path, { limits: { maxBlobBytes: built.layer.size - 1 } }),
    code("OCI_LAYOUT_TOO_LARGE"),
  );
  await assert.rejects(
    readImageLayout(tmp.path, { limits: { maxManifestBytes: 64 } }),
    code("OCI_LAYOUT_TOO_LARGE"),
  );
  await assert.rejects(
    readImageLayout(tmp.path, { limits: { maxObjects: 3 } }),
    code("OCI_LAYOUT_TOO_LARGE"),
  );
  await assert.rejects(
    readImageLayout(tmp.path, { limits: { maxScannedFiles: 2 } }),
    code("OCI_LAYOUT_TOO_LARGE"),
  );
});

Deno.test("readImageLayout() refuses a directory that is not an OCI layout", async () => {
  await using tmp = await tempDir();
  await buildLayout(tmp.path);
  await Deno.remove(join(tmp.path, "oci-layout"));
  await assert.rejects(readImageLayout(tmp.path), code("OCI_LAYOUT_INVALID"));
  await assert.rejects(readImageLayout(join(tmp.path, "missing")), code("OCI_LAYOUT_INVALID"));
});

Deno.test("readImageLayout() refuses an index.json naming no image or two images", async () => {
  await using tmp = await tempDir();
  const built = await buildLayout(tmp.path);
  await writeIndex(tmp.path, [built.indexEntries[1]!]);
  await assert.rejects(readImageLayout(tmp.path), code("OCI_LAYOUT_INVALID"));
  await writeIndex(tmp.path, [
    built.indexEntries[0]!,
    { ...built.signatures, annotations: { kind: "dev.cosignproject.cosign/image" } },
  ]);
  await assert.rejects(readImageLayout(tmp.path), code("OCI_LAYOUT_INVALID"));
});

Deno.test("loadImageLayout() pushes nothing from a layout that fails verification", async () => {
  await using tmp = await tempDir();
  const built = await buildLayout(tmp.path);
  const path = blobFile(tmp.path, built.layer.digest);
  const bytes = await Deno.readFile(path);
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
  await Deno.writeFile(path, bytes);
  const fake = new FakeRegistry();
  const client = new RegistryClient({ fetch: fake.fetch, sleep: () => Promise.resolve() });
  await assert.rejects(
    loadImageLayout(client, tmp.path, parseImageReference(`${fake.host}/org/app:v1`)),
    code("OCI_DIGEST_MISMATCH"),
  );
  assert.equal(fake.requests.length, 0);
});

Deno.test("loadImageLayout() pushes a verified layout: image tag, .sig tag, referrer by digest", async () => {
  await using tmp = await tempDir();
  const built = await buildLayout(tmp.path);
  const fake = new FakeRegistry();
  const client = new RegistryClient({ fetch: fake.fetch, sleep: () => Promise.resolve() });
  const result = await loadImageLayout(
    client,
    tmp.path,
    parseImageReference(`${fake.host}/org/app:v1`),
  );
  assert.equal(result.digest, built.image.digest);
  const hex = built.image.digest.slice("sha256:".length);
  assert.deepEqual(result.tags, [
    `${fake.host}/org/app:v1`,
    `${fake.host}/org/app:sha256-${hex}.sig`,
  ]);
  assert.deepEqual(result.referrers, [`${fake.host}/org/app@${built.referrer.digest}`]);
  assert.equal(result.stats.uploaded, 6);
  const image = await client.getManifest(parseImageReference(`${fake.host}/org/app:v1`));
  assert.equal(image.descriptor.digest, built.image.digest);
  const listed = await client.listReferrers(
    { registry: fake.host, repository: "org/app" },
    built.image.digest,
  );
  assert.deepEqual(listed.manifests.map((m) => m.digest), [built.referrer.digest]);
  // A second load finds every blob present and uploads nothing.
  const again = await loadImageLayout(
    client,
    tmp.path,
    parseImageReference(`${fake.host}/org/app:v1`),
  );
  assert.equal(again.stats.uploaded, 0);
  assert.equal(again.stats.present, 6);
});

Deno.test("openLocalImages() serves a checked layout read-only to the registry client", async () => {
  await using tmp = await tempDir();
  const built = await buildLayout(tmp.path);
  const local = await openLocalImages([tmp.path]);
  const reference = local.references[0]!;
  assert.equal(reference.digest, built.image.digest);
  const client = new RegistryClient({ fetch: local.fetch, sleep: () => Promise.resolve() });
  const hex = built.image.digest.slice("sha256:".length);
  const sig = await client.resolve({
    registry: reference.registry,
    repository: reference.repository,
    tag: `sha256-${hex}.sig`,
  });
  assert.equal(sig.digest, built.signatures.digest);
  const listed = await client.listReferrers(reference, built.image.digest);
  assert.deepEqual(listed.manifests.map((m) => m.digest), [built.referrer.digest]);
  const layer = await client.getBlob(reference, built.layer.digest, { size: built.layer.size });
  assert.equal(layer.length, built.layer.size);
  // Nothing else: no writes, no other host, no blob outside the layout.
  const put = await local.fetch(`http://localhost/v2/${reference.repository}/manifests/x`, {
    method: "PUT",
  });
  assert.equal(put.status, 405);
  const elsewhere = await local.fetch(`http://example.com/v2/${reference.repository}/blobs/x`);
  assert.equal(elsewhere.status, 404);
  await elsewhere.body?.cancel();
  await assert.rejects(
    client.getBlob(reference, `sha256:${"e".repeat(64)}`),
    code("OCI_BLOB_UNKNOWN"),
  );
});
