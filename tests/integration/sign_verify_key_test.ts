/**
 * The whole key-signing loop through the CLI on the embedded registry, in-process and over a
 * socket: generate-key-pair -> sign -> verify -> tamper -> verify fails, in both storage formats.
 */

import assert from "node:assert/strict";
import { fromBase64, toBase64 } from "../../lib/util/bytes.ts";
import { dcosign } from "../_cli.ts";
import { openImageEnv } from "./_image_env.ts";

const NO_TLOG_SIGN = ["--tlog-upload=false"];
const NO_TLOG_VERIFY = ["--insecure-ignore-tlog"];

for (const mode of ["in-process", "socket"] as const) {
  for (const format of ["legacy", "bundle"] as const) {
    const formatFlag = `--new-bundle-format=${format === "bundle"}`;

    Deno.test(`[${mode}, ${format}] sign then verify succeeds; a tampered signature fails`, async () => {
      await using env = await openImageEnv(mode);
      const image = await env.push("demo/app");
      const signed = await env.run([
        "sign",
        "--key",
        "cosign.key",
        formatFlag,
        ...NO_TLOG_SIGN,
        "-a",
        "team=blue",
        image.reference,
      ]);
      assert.equal(signed.code, 0, signed.stderr);
      assert.match(signed.stderr, /Pushing signature to: /);

      const verified = await env.run([
        "verify",
        "--key",
        "cosign.pub",
        ...NO_TLOG_VERIFY,
        image.reference,
      ]);
      assert.equal(verified.code, 0, verified.stderr);
      const output = JSON.parse(verified.stdout);
      assert.equal(output.length, 1);
      assert.equal(output[0].critical.image["docker-manifest-digest"], image.digest);
      assert.match(
        verified.stderr,
        /The signatures were verified against the specified public key/,
      );

      // Annotation filters: a signed annotation matches, another value does not.
      const withAnnotation = await env.run([
        "verify",
        "--key",
        "cosign.pub",
        ...NO_TLOG_VERIFY,
        "-a",
        "team=blue",
        image.reference,
      ]);
      assert.equal(withAnnotation.code, 0, withAnnotation.stderr);
      const wrongAnnotation = await env.run([
        "verify",
        "--key",
        "cosign.pub",
        ...NO_TLOG_VERIFY,
        "-a",
        "team=red",
        image.reference,
      ]);
      assert.equal(wrongAnnotation.code, 12, wrongAnnotation.stderr);

      // Another key pair: no matching signature (exit 12).
      const other = await env.run(["generate-key-pair", "--output-key-prefix", "other"]);
      assert.equal(other.code, 0);
      const wrongKey = await env.run([
        "verify",
        "--key",
        "other.pub",
        ...NO_TLOG_VERIFY,
        image.reference,
      ]);
      assert.equal(wrongKey.code, 12);
      assert.match(wrongKey.stderr, /does not verify with the given key/);
    });
  }

  Deno.test(`[${mode}] a tampered legacy signature layer is caught`, async () => {
    await using env = await openImageEnv(mode);
    const image = await env.push("demo/tamper");
    const signed = await env.run([
      "sign",
      "--key",
      "cosign.key",
      "--new-bundle-format=false",
      ...NO_TLOG_SIGN,
      image.reference,
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    // Rewrite the .sig manifest with a flipped signature annotation (an attacker with push
    // access): fetch it, change one byte of the signature, push it back.
    const sigTag = `sha256-${image.digest.slice(7)}.sig`;
    const base = `http://${env.registry}/v2/demo/tamper/manifests/${sigTag}`;
    const response = await env.fetch(base, {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    const manifest = await response.json();
    const layer = manifest.layers[0];
    const signature = fromBase64(layer.annotations["dev.cosignproject.cosign/signature"]);
    signature[signature.length - 1]! ^= 1;
    layer.annotations["dev.cosignproject.cosign/signature"] = toBase64(signature);
    const put = await env.fetch(base, {
      method: "PUT",
      headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
      body: JSON.stringify(manifest),
    });
    assert.equal(put.status, 201, await put.text());
    const verified = await env.run([
      "verify",
      "--key",
      "cosign.pub",
      ...NO_TLOG_VERIFY,
      image.reference,
    ]);
    assert.equal(verified.code, 12);
    assert.equal(verified.stdout, "");
    assert.match(verified.stderr, /none of 1 signatures verified/);
  });
}

Deno.test("verify of an unsigned image exits 10 and of a missing tag exits 11", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("demo/unsigned");
  const unsigned = await env.run([
    "verify",
    "--key",
    "cosign.pub",
    ...NO_TLOG_VERIFY,
    image.reference,
  ]);
  assert.equal(unsigned.code, 10);
  assert.match(unsigned.stderr, /No signatures found/);
  const missing = await env.run([
    "verify",
    "--key",
    "cosign.pub",
    ...NO_TLOG_VERIFY,
    `${env.registry}/demo/unsigned:nope`,
  ]);
  assert.equal(missing.code, 11);
});

Deno.test("sign --recursive signs a multi-arch index and each platform image", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("demo/multi", { multiArch: true });
  const signed = await env.run([
    "sign",
    "--key",
    "cosign.key",
    "--recursive",
    "--new-bundle-format=false",
    ...NO_TLOG_SIGN,
    image.reference,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  assert.equal(signed.stderr.match(/Pushing signature to/g)?.length, 3);
  for (const platform of image.layout.images) {
    const result = await env.run([
      "verify",
      "--key",
      "cosign.pub",
      ...NO_TLOG_VERIFY,
      `${env.registry}/demo/multi@${platform.manifest.digest}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
  }
});

Deno.test("signing the same image twice with a key and no log dedupes the legacy layer", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("demo/dedupe");
  const args = ["sign", "--key", "cosign.key", "--new-bundle-format=false", ...NO_TLOG_SIGN];
  assert.equal((await env.run([...args, image.reference])).code, 0);
  const again = await env.run([...args, image.reference]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /already present/);
  const download = await env.run(["download", "signature", image.reference]);
  assert.equal(download.stdout.trim().split("\n").length, 1);
});

Deno.test("verify checks several images concurrently and reports each outcome", async () => {
  await using env = await openImageEnv("in-process");
  const signedImages = await Promise.all([0, 1, 2].map((i) => env.push(`demo/many${i}`)));
  for (const image of signedImages) {
    const r = await env.run(["sign", "--key", "cosign.key", ...NO_TLOG_SIGN, image.reference]);
    assert.equal(r.code, 0, r.stderr);
  }
  const unsigned = await env.push("demo/many-unsigned");
  const result = await env.run([
    "verify",
    "--key",
    "cosign.pub",
    ...NO_TLOG_VERIFY,
    ...signedImages.map((i) => i.reference),
    unsigned.reference,
  ]);
  assert.equal(result.code, 10);
  assert.equal(result.stdout.trim().split("\n").length, 3);
  assert.equal(result.stderr.match(/Verification for /g)?.length, 3);
  assert.match(result.stderr, /No signatures found for ".*many-unsigned/);
});

Deno.test("COSIGN_REPOSITORY stores and finds signatures in another repository", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("demo/relocated");
  const env2 = { COSIGN_REPOSITORY: `${env.registry}/signatures/store` };
  const signed = await env.run(
    ["sign", "--key", "cosign.key", "--new-bundle-format=false", ...NO_TLOG_SIGN, image.reference],
    env2,
  );
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(signed.stderr, /signatures\/store:sha256-/);
  const here = await env.run(["verify", "--key", "cosign.pub", ...NO_TLOG_VERIFY, image.reference]);
  assert.equal(here.code, 10);
  const there = await env.run(
    ["verify", "--key", "cosign.pub", ...NO_TLOG_VERIFY, image.reference],
    env2,
  );
  assert.equal(there.code, 0, there.stderr);
});

Deno.test("triangulate prints the signature tag; --type digest the image by digest, as cosign, even unsigned and without reading the .sig tag", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("demo/tri");
  const tag = await env.run(["triangulate", image.reference]);
  assert.equal(tag.stdout.trim(), `${env.registry}/demo/tri:sha256-${image.digest.slice(7)}.sig`);
  assert.equal(tag.stderr, "");
  const unsigned = await env.run(["triangulate", "--type", "digest", image.reference]);
  assert.equal(unsigned.code, 0, unsigned.stderr);
  assert.equal(unsigned.stdout, `${env.registry}/demo/tri@${image.digest}\n`);
  const signed = await env.run([
    "sign",
    "--key",
    "cosign.key",
    "--new-bundle-format=false",
    ...NO_TLOG_SIGN,
    image.reference,
  ]);
  assert.equal(signed.code, 0);
  // The image's digest, not the .sig manifest's; the .sig tag is never requested.
  const requests: string[] = [];
  const watched = await dcosign(["triangulate", "--type", "digest", image.reference], {
    cwd: env.dir,
    fetch: (input, init) => {
      requests.push(new Request(input, init).url);
      return env.fetch(input, init);
    },
  });
  assert.equal(watched.stdout, `${env.registry}/demo/tri@${image.digest}\n`);
  assert.ok(!requests.some((url) => url.includes(".sig")), requests.join("\n"));
  const relocated = await env.run(
    ["triangulate", "--type", "digest", image.reference],
    { COSIGN_REPOSITORY: `${env.registry}/sigs/tri` },
  );
  assert.equal(relocated.stdout, `${env.registry}/sigs/tri@${image.digest}\n`);
});

Deno.test("triangulate of a v3-signed image says where its bundle referrers are; --type referrer lists them", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("demo/tri3");
  const signed = await env.run(["sign", "--key", "cosign.key", ...NO_TLOG_SIGN, image.reference]);
  assert.equal(signed.code, 0, signed.stderr);
  const listed = await env.run(["triangulate", "--type", "referrer", image.reference]);
  assert.equal(listed.code, 0, listed.stderr);
  const [referrer, ...more] = listed.stdout.trim().split("\n");
  assert.deepEqual(more, []);
  assert.match(referrer!, new RegExp(`^${env.registry}/demo/tri3@sha256:[0-9a-f]{64}$`));
  assert.notEqual(referrer, `${env.registry}/demo/tri3@${image.digest}`);
  const plain = await env.run(["triangulate", image.reference]);
  assert.equal(plain.code, 0, plain.stderr);
  // stdout keeps cosign's line; stderr says the tag is not there and where the bundles are.
  assert.equal(
    plain.stdout.trim(),
    `${env.registry}/demo/tri3:sha256-${image.digest.slice(7)}.sig`,
  );
  assert.match(plain.stderr, /No tag .*\.sig": the image's signatures are Sigstore bundles/);
  assert.ok(plain.stderr.includes(`  ${referrer}`), plain.stderr);
  // No attestation: nothing more to say for --type attestation.
  const attestations = await env.run(["triangulate", "--type", "attestation", image.reference]);
  assert.equal(attestations.stderr, "");
});
