/**
 * cosign's OCI 1.1 referrer flags through the CLI on the embedded registry (which has the
 * referrers API): `sign --registry-referrers-mode oci-1-1` (a legacy signature pushed as a
 * referrer, mode B, with `--new-bundle-format=false`; a bundle referrer otherwise), `verify
 * --experimental-oci11` reading it back, `tree` with both flags, and `attach sbom
 * --registry-referrers-mode oci-1-1`.
 */

import assert from "node:assert/strict";
import { RegistryClient } from "../../lib/oci/client.ts";
import { parseImageReference } from "../../lib/oci/reference.ts";
import { readLegacyAttachments } from "../../lib/storage/signatures.ts";
import { LEGACY_ARTIFACT_TYPE } from "../../lib/storage/legacy_referrers.ts";
import { openImageEnv } from "./_image_env.ts";

const KEY = ["--key", "cosign.key", "--tlog-upload=false"];
const VERIFY = ["verify", "--key", "cosign.pub", "--insecure-ignore-tlog"];

Deno.test("sign --new-bundle-format=false --registry-referrers-mode oci-1-1 pushes a legacy signature referrer; verify --experimental-oci11 reads it", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("modeb/app");
  const signed = await env.run([
    "sign",
    ...KEY,
    "--new-bundle-format=false",
    "--registry-referrers-mode",
    "oci-1-1",
    image.reference,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(signed.stderr, /Pushing signature to: .*@sha256:/);

  // No .sig tag: the signature lives only as a referrer of the artifact.sig type.
  const client = new RegistryClient({ fetch: env.fetch });
  const ref = parseImageReference(image.byDigest);
  const tag = await readLegacyAttachments(client, {
    registry: ref.registry,
    repository: ref.repository,
    digest: image.digest,
  }, "sig");
  assert.equal(tag.layers.length, 0);
  const listed = await client.listReferrers(ref, image.digest);
  assert.deepEqual(listed.manifests.map((m) => m.artifactType), [LEGACY_ARTIFACT_TYPE.sig]);

  const plain = await env.run([...VERIFY, image.reference]);
  assert.equal(plain.code, 10, plain.stderr);
  const oci11 = await env.run([...VERIFY, "--experimental-oci11", image.reference]);
  assert.equal(oci11.code, 0, oci11.stderr);
  const [payload] = JSON.parse(oci11.stdout);
  assert.equal(payload.critical.image["docker-manifest-digest"], image.digest);
  assert.equal(payload.critical.type, "cosign container image signature");

  // Another key's signature does not verify, referrer or not.
  assert.equal((await env.run(["generate-key-pair", "--output-key-prefix", "other"])).code, 0);
  const wrong = await env.run([
    "verify",
    "--key",
    "other.pub",
    "--insecure-ignore-tlog",
    "--experimental-oci11",
    image.reference,
  ]);
  assert.equal(wrong.code, 12, wrong.stderr);
  assert.match(wrong.stderr, /legacy signature referrer layer/);
});

Deno.test("sign --registry-referrers-mode oci-1-1 with the bundle format stores the usual bundle referrer", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("modeb/bundle");
  const signed = await env.run([
    "sign",
    ...KEY,
    "--registry-referrers-mode=oci-1-1",
    image.reference,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const verified = await env.run([...VERIFY, image.reference]);
  assert.equal(verified.code, 0, verified.stderr);
  const bad = await env.run([
    "sign",
    ...KEY,
    "--registry-referrers-mode",
    "oci11",
    image.reference,
  ]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /expected one of legacy, oci-1-1/);
});

Deno.test("tree lists referrers unless --experimental-oci11=false without --registry-referrers-mode oci-1-1; attach sbom --registry-referrers-mode oci-1-1", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("modeb/tree");
  await Deno.writeTextFile(`${env.dir}/sbom.spdx.json`, '{"spdxVersion":"SPDX-2.3"}');
  const attached = await env.run([
    "attach",
    "sbom",
    "--sbom",
    "sbom.spdx.json",
    "--registry-referrers-mode",
    "oci-1-1",
    image.reference,
  ]);
  assert.equal(attached.code, 0, attached.stderr);
  const tree = async (flags: string[]) => {
    const result = await env.run(["tree", "-o", "json", ...flags, image.reference]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  };
  const all = await tree([]);
  assert.deepEqual(all.attachments, []);
  assert.equal(all.referrers.length, 1);
  assert.equal(all.referrers[0].kind, "sbom");
  assert.equal(all.referrers[0].artifactType, LEGACY_ARTIFACT_TYPE.sbom);
  assert.equal(all.referrers[0].layers[0].mediaType, "text/spdx+json");
  const legacyOnly = await tree(["--experimental-oci11=false"]);
  assert.deepEqual(legacyOnly.referrers, []);
  assert.equal(legacyOnly.referrersSource, "not-read");
  const byMode = await tree(["--experimental-oci11=false", "--registry-referrers-mode", "oci-1-1"]);
  assert.equal(byMode.referrers.length, 1);
});

Deno.test("verify-attestation takes --experimental-oci11 as cosign 2.x does, and it changes nothing", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("modeb/att");
  await Deno.writeTextFile(`${env.dir}/p.json`, "{}");
  assert.equal(
    (await env.run(["attest", ...KEY, "--predicate", "p.json", image.reference])).code,
    0,
  );
  const result = await env.run([
    "verify-attestation",
    "--key",
    "cosign.pub",
    "--insecure-ignore-tlog",
    "--experimental-oci11",
    image.reference,
  ]);
  assert.equal(result.code, 0, result.stderr);
});
