import assert from "node:assert/strict";
import { sha256Digest, utf8 } from "../../../lib/util/bytes.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { RegistryClient, type RegistryClientOptions } from "../../../lib/oci/client.ts";
import {
  encodeIndex,
  encodeManifest,
  MEDIA_TYPE,
  type OciDescriptor,
  parseIndex,
  parseManifest,
} from "../../../lib/oci/manifest.ts";
import { ANNOTATION, type DigestReference } from "../../../lib/storage/signatures.ts";
import {
  LEGACY_ARTIFACT_TYPE,
  readLegacyReferrers,
  writeLegacyReferrer,
} from "../../../lib/storage/legacy_referrers.ts";
import { FakeRegistry, type FakeRegistryOptions } from "../_fake_registry.ts";

const REPO = "org/app";

function setup(options: FakeRegistryOptions = {}, client: RegistryClientOptions = {}) {
  const fake = new FakeRegistry(options);
  const config = utf8("{}");
  fake.putBlob(REPO, config);
  const manifest = utf8(encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: { mediaType: MEDIA_TYPE.OCI_CONFIG, size: 2, digest: sha256Digest(config) },
    layers: [],
  }));
  const digest = fake.putManifest(REPO, manifest, MEDIA_TYPE.OCI_MANIFEST, "v1");
  const registry = new RegistryClient({
    fetch: fake.fetch,
    sleep: () => Promise.resolve(),
    ...client,
  });
  const image: DigestReference = { registry: fake.host, repository: REPO, digest };
  const subject: OciDescriptor = {
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    digest,
    size: manifest.length,
  };
  return { fake, registry, image, subject };
}

function layer(text: string) {
  return {
    payload: utf8(text),
    mediaType: MEDIA_TYPE.SIMPLE_SIGNING,
    annotations: { [ANNOTATION.SIGNATURE]: "c2ln" },
  };
}

Deno.test("writeLegacyReferrer() pushes cosign's mode B manifest by digest, then reads back its layer", async () => {
  const { fake, registry, image, subject } = setup({ referrersApi: false });
  const written = await writeLegacyReferrer(registry, image, subject, "sig", layer("payload-1"));
  assert.equal(written.fallbackIndex, "written");
  const stored = fake.manifest(REPO, written.manifest.digest)!;
  const manifest = parseManifest(stored.bytes);
  assert.equal(manifest.config.mediaType, LEGACY_ARTIFACT_TYPE.sig);
  assert.equal(manifest.artifactType, LEGACY_ARTIFACT_TYPE.sig);
  assert.equal(manifest.subject?.digest, image.digest);
  assert.equal(manifest.layers[0]?.annotations?.[ANNOTATION.SIGNATURE], "c2ln");
  const index = parseIndex(fake.manifest(REPO, `sha256-${image.digest.slice(7)}`)!.bytes);
  assert.deepEqual(index.manifests.map((m) => m.artifactType), [LEGACY_ARTIFACT_TYPE.sig]);
  const read = await readLegacyReferrers(registry, image);
  assert.deepEqual(read.layers.map((l) => new TextDecoder().decode(l.payload)), ["payload-1"]);
  assert.equal(read.layers[0]?.referrer, written.manifest.digest);
});

Deno.test("writeLegacyReferrer() leaves the index to a registry with the referrers API; SBOMs carry no top-level artifactType", async () => {
  const { fake, registry, image, subject } = setup();
  const written = await writeLegacyReferrer(registry, image, subject, "sbom", {
    payload: utf8("{}"),
    mediaType: "text/spdx+json",
    annotations: {},
  });
  assert.equal(written.fallbackIndex, "referrers-api");
  const manifest = parseManifest(fake.manifest(REPO, written.manifest.digest)!.bytes);
  assert.equal(manifest.config.mediaType, LEGACY_ARTIFACT_TYPE.sbom);
  assert.equal(manifest.artifactType, undefined);
  // An SBOM referrer is no signature.
  assert.deepEqual((await readLegacyReferrers(registry, image)).layers, []);
});

Deno.test("readLegacyReferrers() passes over a listed referrer whose subject is another image", async () => {
  const { fake, registry, image } = setup({ referrersApi: false });
  const other = "sha256:" + "ab".repeat(32);
  const config = utf8("{}");
  const foreign = utf8(encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: { mediaType: LEGACY_ARTIFACT_TYPE.sig, size: 2, digest: sha256Digest(config) },
    layers: [],
    subject: { mediaType: MEDIA_TYPE.OCI_MANIFEST, size: 2, digest: other },
    artifactType: LEGACY_ARTIFACT_TYPE.sig,
  }));
  const digest = fake.putManifest(REPO, foreign, MEDIA_TYPE.OCI_MANIFEST);
  // A registry (or whoever writes the fallback index) lists it among this image's referrers.
  fake.putManifest(
    REPO,
    utf8(encodeIndex({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.OCI_INDEX,
      manifests: [{
        mediaType: MEDIA_TYPE.OCI_MANIFEST,
        size: foreign.length,
        digest,
        artifactType: LEGACY_ARTIFACT_TYPE.sig,
      }],
    })),
    MEDIA_TYPE.OCI_INDEX,
    `sha256-${image.digest.slice(7)}`,
  );
  const read = await readLegacyReferrers(registry, image);
  assert.deepEqual(read.layers, []);
  assert.deepEqual(read.skipped, [{ digest, reason: `its subject is not "${image.digest}"` }]);
});

Deno.test("readLegacyReferrers() refuses more referrers or layers than the limits before fetching them", async () => {
  const { fake, registry, image, subject } = setup({ referrersApi: false }, {
    limits: { maxReferrers: 2, maxSignatures: 2 },
  });
  for (const text of ["a", "b"]) {
    await writeLegacyReferrer(registry, image, subject, "sig", layer(text));
  }
  assert.equal((await readLegacyReferrers(registry, image)).layers.length, 2);
  await writeLegacyReferrer(registry, image, subject, "sig", layer("c"));
  const manifests = () => fake.count("GET", /\/manifests\/sha256:/);
  const blobs = () => fake.count("GET", /\/blobs\//);
  const before = [manifests(), blobs()];
  await assert.rejects(
    () => readLegacyReferrers(registry, image),
    (e) => isCosignError(e, "OCI_TOO_MANY_REFERRERS"),
  );
  assert.deepEqual([manifests(), blobs()], before, "no referrer manifest or layer was fetched");
  const layers = setup({ referrersApi: false }, { limits: { maxSignatures: 1 } });
  for (const text of ["a", "b"]) {
    await writeLegacyReferrer(layers.registry, layers.image, layers.subject, "sig", layer(text));
  }
  const blobsBefore = layers.fake.count("GET", /\/blobs\//);
  await assert.rejects(
    () => readLegacyReferrers(layers.registry, layers.image),
    (e) => isCosignError(e, "OCI_TOO_MANY_SIGNATURES"),
  );
  assert.equal(layers.fake.count("GET", /\/blobs\//), blobsBefore);
});
