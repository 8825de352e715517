/**
 * cleanImage() on a registry without the referrers API: legacy tags go by digest, referrers of
 * the type asked for are deleted, and the fallback index is rewritten without them (or deleted
 * when nothing is left), so no reader follows an entry to a deleted manifest.
 */

import assert from "node:assert/strict";
import { sha256Digest, utf8 } from "../../../lib/util/bytes.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { referrersTagFor, RegistryClient } from "../../../lib/oci/client.ts";
import { cleanImage } from "../../../lib/storage/clean.ts";
import { encodeManifest, MEDIA_TYPE, parseIndex } from "../../../lib/oci/manifest.ts";
import { parseImageReference } from "../../../lib/oci/reference.ts";
import { writeBundleReferrer } from "../../../lib/storage/referrers.ts";
import { appendLegacyAttachment, attachmentTag } from "../../../lib/storage/signatures.ts";
import { FakeRegistry } from "../_fake_registry.ts";

const REPO = "org/app";

async function setup() {
  const fake = new FakeRegistry({ referrersApi: false });
  const client = new RegistryClient({ fetch: fake.fetch, sleep: () => Promise.resolve() });
  const config = utf8("{}");
  fake.putBlob(REPO, config);
  const manifest = utf8(encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: { mediaType: MEDIA_TYPE.OCI_CONFIG, size: 2, digest: sha256Digest(config) },
    layers: [],
  }));
  const digest = fake.putManifest(REPO, manifest, MEDIA_TYPE.OCI_MANIFEST, "v1");
  const image = { registry: fake.host, repository: REPO, digest };
  const subject = { mediaType: MEDIA_TYPE.OCI_MANIFEST, digest, size: manifest.length };
  await appendLegacyAttachment(client, image, "sig", {
    payload: utf8('{"critical":{}}'),
    mediaType: MEDIA_TYPE.SIMPLE_SIGNING,
    annotations: { "dev.cosignproject.cosign/signature": "MEUC" },
  });
  const signature = await writeBundleReferrer(client, image, subject, utf8('{"s":1}'), {
    predicateType: "https://sigstore.dev/cosign/sign/v1",
  });
  const attestation = await writeBundleReferrer(client, image, subject, utf8('{"a":1}'), {
    predicateType: "https://slsa.dev/provenance/v1",
  });
  return { fake, client, digest, signature, attestation };
}

async function fallbackEntries(client: RegistryClient, host: string, digest: string) {
  try {
    const index = await client.getManifest(
      parseImageReference(`${host}/${REPO}:${referrersTagFor(digest)}`),
    );
    return parseIndex(index.bytes).manifests.map((m) => m.digest);
  } catch (error) {
    if (isCosignError(error, "OCI_MANIFEST_UNKNOWN")) return undefined;
    throw error;
  }
}

Deno.test("cleanImage() --type signature deletes the .sig tag and signature bundles, keeps attestations in the index", async () => {
  const { fake, client, digest, signature, attestation } = await setup();
  assert.deepEqual(
    (await fallbackEntries(client, fake.host, digest))?.sort(),
    [signature.manifest.digest, attestation.manifest.digest].sort(),
  );
  const result = await cleanImage(client, parseImageReference(`${fake.host}/${REPO}:v1`), {
    type: "signature",
  });
  assert.deepEqual(result.removed.map((r) => `${r.source} ${r.kind}`).sort(), [
    "referrer sig",
    "tag sig",
  ]);
  assert.equal(result.fallbackIndex, "written");
  assert.deepEqual(await fallbackEntries(client, fake.host, digest), [attestation.manifest.digest]);
  // The .sig tag was deleted through its digest.
  assert.ok(fake.count("DELETE", /\/manifests\/sha256:/) >= 2);
  assert.equal(
    await client.headManifest(
      parseImageReference(`${fake.host}/${REPO}:${attachmentTag(digest, "sig")}`),
    ),
    undefined,
  );
});

Deno.test("cleanImage() --type all deletes every attachment and the emptied fallback index; the image stays", async () => {
  const { fake, client, digest } = await setup();
  const result = await cleanImage(client, parseImageReference(`${fake.host}/${REPO}:v1`));
  assert.equal(result.removed.length, 3);
  assert.equal(result.fallbackIndex, "deleted");
  assert.equal(await fallbackEntries(client, fake.host, digest), undefined);
  assert.equal(
    (await client.resolve(parseImageReference(`${fake.host}/${REPO}:v1`))).digest,
    digest,
  );
  // Cleaning again finds nothing and changes nothing.
  const again = await cleanImage(client, parseImageReference(`${fake.host}/${REPO}:v1`));
  assert.deepEqual(again.removed, []);
  assert.equal(again.fallbackIndex, "unchanged");
});

Deno.test("cleanImage() names the registry setting when deletes are refused", async () => {
  const { fake, client } = await setup();
  fake.intercept = (req) =>
    req.method === "DELETE"
      ? new Response(JSON.stringify({ errors: [{ code: "UNSUPPORTED", message: "disabled" }] }), {
        status: 405,
      })
      : undefined;
  await assert.rejects(
    cleanImage(client, parseImageReference(`${fake.host}/${REPO}:v1`)),
    (error) =>
      isCosignError(error, "OCI_DELETE_UNSUPPORTED") &&
      /enable deletes, e\.g\. REGISTRY_STORAGE_DELETE_ENABLED=true/.test(error.message),
  );
});
