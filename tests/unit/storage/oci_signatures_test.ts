import assert from "node:assert/strict";
import { type Bytes, fromUtf8, sha256Digest, utf8 } from "../../../lib/util/bytes.ts";
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
import { parseImageReference } from "../../../lib/oci/reference.ts";
import {
  ANNOTATION,
  appendLegacyAttachment,
  attachmentTag,
  collectSigningTargets,
  type DigestReference,
  encodeSignatureConfig,
  type ExistingLayer,
  readLegacyAttachments,
  triangulate,
} from "../../../lib/storage/signatures.ts";
import { readBundleReferrers, writeBundleReferrer } from "../../../lib/storage/referrers.ts";
import { INTEROP, readInteropBytes, requireComponents } from "../../_support.ts";
import { FakeRegistry, type FakeRegistryOptions } from "../_fake_registry.ts";

const REPO = "org/app";
const HEX = "97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36";
const SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1";

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

function signatureLayer(payload: string, signature: string, extra: Record<string, string> = {}) {
  return {
    payload: utf8(payload),
    mediaType: MEDIA_TYPE.SIMPLE_SIGNING,
    annotations: { [ANNOTATION.SIGNATURE]: signature, ...extra },
  };
}

// ------------------------------------------------------------------------------ tags

Deno.test("attachmentTag() builds sha256-<hex>.sig/.att/.sbom, never the bare fallback tag", () => {
  assert.equal(attachmentTag(`sha256:${HEX}`, "sig"), `sha256-${HEX}.sig`);
  assert.equal(attachmentTag(`sha256:${HEX}`, "att"), `sha256-${HEX}.att`);
  assert.equal(attachmentTag(`sha256:${HEX}`, "sbom"), `sha256-${HEX}.sbom`);
  assert.throws(
    () => attachmentTag("sha256:abc", "sig"),
    (e) => isCosignError(e, "OCI_REFERENCE_INVALID"),
  );
});

Deno.test("triangulate() answers the tag, relocated by a target repository, or the image by digest", async () => {
  const { fake, registry, image } = setup();
  const ref = parseImageReference(`${fake.host}/${REPO}:v1`);
  const hex = image.digest.slice(7);
  assert.equal(await triangulate(registry, ref), `registry.test/org/app:sha256-${hex}.sig`);
  assert.equal(
    await triangulate(registry, ref, {
      kind: "att",
      targetRepository: { registry: "ghcr.io", repository: "o/sigs" },
    }),
    `ghcr.io/o/sigs:sha256-${hex}.att`,
  );
  // cosign's --type digest: the image's own digest, signed or not, the .sig tag never read.
  const before = fake.requests.length;
  assert.equal(
    await triangulate(registry, ref, { format: "digest" }),
    `registry.test/org/app@${image.digest}`,
  );
  assert.equal(fake.requests.length - before, 1); // the HEAD of the tag
  await appendLegacyAttachment(registry, image, "sig", signatureLayer("p", "s"));
  assert.equal(
    await triangulate(registry, image, {
      format: "digest",
      targetRepository: { registry: "ghcr.io", repository: "o/sigs" },
    }),
    `ghcr.io/o/sigs@${image.digest}`,
  );
});

// ------------------------------------------------------------------------------ mode A write

Deno.test("appendLegacyAttachment() creates the .sig manifest with a ggcr-consistent config", async () => {
  const { fake, registry, image } = setup();
  const layer = signatureLayer('{"critical":{}}', "MEUCIQ==", {
    [ANNOTATION.BUNDLE]: '{"x":"<&>"}',
  });
  const result = await appendLegacyAttachment(registry, image, "sig", layer);
  assert.equal(result.appended, true);
  const stored = fake.manifest(REPO, attachmentTag(image.digest, "sig"))!;
  assert.equal(stored.mediaType, MEDIA_TYPE.OCI_MANIFEST);
  assert.equal(result.manifest.digest, sha256Digest(stored.bytes));
  const manifest = parseManifest(stored.bytes);
  assert.equal(manifest.config.mediaType, MEDIA_TYPE.OCI_CONFIG);
  const payloadDigest = sha256Digest(layer.payload);
  assert.deepEqual(manifest.layers, [{
    mediaType: MEDIA_TYPE.SIMPLE_SIGNING,
    size: layer.payload.length,
    digest: payloadDigest,
    annotations: layer.annotations,
  }]);
  // Go encoding/json escapes <, > and & in annotation values.
  assert.ok(fromUtf8(stored.bytes).includes("\\u003c\\u0026\\u003e"));
  const config = fake.blob(REPO, manifest.config.digest)!;
  assert.equal(manifest.config.size, config.length);
  assert.equal(config.length, 233); // cosign-spec.md section 1.3 example: one layer
  assert.deepEqual(JSON.parse(fromUtf8(config)), {
    architecture: "",
    created: "0001-01-01T00:00:00Z",
    history: [{ created: "0001-01-01T00:00:00Z" }],
    os: "",
    rootfs: { type: "layers", diff_ids: [payloadDigest] },
    config: {},
  });
  assert.deepEqual(fake.blob(REPO, payloadDigest), layer.payload);
});

Deno.test("appendLegacyAttachment() extends an existing manifest and keeps diff_ids/history per layer", async () => {
  const { fake, registry, image } = setup();
  const first = signatureLayer("payload", "sig-1");
  const second = signatureLayer("payload", "sig-2");
  await appendLegacyAttachment(registry, image, "sig", first);
  await appendLegacyAttachment(registry, image, "sig", second);
  const manifest = parseManifest(fake.manifest(REPO, attachmentTag(image.digest, "sig"))!.bytes);
  assert.deepEqual(manifest.layers.map((l) => l.annotations?.[ANNOTATION.SIGNATURE]), [
    "sig-1",
    "sig-2",
  ]);
  const config = JSON.parse(fromUtf8(fake.blob(REPO, manifest.config.digest)!));
  assert.deepEqual(config.rootfs.diff_ids, manifest.layers.map((l) => l.digest));
  assert.equal(config.history.length, 2);
  assert.deepEqual(
    fake.blob(REPO, manifest.config.digest),
    encodeSignatureConfig(manifest.layers.map((l) => l.digest)),
  );
});

Deno.test("appendLegacyAttachment() dedupes an identical key signature the callback confirms", async () => {
  const { fake, registry, image } = setup();
  const layer = signatureLayer("payload", "sig-1");
  await appendLegacyAttachment(registry, image, "sig", layer);
  const offered: ExistingLayer[] = [];
  const puts = fake.count("PUT", /\/manifests\//);
  const again = await appendLegacyAttachment(
    registry,
    image,
    "sig",
    signatureLayer("payload", "sig-1b"),
    {
      isDuplicate: (existing) => (offered.push(existing), Promise.resolve(true)),
    },
  );
  assert.equal(again.appended, false);
  assert.equal(offered.length, 1);
  assert.equal(offered[0]!.annotations[ANNOTATION.SIGNATURE], "sig-1");
  assert.equal(fake.count("PUT", /\/manifests\//), puts);
  // The callback says the old signature does not verify with the new key: append.
  const other = await appendLegacyAttachment(registry, image, "sig", layer, {
    isDuplicate: () => Promise.resolve(false),
  });
  assert.equal(other.appended, true);
  assert.equal(
    parseManifest(fake.manifest(REPO, attachmentTag(image.digest, "sig"))!.bytes).layers.length,
    2,
  );
});

Deno.test("appendLegacyAttachment() only offers layers with equal digest, media type and annotations", async () => {
  const { registry, image } = setup();
  await appendLegacyAttachment(
    registry,
    image,
    "sig",
    signatureLayer("payload", "s", { [ANNOTATION.BUNDLE]: "old" }),
  );
  let calls = 0;
  const isDuplicate = () => (calls++, Promise.resolve(true));
  const fresh = await appendLegacyAttachment(
    registry,
    image,
    "sig",
    signatureLayer("payload", "s", { [ANNOTATION.BUNDLE]: "new" }),
    { isDuplicate },
  );
  assert.equal(fresh.appended, true);
  const otherPayload = await appendLegacyAttachment(
    registry,
    image,
    "sig",
    signatureLayer("other", "s"),
    { isDuplicate },
  );
  assert.equal(otherPayload.appended, true);
  assert.equal(calls, 0);
});

Deno.test("attestations never dedupe: their signature annotation is empty", async () => {
  const { fake, registry, image } = setup();
  const envelope = {
    payload: utf8('{"payloadType":"application/vnd.in-toto+json"}'),
    mediaType: MEDIA_TYPE.DSSE_ENVELOPE,
    annotations: {
      [ANNOTATION.SIGNATURE]: "",
      [ANNOTATION.PREDICATE_TYPE]: "https://slsa.dev/provenance/v1",
    },
  };
  let calls = 0;
  const isDuplicate = () => (calls++, Promise.resolve(true));
  await appendLegacyAttachment(registry, image, "att", envelope, { isDuplicate });
  const second = await appendLegacyAttachment(registry, image, "att", envelope, { isDuplicate });
  assert.equal(second.appended, true);
  assert.equal(calls, 0);
  assert.equal(
    parseManifest(fake.manifest(REPO, attachmentTag(image.digest, "att"))!.bytes).layers.length,
    2,
  );
});

Deno.test("COSIGN_DOCKER_MEDIA_TYPES writes Docker types, and appends keep them", async () => {
  const { fake, registry, image } = setup();
  await appendLegacyAttachment(registry, image, "sig", signatureLayer("a", "1"), {
    dockerMediaTypes: true,
  });
  await appendLegacyAttachment(registry, image, "sig", signatureLayer("b", "2"));
  const stored = fake.manifest(REPO, attachmentTag(image.digest, "sig"))!;
  assert.equal(stored.mediaType, MEDIA_TYPE.DOCKER_MANIFEST);
  const manifest = parseManifest(stored.bytes);
  assert.equal(manifest.mediaType, MEDIA_TYPE.DOCKER_MANIFEST);
  assert.equal(manifest.config.mediaType, MEDIA_TYPE.DOCKER_CONFIG);
  assert.equal(manifest.layers.length, 2);
});

Deno.test("a target repository relocates writes and reads; the digest stays the image's", async () => {
  const { fake, registry, image } = setup();
  const targetRepository = { registry: fake.host, repository: "org/signatures" };
  await appendLegacyAttachment(registry, image, "sig", signatureLayer("p", "s"), {
    targetRepository,
  });
  assert.equal(fake.manifest(REPO, attachmentTag(image.digest, "sig")), undefined);
  assert.ok(fake.manifest("org/signatures", attachmentTag(image.digest, "sig")));
  const read = await readLegacyAttachments(registry, image, "sig", { targetRepository });
  assert.equal(read.layers.length, 1);
  assert.equal((await readLegacyAttachments(registry, image, "sig")).layers.length, 0);
});

// ------------------------------------------------------------------------------ mode A read

Deno.test("readLegacyAttachments() costs two requests for a digest with one signature", async () => {
  const { fake, registry, image } = setup();
  const layer = signatureLayer("payload bytes", "c2ln", { [ANNOTATION.CERTIFICATE]: "PEM" });
  await appendLegacyAttachment(registry, image, "sig", layer);
  const before = fake.requests.length;
  const read = await readLegacyAttachments(registry, image, "sig");
  assert.deepEqual(
    fake.requests.slice(before).map((r) => `${r.method} ${r.url.pathname.split("/")[4]}`),
    [
      "GET manifests",
      "GET blobs",
    ],
  );
  assert.equal(read.layers.length, 1);
  assert.deepEqual(read.layers[0]!.payload, layer.payload);
  assert.deepEqual(read.layers[0]!.annotations, layer.annotations);
  assert.equal(read.reference.tag, attachmentTag(image.digest, "sig"));
});

Deno.test("readLegacyAttachments() of an unsigned image is empty after one request", async () => {
  const { fake, registry, image } = setup();
  const read = await readLegacyAttachments(registry, image, "sig");
  assert.deepEqual(read.layers, []);
  assert.equal(read.manifest, undefined);
  assert.equal(fake.requests.length, 1);
});

function hostileSigManifest(
  fake: FakeRegistry,
  image: DigestReference,
  layers: number,
  size = 248,
): void {
  const layer = { mediaType: MEDIA_TYPE.SIMPLE_SIGNING, size, digest: `sha256:${"1".repeat(64)}` };
  const bytes = utf8(encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: { mediaType: MEDIA_TYPE.OCI_CONFIG, size: 2, digest: `sha256:${"2".repeat(64)}` },
    layers: Array.from({ length: layers }, () => layer),
  }));
  fake.putManifest(REPO, bytes, MEDIA_TYPE.OCI_MANIFEST, attachmentTag(image.digest, "sig"));
}

Deno.test("a .sig manifest with 10,000 layers is refused before any layer is fetched", async () => {
  const { fake, registry, image } = setup();
  hostileSigManifest(fake, image, 10_000);
  await assert.rejects(
    () => readLegacyAttachments(registry, image, "sig"),
    (e) => isCosignError(e, "OCI_TOO_MANY_LAYERS") && e.message.includes("10000"),
  );
  assert.equal(fake.count("GET", /\/blobs\//), 0);
});

Deno.test("more than 100 signatures are refused before any layer is fetched", async () => {
  const { fake, registry, image } = setup();
  hostileSigManifest(fake, image, 101);
  await assert.rejects(
    () => readLegacyAttachments(registry, image, "sig"),
    (e) => isCosignError(e, "OCI_TOO_MANY_SIGNATURES") && e.message.includes("101"),
  );
  assert.equal(fake.count("GET", /\/blobs\//), 0);
  hostileSigManifest(fake, image, 100);
  await assert.rejects(
    () => readLegacyAttachments(registry, image, "sig"),
    (e) => isCosignError(e, "OCI_BLOB_UNKNOWN"),
  );
});

Deno.test("a signature layer whose descriptor passes the attachment limit is refused unfetched", async () => {
  const { fake, registry, image } = setup();
  hostileSigManifest(fake, image, 1, 2 ** 31);
  await assert.rejects(
    () => readLegacyAttachments(registry, image, "sig"),
    (e) => isCosignError(e, "OCI_TOO_LARGE"),
  );
  assert.equal(fake.count("GET", /\/blobs\//), 0);
});

Deno.test("a signature layer answered with a 2 GiB Content-Length is refused fast, unread", async () => {
  const { fake, registry, image } = setup();
  await appendLegacyAttachment(registry, image, "sig", signatureLayer("payload", "s"));
  let pulls = 0;
  fake.intercept = (req) =>
    req.method === "GET" && req.url.pathname.includes("/blobs/")
      ? new Response(
        new ReadableStream({
          pull(controller) {
            pulls++;
            controller.enqueue(new Uint8Array(1024 * 1024));
          },
        }),
        { headers: { "content-length": String(2 ** 31) } },
      )
      : undefined;
  await assert.rejects(
    () => readLegacyAttachments(registry, image, "sig"),
    (e) => isCosignError(e, "OCI_TOO_LARGE"),
  );
  assert.ok(pulls <= 1, `pulled ${pulls} chunks`);
});

Deno.test("collectSigningTargets() lists an index and its manifests for --recursive", async () => {
  const { fake, registry, image, subject } = setup();
  const index = utf8(encodeIndex({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_INDEX,
    manifests: [
      { ...subject, platform: { architecture: "amd64", os: "linux" } },
      {
        ...subject,
        digest: `sha256:${"3".repeat(64)}`,
        platform: { architecture: "arm64", os: "linux" },
      },
    ],
  }));
  const indexDigest = fake.putManifest(REPO, index, MEDIA_TYPE.OCI_INDEX, "multi");
  const ref = parseImageReference(`${fake.host}/${REPO}:multi`);
  const flat = await collectSigningTargets(registry, ref);
  assert.deepEqual(flat.map((t) => t.digest), [indexDigest]);
  const all = await collectSigningTargets(registry, ref, { recursive: true });
  assert.deepEqual(all.map((t) => t.digest), [
    indexDigest,
    image.digest,
    `sha256:${"3".repeat(64)}`,
  ]);
});

// ------------------------------------------------------------------------------ mode C

const BUNDLE = utf8('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}');
const CREATED = new Date("2025-03-08T18:18:20.123Z");

Deno.test("writeBundleReferrer() pushes the spec 1.8 manifest by digest on a referrers-API registry", async () => {
  const { fake, registry, image, subject } = setup();
  const result = await writeBundleReferrer(registry, image, subject, BUNDLE, {
    predicateType: SIGN_PREDICATE,
    created: CREATED,
  });
  assert.equal(result.fallbackIndex, false);
  const stored = fake.manifest(REPO, result.manifest.digest)!;
  const empty = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
  assert.equal(
    fromUtf8(stored.bytes),
    `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
      `"config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"${empty}",` +
      `"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"},` +
      `"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","size":${BUNDLE.length},` +
      `"digest":"${sha256Digest(BUNDLE)}"}],` +
      `"annotations":{"dev.sigstore.bundle.content":"dsse-envelope",` +
      `"dev.sigstore.bundle.predicateType":"${SIGN_PREDICATE}",` +
      `"org.opencontainers.image.created":"2025-03-08T18:18:20Z"},` +
      `"subject":{"mediaType":"${subject.mediaType}","size":${subject.size},"digest":"${subject.digest}"},` +
      `"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`,
  );
  assert.deepEqual(fake.blob(REPO, empty), utf8("{}"));
  assert.deepEqual(fake.blob(REPO, sha256Digest(BUNDLE)), BUNDLE);
  assert.ok(
    fake.requests.some((r) =>
      r.method === "PUT" && r.url.pathname.endsWith(`/manifests/${result.manifest.digest}`)
    ),
  );
  assert.equal(fake.manifest(REPO, `sha256-${image.digest.slice(7)}`), undefined);
});

Deno.test("writeBundleReferrer() checks the referrers API when the PUT has no OCI-Subject", async () => {
  const { fake, registry, image, subject } = setup({ ociSubjectHeader: false });
  const result = await writeBundleReferrer(registry, image, subject, BUNDLE, {
    predicateType: SIGN_PREDICATE,
  });
  assert.equal(result.fallbackIndex, false);
  assert.equal(fake.count("GET", /\/referrers\//), 1);
});

Deno.test("writeBundleReferrer() without a referrers API creates, appends to and sorts the fallback index", async () => {
  const { fake, registry, image, subject } = setup({ referrersApi: false });
  const tag = `sha256-${image.digest.slice(7)}`;
  const bundles = [1, 2, 3].map((i) => utf8(`{"bundle":${i}}`));
  const digests: string[] = [];
  for (const bundle of bundles) {
    const result = await writeBundleReferrer(registry, image, subject, bundle, {
      predicateType: SIGN_PREDICATE,
    });
    assert.equal(result.fallbackIndex, true);
    digests.push(result.manifest.digest);
    const index = parseIndex(fake.manifest(REPO, tag)!.bytes);
    assert.equal(index.mediaType, MEDIA_TYPE.OCI_INDEX);
    assert.equal(index.manifests.length, digests.length);
    const listed = index.manifests.map((m) => m.digest);
    assert.deepEqual(listed, [...listed].sort());
    assert.deepEqual(new Set(listed), new Set(digests));
    for (const entry of index.manifests) {
      assert.equal(entry.artifactType, MEDIA_TYPE.SIGSTORE_BUNDLE_V03);
      assert.equal(entry.mediaType, MEDIA_TYPE.OCI_MANIFEST);
    }
  }
  assert.equal(fake.manifest(REPO, tag)!.mediaType, MEDIA_TYPE.OCI_INDEX);
});

Deno.test("readBundleReferrers() reads bundles through the referrers API in three requests", async () => {
  const { fake, registry, image, subject } = setup();
  const written = await writeBundleReferrer(registry, image, subject, BUNDLE, {
    predicateType: SIGN_PREDICATE,
    created: CREATED,
  });
  const before = fake.requests.length;
  const read = await readBundleReferrers(registry, image);
  assert.equal(read.source, "referrers-api");
  assert.equal(fake.requests.length - before, 3);
  assert.equal(read.bundles.length, 1);
  const [found] = read.bundles;
  assert.deepEqual(found!.bundle, BUNDLE);
  assert.equal(found!.manifest.digest, written.manifest.digest);
  assert.equal(found!.artifactType, MEDIA_TYPE.SIGSTORE_BUNDLE_V03);
  assert.equal(found!.annotations[ANNOTATION.BUNDLE_PREDICATE_TYPE], SIGN_PREDICATE);
});

Deno.test("readBundleReferrers() reads bundles through the fallback tag", async () => {
  const { registry, image, subject } = setup({ referrersApi: false });
  await writeBundleReferrer(registry, image, subject, BUNDLE, { predicateType: SIGN_PREDICATE });
  await writeBundleReferrer(registry, image, subject, utf8('{"second":true}'), {
    predicateType: SIGN_PREDICATE,
  });
  const read = await readBundleReferrers(registry, image);
  assert.equal(read.source, "fallback-tag");
  assert.deepEqual(
    read.bundles.map((b) => fromUtf8(b.bundle)).sort(),
    [fromUtf8(BUNDLE), '{"second":true}'].sort(),
  );
});

function putReferrer(
  fake: FakeRegistry,
  subject: OciDescriptor,
  layers: { mediaType: string; bytes: Bytes; size?: number }[],
  artifactType = MEDIA_TYPE.SIGSTORE_BUNDLE_V03 as string,
): string {
  return fake.putManifest(
    REPO,
    utf8(encodeManifest({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.OCI_MANIFEST,
      artifactType,
      config: { mediaType: MEDIA_TYPE.OCI_EMPTY, size: 2, digest: sha256Digest(utf8("{}")) },
      layers: layers.map((l) => ({
        mediaType: l.mediaType,
        size: l.size ?? l.bytes.length,
        digest: fake.putBlob(REPO, l.bytes),
      })),
      subject,
    })),
    MEDIA_TYPE.OCI_MANIFEST,
  );
}

Deno.test("readBundleReferrers() keeps only one-layer bundle manifests about this image", async () => {
  const { fake, registry, image, subject } = setup();
  const bundleLayer = { mediaType: MEDIA_TYPE.SIGSTORE_BUNDLE_V03, bytes: BUNDLE };
  const good = putReferrer(fake, subject, [bundleLayer]);
  const newSpelling = putReferrer(fake, subject, [
    { mediaType: "application/vnd.dev.sigstore.bundle+json;version=0.3", bytes: utf8('{"v":3}') },
  ]);
  const twoLayers = putReferrer(fake, subject, [bundleLayer, {
    mediaType: "text/plain",
    bytes: utf8("x"),
  }]);
  const notBundle = putReferrer(fake, subject, [{ mediaType: "text/plain", bytes: utf8("y") }]);
  const tooBig = putReferrer(fake, subject, [{
    ...bundleLayer,
    bytes: utf8('{"big":1}'),
    size: 11 * 1024 * 1024,
  }]);
  putReferrer(fake, subject, [bundleLayer], "application/vnd.example.sbom");
  const read = await readBundleReferrers(registry, image);
  assert.deepEqual(read.bundles.map((b) => b.manifest.digest).sort(), [good, newSpelling].sort());
  assert.deepEqual(read.skipped.map((s) => s.digest).sort(), [twoLayers, notBundle, tooBig].sort());
  assert.ok(read.skipped.find((s) => s.digest === tooBig)!.reason.includes("exceeds the limit"));
  // Only the bundle layers that were kept were fetched.
  assert.equal(fake.count("GET", /\/blobs\//), 2);
});

Deno.test("readBundleReferrers() passes over a listed referrer whose subject is another image", async () => {
  const { fake, registry, image, subject } = setup({ referrersApi: false });
  const other = { ...subject, digest: `sha256:${"4".repeat(64)}` };
  const stranger = putReferrer(fake, other, [{
    mediaType: MEDIA_TYPE.SIGSTORE_BUNDLE_V03,
    bytes: BUNDLE,
  }]);
  const index = utf8(encodeIndex({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_INDEX,
    manifests: [{
      mediaType: MEDIA_TYPE.OCI_MANIFEST,
      digest: stranger,
      size: fake.manifest(REPO, stranger)!.bytes.length,
      artifactType: MEDIA_TYPE.SIGSTORE_BUNDLE_V03,
    }],
  }));
  fake.putManifest(REPO, index, MEDIA_TYPE.OCI_INDEX, `sha256-${image.digest.slice(7)}`);
  const read = await readBundleReferrers(registry, image);
  assert.deepEqual(read.bundles, []);
  assert.match(read.skipped[0]!.reason, /subject/);
});

Deno.test("readBundleReferrers() refuses more than 100 bundle referrers before fetching any", async () => {
  const { fake, registry, image } = setup({ referrersApi: false });
  const manifests = Array.from({ length: 101 }, (_, i) => ({
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    digest: `sha256:${i.toString(16).padStart(64, "0")}`,
    size: 100,
    artifactType: MEDIA_TYPE.SIGSTORE_BUNDLE_V03,
  }));
  const index = utf8(encodeIndex({ schemaVersion: 2, mediaType: MEDIA_TYPE.OCI_INDEX, manifests }));
  fake.putManifest(REPO, index, MEDIA_TYPE.OCI_INDEX, `sha256-${image.digest.slice(7)}`);
  const before = fake.requests.length;
  await assert.rejects(
    () => readBundleReferrers(registry, image),
    (e) => isCosignError(e, "OCI_TOO_MANY_REFERRERS") && e.message.includes("101"),
  );
  assert.equal(fake.requests.length - before, 2); // referrers API 404 + fallback tag
});

Deno.test("readBundleReferrers() refuses a referrer manifest that does not match its listed digest", async () => {
  const { fake, registry, image, subject } = setup();
  const digest = putReferrer(fake, subject, [{
    mediaType: MEDIA_TYPE.SIGSTORE_BUNDLE_V03,
    bytes: BUNDLE,
  }]);
  fake.intercept = (req) =>
    req.url.pathname.endsWith(`/manifests/${digest}`)
      ? new Response(utf8('{"schemaVersion":2,"layers":[]}'), {
        headers: { "content-type": MEDIA_TYPE.OCI_MANIFEST },
      })
      : undefined;
  await assert.rejects(
    () => readBundleReferrers(registry, image),
    (e) => isCosignError(e, "OCI_DIGEST_MISMATCH"),
  );
});

if (requireComponents("cosign OCI attestation bundle round trip", INTEROP)) {
  Deno.test("a cosign v3 attestation bundle written as a referrer reads back byte for byte", async () => {
    const bundle = readInteropBytes("fixtures/cosign/testdata/oci-attestation.sigstore.json");
    for (const referrersApi of [true, false]) {
      const { registry, image, subject } = setup({ referrersApi });
      await writeBundleReferrer(registry, image, subject, bundle, {
        predicateType: "https://cosign.sigstore.dev/attestation/v1",
      });
      const read = await readBundleReferrers(registry, image);
      assert.equal(read.bundles.length, 1);
      assert.deepEqual(read.bundles[0]!.bundle, bundle);
      assert.equal(
        read.bundles[0]!.annotations[ANNOTATION.BUNDLE_PREDICATE_TYPE],
        "https://cosign.sigstore.dev/attestation/v1",
      );
    }
  });
}
