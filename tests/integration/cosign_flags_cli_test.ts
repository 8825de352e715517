/**
 * cosign flags that users copy into dcosign: `sign --bundle FILE` (cosign v3), `attest
 * --statement FILE` and `attest --replace`, each through the CLI on the embedded stack.
 */

import assert from "node:assert/strict";
import { fromBase64 } from "../../lib/util/bytes.ts";
import { parseLegacyBlobBundle } from "../../lib/bundle/legacy.ts";
import { parseBundle } from "../../lib/bundle/model.ts";
import { parseEnvelope } from "../../lib/payload/dsse.ts";
import { parseStatement } from "../../lib/payload/statement.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { parseImageReference } from "../../lib/oci/reference.ts";
import { ANNOTATION, readLegacyAttachments } from "../../lib/storage/signatures.ts";
import { parseCertificate } from "../../lib/x509/certificate.ts";
import { openImageEnv, type PushedImage } from "./_image_env.ts";

function digestRef(image: PushedImage) {
  const ref = parseImageReference(image.byDigest);
  return { registry: ref.registry, repository: ref.repository, digest: image.digest };
}

Deno.test("sign --bundle FILE writes the Sigstore bundle that is stored as the referrer", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("flags/bundle");
  const signed = await env.run([
    "sign",
    "--key",
    "cosign.key",
    "--rekor-url",
    env.url,
    "--bundle",
    "image.sigstore.json",
    image.reference,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(signed.stderr, /Wrote bundle to file image\.sigstore\.json/);
  const written = await Deno.readFile(`${env.dir}/image.sigstore.json`);
  const bundle = parseBundle(written);
  assert.equal(bundle.mediaType, "application/vnd.dev.sigstore.bundle.v0.3+json");
  const downloaded = await env.run(["download", "signature", image.reference]);
  assert.equal(downloaded.code, 0, downloaded.stderr);
  assert.deepEqual(
    JSON.parse(downloaded.stdout.trim().split("\n")[0]!),
    JSON.parse(new TextDecoder().decode(written)),
  );
  // More than one image has no one bundle to write.
  const two = await env.run([
    "sign",
    "--key",
    "cosign.key",
    "--bundle",
    "b.json",
    image.reference,
    image.byDigest,
  ]);
  assert.equal(two.code, 1);
  assert.match(two.stderr, /--bundle writes one image's signature/);
});

Deno.test("sign --bundle FILE --new-bundle-format=false writes cosign's signed payload: signature, base64 DER certificate, Rekor bundle", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("flags/legacy-bundle");
  const signed = await env.run([
    "sign",
    "--signing-config",
    env.signingConfig,
    "--trusted-root",
    env.trustedRoot,
    "--identity-token",
    await env.idToken(),
    "--yes",
    "--new-bundle-format=false",
    "--bundle",
    "signed.json",
    image.reference,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const text = await Deno.readTextFile(`${env.dir}/signed.json`);
  const local = parseLegacyBlobBundle(text);
  const json = JSON.parse(text);
  assert.deepEqual(Object.keys(json), ["base64Signature", "cert", "rekorBundle"]);
  // cosign's image path writes the certificate as base64 of its DER, not of its PEM.
  assert.equal(
    parseCertificate(fromBase64(json.cert)).subjectAltNames[0]?.value,
    "signer@dcosign.test",
  );
  assert.ok(local.rekorBundle?.inclusionPromise);
  const client = new RegistryClient({ fetch: env.fetch });
  const stored = await readLegacyAttachments(client, digestRef(image), "sig");
  assert.equal(stored.layers.length, 1);
  assert.equal(stored.layers[0]!.annotations[ANNOTATION.SIGNATURE], json.base64Signature);
});

Deno.test("attest --statement FILE signs the statement as it is; it must name the image and agree with --type", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("flags/statement");
  const hex = image.digest.slice("sha256:".length);
  const statement = JSON.stringify({
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: "app", digest: { sha256: hex } }],
    predicateType: "https://example.com/review/v1",
    predicate: { reviewed: true },
  });
  await Deno.writeTextFile(`${env.dir}/statement.json`, statement);
  const attested = await env.run([
    "attest",
    "--key",
    "cosign.key",
    "--tlog-upload=false",
    "--statement",
    "statement.json",
    image.reference,
  ]);
  assert.equal(attested.code, 0, attested.stderr);
  assert.match(attested.stderr, /attestation of type "https:\/\/example\.com\/review\/v1"/);
  const verified = await env.run([
    "verify-attestation",
    "--key",
    "cosign.pub",
    "--insecure-ignore-tlog",
    "--type",
    "https://example.com/review/v1",
    image.reference,
  ]);
  assert.equal(verified.code, 0, verified.stderr);
  const envelope = parseEnvelope(new TextEncoder().encode(verified.stdout.trim()));
  assert.equal(new TextDecoder().decode(envelope.payload), statement);

  const other = await env.push("flags/statement-other");
  const elsewhere = await env.run([
    "attest",
    "--key",
    "cosign.key",
    "--tlog-upload=false",
    "--statement",
    "statement.json",
    other.reference,
  ]);
  assert.equal(elsewhere.code, 1);
  assert.match(elsewhere.stderr, /no subject with the digest of .*PAYLOAD_SUBJECT_MISMATCH/);
  const wrongType = await env.run([
    "attest",
    "--key",
    "cosign.key",
    "--statement",
    "statement.json",
    "--type",
    "slsaprovenance",
    image.reference,
  ]);
  assert.equal(wrongType.code, 1);
  assert.match(
    wrongType.stderr,
    /the statement's predicate type is "https:\/\/example\.com\/review\/v1"/,
  );
  const both = await env.run([
    "attest",
    "--key",
    "cosign.key",
    "--statement",
    "statement.json",
    "--predicate",
    "statement.json",
    image.reference,
  ]);
  assert.match(both.stderr, /Give --predicate or --statement, not both/);
});

Deno.test("attest --replace (legacy .att): attestations of the same predicate type are dropped, the new one first", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("flags/replace");
  const attest = async (type: string, value: string, extra: string[] = []) => {
    await Deno.writeTextFile(`${env.dir}/${value}.json`, JSON.stringify({ value }));
    const result = await env.run([
      "attest",
      "--key",
      "cosign.key",
      "--tlog-upload=false",
      "--new-bundle-format=false",
      "--type",
      type,
      "--predicate",
      `${value}.json`,
      ...extra,
      image.reference,
    ]);
    assert.equal(result.code, 0, result.stderr);
    return result;
  };
  await attest("https://example.com/a", "a1");
  await attest("https://example.com/b", "b1");
  await attest("https://example.com/a", "a2");
  await attest("https://example.com/a", "a3", ["--replace"]);
  const client = new RegistryClient({ fetch: env.fetch });
  const stored = await readLegacyAttachments(client, digestRef(image), "att");
  const layers = stored.layers.map((layer) => {
    const statement = parseStatement(parseEnvelope(layer.payload).payload);
    return [statement.predicateType, (statement.predicate as { value: string }).value];
  });
  assert.deepEqual(layers, [["https://example.com/a", "a3"], ["https://example.com/b", "b1"]]);

  // On the bundle format cosign ignores --replace; dcosign says what happens instead.
  const bundle = await env.run([
    "attest",
    "--key",
    "cosign.key",
    "--tlog-upload=false",
    "--predicate",
    "a1.json",
    "--replace",
    image.reference,
  ]);
  assert.equal(bundle.code, 0, bundle.stderr);
  assert.match(bundle.stderr, /--replace replaces legacy \.att layers .* only/);
});
