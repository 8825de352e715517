/**
 * Referrers as cosign v2.5-v3.0 really leaves them on a registry without the referrers API:
 * go-containerregistry before v0.21.6 writes every fallback-index entry with `artifactType:
 * application/vnd.oci.empty.v1+json` (the config media type) and no annotations, while the
 * referenced manifest carries the bundle type. Every reader (bundles for verify and download,
 * tree, clean, copy) must decide by the manifest, never by the entry.
 */

import assert from "node:assert/strict";
import { type Bytes, fromUtf8, sha256Digest, utf8 } from "../../../lib/util/bytes.ts";
import { referrersTagFor, RegistryClient } from "../../../lib/oci/client.ts";
import {
  encodeIndex,
  encodeManifest,
  MEDIA_TYPE,
  type OciDescriptor,
  type OciManifest,
  parseIndex,
} from "../../../lib/oci/manifest.ts";
import { parseImageReference } from "../../../lib/oci/reference.ts";
import { cleanImage } from "../../../lib/storage/clean.ts";
import { copyImage } from "../../../lib/storage/copy.ts";
import {
  isUntypedReferrerEntry,
  readBundleReferrers,
  referrerArtifactType,
  writeBundleReferrer,
} from "../../../lib/storage/referrers.ts";
import { listSupplyChain } from "../../../lib/storage/tree.ts";
import { FakeRegistry } from "../_fake_registry.ts";

const REPO = "org/app";
const SIGN = "https://sigstore.dev/cosign/sign/v1";
const SLSA = "https://slsa.dev/provenance/v1";
const SBOM_TYPE = "application/spdx+json";

function descriptor(mediaType: string, bytes: Bytes): OciDescriptor {
  return { mediaType, size: bytes.length, digest: sha256Digest(bytes) };
}

/**
 * An image on a registry without the referrers API, with a signature bundle, an attestation
 * bundle and an SBOM artifact as referrers, and its fallback index rewritten the way ggcr before
 * v0.21.6 writes it: every entry's type "empty", no annotations.
 */
async function cosignShapedImage(host = "source.test") {
  const fake = new FakeRegistry({ host, referrersApi: false });
  const targets = new Map<string, FakeRegistry>([[host, fake]]);
  const fetch: typeof globalThis.fetch = (input, init) => {
    const h = new URL(input instanceof Request ? input.url : String(input)).host;
    return (targets.get(h) ?? fake).fetch(input, init);
  };
  const client = new RegistryClient({ fetch, sleep: () => Promise.resolve() });
  const config = utf8('{"os":"linux","architecture":"amd64"}');
  fake.putBlob(REPO, config);
  const manifestBytes = utf8(encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: descriptor(MEDIA_TYPE.OCI_CONFIG, config),
    layers: [],
  }));
  const digest = fake.putManifest(REPO, manifestBytes, MEDIA_TYPE.OCI_MANIFEST, "v1");
  const image = { registry: host, repository: REPO, digest };
  const subject = descriptor(MEDIA_TYPE.OCI_MANIFEST, manifestBytes);
  const signature = await writeBundleReferrer(client, image, subject, utf8('{"s":1}'), {
    predicateType: SIGN,
  });
  const attestation = await writeBundleReferrer(client, image, subject, utf8('{"a":1}'), {
    predicateType: SLSA,
  });
  // An SBOM artifact (OCI 1.1 style: the type in the config media type, as oras writes it).
  const sbom = utf8('{"spdxVersion":"SPDX-2.3"}');
  fake.putBlob(REPO, sbom);
  const sbomManifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: { mediaType: SBOM_TYPE, size: 2, digest: sha256Digest(utf8("{}")) },
    layers: [descriptor(SBOM_TYPE, sbom)],
    subject,
  };
  fake.putBlob(REPO, utf8("{}"));
  const sbomBytes = utf8(encodeManifest(sbomManifest));
  const sbomDigest = fake.putManifest(REPO, sbomBytes, MEDIA_TYPE.OCI_MANIFEST);
  const entries = [
    signature.manifest,
    attestation.manifest,
    descriptor(
      MEDIA_TYPE.OCI_MANIFEST,
      sbomBytes,
    ),
  ]
    .map((m) => ({
      mediaType: MEDIA_TYPE.OCI_MANIFEST,
      size: m.size,
      digest: m.digest,
      artifactType: MEDIA_TYPE.OCI_EMPTY,
    }))
    .sort((a, b) => (a.digest < b.digest ? -1 : 1));
  fake.putManifest(
    REPO,
    utf8(encodeIndex({ schemaVersion: 2, mediaType: MEDIA_TYPE.OCI_INDEX, manifests: entries })),
    MEDIA_TYPE.OCI_INDEX,
    referrersTagFor(digest),
  );
  return { fake, targets, client, image, digest, signature, attestation, sbomDigest };
}

Deno.test("referrerArtifactType() reads the manifest: artifactType, else config, else cosign's config.artifactType, else its one layer", () => {
  const empty = { mediaType: MEDIA_TYPE.OCI_EMPTY, size: 2, digest: sha256Digest(utf8("{}")) };
  const layer = descriptor(MEDIA_TYPE.SIGSTORE_BUNDLE_V03, utf8("{}"));
  const base: OciManifest = { schemaVersion: 2, config: empty, layers: [layer] };
  assert.equal(referrerArtifactType({ ...base, artifactType: "a/b" }), "a/b");
  assert.equal(referrerArtifactType({ ...base, config: { ...empty, mediaType: "c/d" } }), "c/d");
  assert.equal(
    referrerArtifactType({ ...base, config: { ...empty, artifactType: "e/f" } }),
    "e/f",
  );
  assert.equal(referrerArtifactType(base), MEDIA_TYPE.SIGSTORE_BUNDLE_V03);
  assert.equal(referrerArtifactType({ ...base, layers: [layer, layer] }), undefined);
  assert.equal(isUntypedReferrerEntry({ ...layer, artifactType: MEDIA_TYPE.OCI_EMPTY }), true);
  assert.equal(isUntypedReferrerEntry({ ...layer }), true);
  assert.equal(isUntypedReferrerEntry({ ...layer, artifactType: SBOM_TYPE }), false);
});

Deno.test("readBundleReferrers() finds the bundles behind 'empty'-typed fallback entries and passes over the SBOM", async () => {
  const { client, image, signature, attestation, sbomDigest } = await cosignShapedImage();
  const read = await readBundleReferrers(client, image);
  assert.equal(read.source, "fallback-tag");
  assert.deepEqual(
    read.bundles.map((b) => b.manifest.digest).sort(),
    [signature.manifest.digest, attestation.manifest.digest].sort(),
  );
  assert.ok(read.bundles.every((b) => b.artifactType === MEDIA_TYPE.SIGSTORE_BUNDLE_V03));
  assert.deepEqual(read.bundles.map((b) => fromUtf8(b.bundle)).sort(), ['{"a":1}', '{"s":1}']);
  assert.deepEqual(read.skipped.map((s) => s.digest), [sbomDigest]);
  assert.match(read.skipped[0]!.reason, /artifact type "application\/spdx\+json"/);
});

Deno.test("readBundleReferrers() believes the manifest over a listing that calls an SBOM a bundle", async () => {
  const { fake, client, image, digest, sbomDigest } = await cosignShapedImage();
  const index = parseIndex(fake.manifest(REPO, referrersTagFor(digest))!.bytes);
  const lying = index.manifests.map((m) => ({
    ...m,
    artifactType: MEDIA_TYPE.SIGSTORE_BUNDLE_V03,
  }));
  fake.putManifest(
    REPO,
    utf8(encodeIndex({ schemaVersion: 2, mediaType: MEDIA_TYPE.OCI_INDEX, manifests: lying })),
    MEDIA_TYPE.OCI_INDEX,
    referrersTagFor(digest),
  );
  const read = await readBundleReferrers(client, image);
  assert.equal(read.bundles.length, 2);
  assert.deepEqual(read.skipped.map((s) => s.digest), [sbomDigest]);
  // The SBOM blob was never fetched: the manifest said what it is.
  assert.equal(fake.count("GET", /\/blobs\//), 2);
});

Deno.test("readBundleReferrers() does not fetch an entry typed as something else", async () => {
  const { fake, client, image, digest, sbomDigest } = await cosignShapedImage();
  const index = parseIndex(fake.manifest(REPO, referrersTagFor(digest))!.bytes);
  const typed = index.manifests.map((m) =>
    m.digest === sbomDigest ? { ...m, artifactType: SBOM_TYPE } : m
  );
  fake.putManifest(
    REPO,
    utf8(encodeIndex({ schemaVersion: 2, mediaType: MEDIA_TYPE.OCI_INDEX, manifests: typed })),
    MEDIA_TYPE.OCI_INDEX,
    referrersTagFor(digest),
  );
  const read = await readBundleReferrers(client, image);
  assert.equal(read.bundles.length, 2);
  assert.deepEqual(read.skipped, []);
  assert.equal(fake.count("GET", new RegExp(`/manifests/${sbomDigest}`)), 0);
});

Deno.test("listSupplyChain() labels 'empty'-typed fallback entries by their manifests", async () => {
  const { client, image, signature, attestation, sbomDigest } = await cosignShapedImage();
  const tree = await listSupplyChain(client, parseImageReference(`${image.registry}/${REPO}:v1`));
  const byDigest = new Map(tree.referrers.map((r) => [r.digest, r]));
  assert.equal(byDigest.get(signature.manifest.digest)?.kind, "sig");
  assert.equal(byDigest.get(attestation.manifest.digest)?.kind, "att");
  assert.equal(byDigest.get(attestation.manifest.digest)?.predicateType, SLSA);
  assert.equal(
    byDigest.get(signature.manifest.digest)?.artifactType,
    MEDIA_TYPE.SIGSTORE_BUNDLE_V03,
  );
  assert.equal(byDigest.get(sbomDigest)?.artifactType, SBOM_TYPE);
  assert.equal(byDigest.get(sbomDigest)?.kind, "other");
});

Deno.test("cleanImage() --type attestation deletes the attestation behind an 'empty' entry, keeps the signature", async () => {
  const { fake, client, image, digest, signature, attestation } = await cosignShapedImage();
  const result = await cleanImage(client, parseImageReference(`${image.registry}/${REPO}:v1`), {
    type: "attestation",
  });
  assert.deepEqual(result.removed.map((r) => r.digest), [attestation.manifest.digest]);
  assert.equal(fake.manifest(REPO, attestation.manifest.digest), undefined);
  assert.ok(fake.manifest(REPO, signature.manifest.digest) !== undefined);
  const left = parseIndex(fake.manifest(REPO, referrersTagFor(digest))!.bytes);
  assert.ok(!left.manifests.some((m) => m.digest === attestation.manifest.digest));
  assert.equal(left.manifests.length, 2);
});

Deno.test("copyImage() --only sig copies the signature behind an 'empty' entry and writes its real type", async () => {
  const { targets, client, digest, signature } = await cosignShapedImage();
  const target = new FakeRegistry({ host: "target.test", referrersApi: false });
  targets.set(target.host, target);
  const result = await copyImage(
    client,
    parseImageReference(`source.test/${REPO}:v1`),
    parseImageReference(`target.test/mirror/app:v1`),
    { only: ["sig"] },
  );
  assert.deepEqual(result.referrers, [`target.test/mirror/app@${signature.manifest.digest}`]);
  const index = parseIndex(target.manifest("mirror/app", referrersTagFor(digest))!.bytes);
  assert.deepEqual(index.manifests.map((m) => [m.digest, m.artifactType]), [
    [signature.manifest.digest, MEDIA_TYPE.SIGSTORE_BUNDLE_V03],
  ]);
});
