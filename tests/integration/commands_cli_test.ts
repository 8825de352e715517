/**
 * cosign's everyday registry commands end to end through the CLI on the embedded stack: tree
 * (text and JSON), clean (then verify exits 10), save -> load into a fresh repository -> verify,
 * copy between two stacks (with --only, --platform, -f), attach signature/attestation/sbom then
 * verify or download, env, completion scripts, and login against a Basic-auth registry.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { utf8 } from "../../lib/util/bytes.ts";
import { startStack } from "../../server/mod.ts";
import { runCli } from "../../cli/app.ts";
import { type CliContext, fileReader } from "../../cli/context.ts";
import { dcosign } from "../_cli.ts";
import { tempDir } from "../_support.ts";
import { writeOciLayout } from "../registry/_oci_layout.ts";
import { pushLayout } from "../registry/_oci_layout.ts";
import { openImageEnv } from "./_image_env.ts";

const NO_TLOG = ["--tlog-upload=false"];
const KEY_VERIFY = ["verify", "--key", "cosign.pub", "--insecure-ignore-tlog"];
const SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1";

function sign(format: "legacy" | "bundle", reference: string): string[] {
  return [
    "sign",
    "--key",
    "cosign.key",
    ...NO_TLOG,
    `--new-bundle-format=${format === "bundle"}`,
    reference,
  ];
}

function hexOf(digest: string): string {
  return digest.slice("sha256:".length);
}

Deno.test("tree lists .sig, .att and .sbom tags and referrers by kind, as text and as JSON", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("tree/app");

  const empty = await env.run(["tree", image.reference]);
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(empty.stdout, /No Supply Chain Security Related Artifacts found/);

  for (const format of ["legacy", "bundle"] as const) {
    const signed = await env.run(sign(format, image.reference));
    assert.equal(signed.code, 0, signed.stderr);
  }
  await Deno.writeTextFile(join(env.dir, "predicate.json"), '{"builder":{"id":"ci"}}');
  const attested = await env.run([
    "attest",
    "--key",
    "cosign.key",
    ...NO_TLOG,
    "--type",
    "https://example.com/build/v1",
    "--predicate",
    "predicate.json",
    image.reference,
  ]);
  assert.equal(attested.code, 0, attested.stderr);
  await Deno.writeTextFile(join(env.dir, "sbom.spdx.json"), '{"spdxVersion":"SPDX-2.3"}');
  const sbom = await env.run(["attach", "sbom", "--sbom", "sbom.spdx.json", image.reference]);
  assert.equal(sbom.code, 0, sbom.stderr);

  const text = await env.run(["tree", image.reference]);
  assert.equal(text.code, 0, text.stderr);
  const hex = hexOf(image.digest);
  assert.match(text.stdout, new RegExp(`Signatures for an image tag: .*:sha256-${hex}\\.sig`));
  assert.match(text.stdout, new RegExp(`SBOMs for an image tag: .*:sha256-${hex}\\.sbom`));
  assert.match(text.stdout, /https:\/\/sigstore\.dev\/cosign\/sign\/v1 artifacts via OCI referrer/);
  assert.match(text.stdout, /https:\/\/example\.com\/build\/v1 artifacts via OCI referrer/);

  const json = await env.run(["tree", "-o", "json", image.reference]);
  assert.equal(json.code, 0, json.stderr);
  const tree = JSON.parse(json.stdout);
  assert.equal(tree.digest, image.digest);
  assert.deepEqual(tree.attachments.map((a: { kind: string }) => a.kind), ["sig", "sbom"]);
  assert.equal(tree.attachments[0].layers.length, 1);
  assert.equal(tree.attachments[1].layers[0].mediaType, "text/spdx+json");
  const kinds = tree.referrers.map((r: { kind: string; predicateType: string }) =>
    `${r.kind} ${r.predicateType}`
  ).sort();
  assert.deepEqual(kinds, [`att https://example.com/build/v1`, `sig ${SIGN_PREDICATE}`]);
});

Deno.test("clean removes signatures (tags and referrers): verify then exits 10 with No signatures found", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("clean/app");
  for (const format of ["legacy", "bundle"] as const) {
    assert.equal((await env.run(sign(format, image.reference))).code, 0);
  }
  assert.equal((await env.run([...KEY_VERIFY, image.reference])).code, 0);

  // Without a terminal to ask on, -f is required and nothing is removed.
  const unconfirmed = await env.run(["clean", image.reference]);
  assert.equal(unconfirmed.code, 1);
  assert.match(unconfirmed.stderr, /pass -f/);
  assert.equal((await env.run([...KEY_VERIFY, image.reference])).code, 0);

  // Attestations only: signatures survive.
  const attestations = await env.run(["clean", "-f", "--type", "attestation", image.reference]);
  assert.equal(attestations.code, 0, attestations.stderr);
  assert.equal((await env.run([...KEY_VERIFY, image.reference])).code, 0);

  const cleaned = await env.run(["clean", "-f", "--type", "signature", image.reference]);
  assert.equal(cleaned.code, 0, cleaned.stderr);
  assert.match(cleaned.stderr, new RegExp(`Removed .*:sha256-${hexOf(image.digest)}\\.sig from`));
  assert.match(cleaned.stderr, /Removed .*@sha256:[0-9a-f]{64} from/);
  const verified = await env.run([...KEY_VERIFY, image.reference]);
  assert.equal(verified.code, 10, verified.stderr);
  assert.match(verified.stderr, /No signatures found/);

  const tree = JSON.parse((await env.run(["tree", "-o", "json", image.reference])).stdout);
  assert.deepEqual(tree.attachments, []);
  assert.deepEqual(tree.referrers, []);
  // The image itself stays.
  assert.equal((await env.run(["tree", image.byDigest])).code, 0);
});

Deno.test("clean asks on a terminal and cleans only on yes", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("clean/ask");
  assert.equal((await env.run(sign("bundle", image.reference))).code, 0);
  const run = (answer: string) =>
    dcosign(["clean", image.reference], {
      cwd: env.dir,
      fetch: env.fetch,
      prompts: [answer],
    });
  const no = await run("n");
  assert.equal(no.code, 1);
  assert.match(no.stderr, /not confirmed/);
  assert.equal((await env.run([...KEY_VERIFY, image.reference])).code, 0);
  const yes = await run("y");
  assert.equal(yes.code, 0, yes.stderr);
  assert.equal((await env.run([...KEY_VERIFY, image.reference])).code, 10);
});

Deno.test("save then load into a fresh repository then verify: legacy and bundle signatures, attestations", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("layout/app", { multiArch: true });
  for (const format of ["legacy", "bundle"] as const) {
    assert.equal((await env.run(sign(format, image.reference))).code, 0);
  }
  await Deno.writeTextFile(join(env.dir, "predicate.json"), '{"v":1}');
  const attested = await env.run([
    "attest",
    "--key",
    "cosign.key",
    ...NO_TLOG,
    "--new-bundle-format=false",
    "--predicate",
    "predicate.json",
    image.reference,
  ]);
  assert.equal(attested.code, 0, attested.stderr);

  const saved = await env.run(["save", "--dir", "saved", image.reference]);
  assert.equal(saved.code, 0, saved.stderr);
  assert.match(saved.stderr, /with signatures, attestations, 1 referrers/);
  const index = JSON.parse(await Deno.readTextFile(join(env.dir, "saved", "index.json")));
  assert.deepEqual(
    index.manifests.map((m: { annotations: { kind: string } }) => m.annotations.kind),
    [
      "dev.cosignproject.cosign/imageIndex",
      "dev.cosignproject.cosign/sigs",
      "dev.cosignproject.cosign/atts",
    ],
  );
  assert.equal(index.manifests[0].digest, image.digest);

  // verify --local-image reads the layout itself, through the same pipeline.
  const local = await env.run([...KEY_VERIFY, "--local-image", "saved"]);
  assert.equal(local.code, 0, local.stderr);
  assert.equal(JSON.parse(local.stdout).length, 1); // the bundle; `.sig` is not read after it
  // Its output names the directory, as cosign's does, never an internal name.
  assert.match(local.stderr, /^Verification for saved --$/m);
  assert.doesNotMatch(local.stderr, /local\/image-/);
  const wrongPolicy = await env.run([
    "verify",
    "--certificate-identity",
    "signer@dcosign.test",
    "--certificate-oidc-issuer",
    env.url,
    "--trusted-root",
    env.trustedRoot,
    "--insecure-ignore-tlog",
    "--local-image",
    "saved",
  ]);
  assert.equal(wrongPolicy.code, 12, wrongPolicy.stderr);
  assert.match(wrongPolicy.stderr, /Cannot verify "saved@sha256:[0-9a-f]{64}"/);
  assert.doesNotMatch(wrongPolicy.stderr, /local\/image-/);

  const target = `${env.registry}/restored/app:v9`;
  assert.equal((await env.run([...KEY_VERIFY, target])).code, 11);
  const loaded = await env.run(["load", "--dir", "saved", target]);
  assert.equal(loaded.code, 0, loaded.stderr);
  const verified = await env.run([...KEY_VERIFY, target]);
  assert.equal(verified.code, 0, verified.stderr);
  const payloads = JSON.parse(verified.stdout);
  assert.equal(payloads.length, 1); // the bundle: the legacy `.sig` is not read after it verified
  for (const payload of payloads) {
    assert.equal(payload.critical.image["docker-manifest-digest"], image.digest);
  }
  const attestation = await env.run([
    "verify-attestation",
    "--key",
    "cosign.pub",
    "--insecure-ignore-tlog",
    target,
  ]);
  assert.equal(attestation.code, 0, attestation.stderr);
  // Every platform manifest came along.
  for (const platform of image.layout.images) {
    const tree = await env.run([
      "tree",
      `${env.registry}/restored/app@${platform.manifest.digest}`,
    ]);
    assert.equal(tree.code, 0, tree.stderr);
  }
});

Deno.test("save --platform writes one platform; load refuses a layout whose blob was altered", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("layout/platform", { multiArch: true });
  const arm = image.layout.images.find((i) => i.platform.architecture === "arm64")!;
  const saved = await env.run([
    "save",
    "--dir",
    "one",
    "--platform",
    "linux/arm64",
    image.reference,
  ]);
  assert.equal(saved.code, 0, saved.stderr);
  const index = JSON.parse(await Deno.readTextFile(join(env.dir, "one", "index.json")));
  assert.equal(index.manifests[0].digest, arm.manifest.digest);
  assert.equal(index.manifests[0].annotations.kind, "dev.cosignproject.cosign/image");

  const missing = await env.run([
    "save",
    "--dir",
    "x",
    "--platform",
    "linux/s390x",
    image.reference,
  ]);
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /has no platform "linux\/s390x": it has "linux\/amd64", "linux\/arm64"/,
  );

  const layer = arm.layers[0]!;
  const path = join(env.dir, "one", "blobs", "sha256", hexOf(layer.digest));
  const bytes = await Deno.readFile(path);
  bytes[10] = bytes[10]! ^ 0xff;
  await Deno.writeFile(path, bytes);
  const local = await env.run([...KEY_VERIFY, "--local-image", "one"]);
  assert.equal(local.code, 1);
  assert.match(local.stderr, /OCI_DIGEST_MISMATCH/);
  const loaded = await env.run(["load", "--dir", "one", `${env.registry}/tampered/app:v1`]);
  assert.equal(loaded.code, 1);
  assert.match(loaded.stderr, /OCI_DIGEST_MISMATCH/);
  assert.equal((await env.run(["tree", `${env.registry}/tampered/app:v1`])).code, 1);
});

Deno.test("copy between two embedded stacks carries legacy and bundle signatures; --only, -f and --platform", async () => {
  await using env = await openImageEnv("socket");
  await using other = await startStack({ port: 0 });
  const image = await env.push("copy/app", { multiArch: true });
  const [amd, arm] = image.layout.images;
  assert.equal((await env.run(sign("legacy", image.reference))).code, 0);
  assert.equal(
    (await env.run(sign("bundle", image.byDigest.replace(image.digest, arm!.manifest.digest))))
      .code,
    0,
  );

  const destination = `${other.registryHost}/mirror/app:v1`;
  const copied = await env.run(["copy", image.reference, destination]);
  assert.equal(copied.code, 0, copied.stderr);
  // The index, its two platform manifests, the .sig manifest and the arm64 bundle referrer.
  assert.match(copied.stderr, /Copied .* \(sha256:[0-9a-f]{64}\): 5 manifests/);
  const verified = await env.run([...KEY_VERIFY, destination]);
  assert.equal(verified.code, 0, verified.stderr);
  const armCopy = `${other.registryHost}/mirror/app@${arm!.manifest.digest}`;
  assert.equal((await env.run([...KEY_VERIFY, armCopy])).code, 0);

  // Copying again is idempotent; another image to the same tag needs -f.
  assert.equal((await env.run(["copy", image.reference, destination])).code, 0);
  const second = await env.push("copy/second");
  const refused = await env.run(["copy", second.reference, destination]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /already exists with digest .* \(pass -f to overwrite\)/);
  const forced = await env.run(["copy", "-f", second.reference, destination]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal((await env.run([...KEY_VERIFY, destination])).code, 10);

  // --only sig copies signatures (and the image by digest) but leaves the tag alone.
  const onlyDestination = `${other.registryHost}/only/app:v1`;
  const only = await env.run(["copy", "--only", "sig", image.reference, onlyDestination]);
  assert.equal(only.code, 0, only.stderr);
  assert.equal((await env.run(["tree", onlyDestination])).code, 1);
  assert.equal(
    (await env.run([...KEY_VERIFY, `${other.registryHost}/only/app@${image.digest}`])).code,
    0,
  );

  // --platform copies one platform with its own signatures.
  const platformDestination = `${other.registryHost}/platform/app:arm`;
  const platform = await env.run([
    "copy",
    "--platform",
    "linux/arm64",
    image.reference,
    platformDestination,
  ]);
  assert.equal(platform.code, 0, platform.stderr);
  const tree = JSON.parse((await env.run(["tree", "-o", "json", platformDestination])).stdout);
  assert.equal(tree.digest, arm!.manifest.digest);
  assert.equal(tree.referrers.length, 1);
  assert.equal(
    (await env.run(["tree", `${other.registryHost}/platform/app@${amd!.manifest.digest}`])).code,
    1,
  );
});

Deno.test("attach signature: a payload and base64 signature from sign --upload=false verify; another image's payload is refused", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("attach/sig");
  const other = await env.push("attach/other");
  const made = await env.run([
    "sign",
    "--key",
    "cosign.key",
    ...NO_TLOG,
    "--new-bundle-format=false",
    "--upload=false",
    "--output-signature",
    "sig.b64",
    "--output-payload",
    "payload.json",
    image.byDigest,
  ]);
  assert.equal(made.code, 0, made.stderr);
  assert.equal((await env.run([...KEY_VERIFY, image.reference])).code, 10);

  const wrong = await env.run([
    "attach",
    "signature",
    "--payload",
    "payload.json",
    "--signature",
    "sig.b64",
    other.reference,
  ]);
  assert.equal(wrong.code, 1);
  assert.match(
    wrong.stderr,
    /the payload signs "sha256:[0-9a-f]{64}" \(sign this image's digest\)/,
  );

  const attached = await env.run([
    "attach",
    "signature",
    "--payload",
    "payload.json",
    "--signature",
    "sig.b64",
    image.reference,
  ]);
  assert.equal(attached.code, 0, attached.stderr);
  assert.match(attached.stderr, /Attached signature to .* at .*\.sig/);
  const verified = await env.run([...KEY_VERIFY, image.reference]);
  assert.equal(verified.code, 0, verified.stderr);
  // The same signature again is not appended twice.
  const again = await env.run([
    "attach",
    "signature",
    "--payload",
    "payload.json",
    "--signature",
    "sig.b64",
    image.reference,
  ]);
  assert.match(again.stderr, /already attached/);
  const tree = JSON.parse((await env.run(["tree", "-o", "json", image.reference])).stdout);
  assert.equal(tree.attachments[0].layers.length, 1);
});

Deno.test("attach attestation: an envelope from attest --no-upload and a bundle from attest-blob verify; download attestation filters by type", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("attach/att");
  await Deno.writeTextFile(join(env.dir, "predicate.json"), '{"builder":{"id":"ci"}}');
  const envelope = await env.run([
    "attest",
    "--key",
    "cosign.key",
    ...NO_TLOG,
    "--new-bundle-format=false",
    "--no-upload",
    "--type",
    "https://example.com/build/v1",
    "--predicate",
    "predicate.json",
    image.reference,
  ]);
  assert.equal(envelope.code, 0, envelope.stderr);
  await Deno.writeTextFile(join(env.dir, "envelope.json"), envelope.stdout);
  const attached = await env.run([
    "attach",
    "attestation",
    "--attestation",
    "envelope.json",
    image.reference,
  ]);
  assert.equal(attached.code, 0, attached.stderr);

  // A Sigstore bundle over a statement about the image, made by attest-blob.
  const statement = {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: "attach/att", digest: { sha256: hexOf(image.digest) } }],
    predicateType: "https://openvex.dev/ns",
    predicate: { statements: [] },
  };
  await Deno.writeTextFile(join(env.dir, "statement.json"), JSON.stringify(statement));
  const bundled = await env.run([
    "attest-blob",
    "--key",
    "cosign.key",
    ...NO_TLOG,
    "--statement",
    "statement.json",
    "--bundle",
    "vex.sigstore.json",
  ]);
  assert.equal(bundled.code, 0, bundled.stderr);
  const attachedBundle = await env.run([
    "attach",
    "attestation",
    "--attestation",
    "vex.sigstore.json",
    image.reference,
  ]);
  assert.equal(attachedBundle.code, 0, attachedBundle.stderr);

  const verify = (type: string) =>
    env.run([
      "verify-attestation",
      "--key",
      "cosign.pub",
      "--insecure-ignore-tlog",
      "--type",
      type,
      image.reference,
    ]);
  assert.equal((await verify("https://example.com/build/v1")).code, 0);
  assert.equal((await verify("openvex")).code, 0);

  const all = await env.run(["download", "attestation", image.reference]);
  assert.equal(all.code, 0, all.stderr);
  const lines = all.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.ok(lines.some((l) => l.mediaType === "application/vnd.dev.sigstore.bundle.v0.3+json"));
  assert.ok(lines.some((l) => l.payloadType === "application/vnd.in-toto+json"));
  const vex = await env.run([
    "download",
    "attestation",
    "--predicate-type",
    "openvex",
    image.reference,
  ]);
  assert.equal(vex.stdout.trim().split("\n").length, 1);
  const none = await env.run([
    "download",
    "attestation",
    "--predicate-type",
    "spdx",
    image.reference,
  ]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /No attestation of type "https:\/\/spdx\.dev\/Document"/);

  // An envelope about another image is refused before anything is stored.
  const stranger = await env.push("attach/stranger");
  const refused = await env.run([
    "attach",
    "attestation",
    "--attestation",
    "envelope.json",
    stranger.reference,
  ]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /does not name the image's digest/);
});

Deno.test("attach signature --bundle stores a signature bundle referrer that verify accepts", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("attach/bundle");
  const statement = {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ digest: { sha256: hexOf(image.digest) } }],
    predicateType: SIGN_PREDICATE,
  };
  await Deno.writeTextFile(join(env.dir, "statement.json"), JSON.stringify(statement));
  const bundled = await env.run([
    "attest-blob",
    "--key",
    "cosign.key",
    ...NO_TLOG,
    "--statement",
    "statement.json",
    "--bundle",
    "sig.sigstore.json",
  ]);
  assert.equal(bundled.code, 0, bundled.stderr);
  const attached = await env.run([
    "attach",
    "signature",
    "--bundle",
    "sig.sigstore.json",
    image.reference,
  ]);
  assert.equal(attached.code, 0, attached.stderr);
  assert.match(attached.stderr, /Attached signature bundle to .*@sha256:/);
  const verified = await env.run([...KEY_VERIFY, image.reference]);
  assert.equal(verified.code, 0, verified.stderr);
});

Deno.test("attach sbom then download sbom (raw and -o json, --platform on an index)", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("attach/sbom", { multiArch: true });
  const amd = image.layout.images[0]!;
  const document = '<bom xmlns="http://cyclonedx.org/schema/bom/1.5"/>';
  await Deno.writeTextFile(join(env.dir, "bom.xml"), document);
  const platformRef = `${env.registry}/attach/sbom@${amd.manifest.digest}`;
  const attached = await env.run([
    "attach",
    "sbom",
    "--sbom",
    "bom.xml",
    "--type",
    "cyclonedx",
    platformRef,
  ]);
  assert.equal(attached.code, 0, attached.stderr);
  assert.match(attached.stderr, /application\/vnd\.cyclonedx\+xml/);

  const onIndex = await env.run(["download", "sbom", image.reference]);
  assert.equal(onIndex.code, 1);
  assert.match(onIndex.stderr, /Try --platform with one of: linux\/amd64, linux\/arm64/);
  const raw = await env.run(["download", "sbom", "--platform", "linux/amd64", image.reference]);
  assert.equal(raw.code, 0, raw.stderr);
  assert.equal(raw.stdout, document);
  assert.match(raw.stderr, /Found SBOM of media type: application\/vnd\.cyclonedx\+xml/);
  const json = JSON.parse((await env.run(["download", "sbom", "-o", "json", platformRef])).stdout);
  assert.equal(json.mediaType, "application/vnd.cyclonedx+xml");
  assert.equal(json.sbom, document);

  const badFormat = await env.run([
    "attach",
    "sbom",
    "--sbom",
    "bom.xml",
    "--type",
    "syft",
    "--input-format",
    "xml",
    platformRef,
  ]);
  assert.equal(badFormat.code, 1);
  assert.match(badFormat.stderr, /Invalid SBOM input format "xml" for syft/);
});

Deno.test("env masks sensitive values unless --show-sensitive-values; -o json lists every variable", async () => {
  const environment = {
    COSIGN_PASSWORD: "hunter2",
    COSIGN_REPOSITORY: "reg.example/sigs",
    COSIGN_SOMETHING_NEW: "secret-ish",
  };
  const masked = await dcosign(["env"], { env: environment });
  assert.equal(masked.code, 0, masked.stderr);
  assert.match(masked.stdout, /^COSIGN_PASSWORD=\*\*\*\*\*\*$/m);
  assert.match(masked.stdout, /^COSIGN_REPOSITORY=reg\.example\/sigs$/m);
  assert.match(masked.stdout, /^COSIGN_SOMETHING_NEW=\*\*\*\*\*\*$/m);
  assert.match(masked.stdout, /^# COSIGN_PASSWORD /m);
  assert.doesNotMatch(masked.stdout, /hunter2/);

  const shown = await dcosign(["env", "--show-sensitive-values", "--show-descriptions=false"], {
    env: environment,
  });
  assert.match(shown.stdout, /^COSIGN_PASSWORD=hunter2$/m);
  assert.doesNotMatch(shown.stdout, /^#/m);

  const json = JSON.parse((await dcosign(["env", "-o", "json"], { env: environment })).stdout);
  const byName = new Map(json.map((r: { name: string }) => [r.name, r]));
  assert.equal((byName.get("COSIGN_PASSWORD") as { value: string }).value, "******");
  assert.equal((byName.get("SIGSTORE_ID_TOKEN") as { value: null }).value, null);
  assert.equal((byName.get("COSIGN_SOMETHING_NEW") as { registered: boolean }).registered, false);
});

Deno.test("completion: the bash script parses (bash -n); zsh and fish scripts name every command", async () => {
  const { COMMANDS } = await import("../../cli/commands.ts");
  const names = COMMANDS.filter((c) => !c.hidden).map((c) => c.name);
  const subcommands = COMMANDS.flatMap((c) => (c.subcommands ?? []).map((s) => s.name));
  for (const shell of ["bash", "zsh", "fish"]) {
    const result = await dcosign(["completion", shell]);
    assert.equal(result.code, 0, result.stderr);
    for (const name of [...names, ...subcommands]) {
      assert.ok(result.stdout.includes(name), `${shell} script names ${name}`);
    }
    assert.match(result.stdout, /(--|-l )certificate-identity\b/, `${shell} script has flags`);
  }
  const bash = (await dcosign(["completion", "bash"])).stdout;
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "dcosign.bash"), bash);
  const parsed = await new Deno.Command("bash", {
    args: ["-n", join(dir.path, "dcosign.bash")],
    stderr: "piped",
  }).output();
  assert.equal(parsed.code, 0, new TextDecoder().decode(parsed.stderr));

  // Completing in bash: the subcommands of "download", the choices of "clean --type".
  const complete = async (words: string[]) => {
    const script = `${bash}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")})\n` +
      `COMP_CWORD=${words.length - 1}\n_dcosign\nprintf '%s\\n' "\${COMPREPLY[@]}"\n`;
    const out = await new Deno.Command("bash", { args: ["-c", script], stdout: "piped" }).output();
    return new TextDecoder().decode(out.stdout).trim().split("\n").sort();
  };
  assert.deepEqual(await complete(["dcosign", "download", ""]), [
    "attestation",
    "sbom",
    "signature",
  ]);
  assert.deepEqual(await complete(["dcosign", "clean", "--type", "a"]), ["all", "attestation"]);
  assert.ok((await complete(["dcosign", "copy", "--pl"])).includes("--platform"));

  const unsupported = await dcosign(["completion", "tcsh"]);
  assert.equal(unsupported.code, 1);
  assert.match(unsupported.stderr, /Unsupported shell "tcsh": expected bash, zsh, fish/);
});

Deno.test("login checks the credentials, writes a 0600 docker config the registry client then uses", async () => {
  await using stack = await startStack({
    port: 0,
    registryAuth: { username: "alice", password: "s3cret" },
  });
  await using dir = await tempDir();
  const configDir = join(dir.path, "docker");
  await Deno.mkdir(configDir);
  await Deno.writeTextFile(
    join(configDir, "config.json"),
    JSON.stringify({ auths: { "other.example": { auth: "eDp5" } }, psFormat: "table" }),
  );
  const env = { DOCKER_CONFIG: configDir, COSIGN_PASSWORD: "pw" };
  const run = (argv: string[], stdin?: string) =>
    dcosign(argv, { cwd: dir.path, env, ...(stdin !== undefined ? { stdin } : {}) });

  // An image pushed with the credentials; anonymous reads are refused.
  const layout = await writeOciLayout(join(dir.path, "layout"));
  const basic = `Basic ${utf8("alice:s3cret").toBase64()}`;
  await pushLayout(layout, stack.url, "private/app", { headers: { authorization: basic } });
  const reference = `${stack.registryHost}/private/app:v1`;
  const anonymous = await run(["tree", reference]);
  assert.equal(anonymous.code, 1);
  assert.match(anonymous.stderr, /requires authentication/);

  const wrong = await run(
    ["login", stack.registryHost, "-u", "alice", "--password-stdin"],
    "nope\n",
  );
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /refused the credentials \(check the user name and password\)/);
  const unchanged = JSON.parse(await Deno.readTextFile(join(configDir, "config.json")));
  assert.equal(unchanged.auths[stack.registryHost], undefined);

  const ok = await run(
    ["login", stack.registryHost, "-u", "alice", "--password-stdin"],
    "s3cret\n",
  );
  assert.equal(ok.code, 0, ok.stderr);
  assert.doesNotMatch(ok.stdout + ok.stderr, /s3cret/);
  const info = await Deno.stat(join(configDir, "config.json"));
  assert.equal(info.mode! & 0o777, 0o600);
  const config = JSON.parse(await Deno.readTextFile(join(configDir, "config.json")));
  assert.equal(config.psFormat, "table");
  assert.equal(config.auths["other.example"].auth, "eDp5");
  assert.equal(config.auths[stack.registryHost].auth, utf8("alice:s3cret").toBase64());

  // The keychain now finds them: tree, sign and verify work with no credential flags.
  const tree = await run(["tree", reference]);
  assert.equal(tree.code, 0, tree.stderr);
  assert.equal((await run(["generate-key-pair"])).code, 0);
  assert.equal((await run(sign("bundle", reference))).code, 0);
  assert.equal((await run([...KEY_VERIFY, reference])).code, 0);

  const insecure = await run(["login", stack.registryHost, "-u", "alice", "-p", "s3cret"]);
  assert.equal(insecure.code, 0, insecure.stderr);
  assert.match(insecure.stderr, /insecure: use --password-stdin/);

  // A credential helper for the host would shadow the saved entry: login says so.
  const helperDir = join(dir.path, "helper");
  await Deno.mkdir(helperDir);
  await Deno.writeTextFile(
    join(helperDir, "config.json"),
    JSON.stringify({ credHelpers: { [stack.registryHost]: "pass" } }),
  );
  const shadowed = await dcosign(
    ["login", stack.registryHost, "-u", "alice", "--password-stdin"],
    { cwd: dir.path, env: { DOCKER_CONFIG: helperDir }, stdin: "s3cret" },
  );
  assert.equal(shadowed.code, 0, shadowed.stderr);
  assert.match(shadowed.stderr, /credential helper "docker-credential-pass" .* is asked first/);
});

/** The start of an ANSI colour sequence. */
const ESC = "\x1b[";

/** Run the CLI with stderr as a terminal (tests/_cli.ts never pretends to be one). */
async function onTerminal(
  argv: string[],
  options: { fetch: typeof fetch; cwd: string; env: Record<string, string> },
): Promise<{ code: number; stderr: string }> {
  const err: Uint8Array[] = [];
  const ctx: CliContext = {
    env: (name) => options.env[name],
    environment: () => ({ ...options.env }),
    cwd: options.cwd,
    stdout: { write: () => {} },
    stderr: { write: (data) => void err.push(data.slice()) },
    readStdin: () => Promise.resolve(new Uint8Array()),
    readFile: fileReader(options.cwd, () => Promise.resolve(new Uint8Array())),
    isTerminal: { stdin: false, stdout: false, stderr: true },
    fetch: options.fetch,
    now: () => new Date(),
    signal: new AbortController().signal,
  };
  const code = await runCli(argv, ctx);
  return { code, stderr: err.map((c) => new TextDecoder().decode(c)).join("") };
}

Deno.test("copy prints a line per blob only on a terminal, in colour unless NO_COLOR", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("progress/app");
  const plain = await env.run(["copy", image.reference, `${env.registry}/progress/plain:v1`]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.doesNotMatch(plain.stderr, /mounted {2}sha256:/);
  assert.ok(!plain.stderr.includes(ESC), "no colour off a terminal");

  const options = { fetch: env.fetch, cwd: env.dir, env: { HOME: "/nonexistent-home" } };
  const tty = await onTerminal(
    ["copy", image.reference, `${env.registry}/progress/tty:v1`],
    options,
  );
  assert.equal(tty.code, 0, tty.stderr);
  for (const blob of [image.layout.images[0]!.config, ...image.layout.images[0]!.layers]) {
    assert.match(tty.stderr, new RegExp(`mounted .*${blob.digest}`));
  }
  assert.ok(tty.stderr.includes(`${ESC}32mCopied${ESC}0m`), "green on a terminal");

  const noColor = await onTerminal(
    ["copy", image.reference, `${env.registry}/progress/nocolor:v1`],
    { ...options, env: { ...options.env, NO_COLOR: "1" } },
  );
  assert.equal(noColor.code, 0, noColor.stderr);
  assert.match(noColor.stderr, /mounted {2}sha256:/);
  assert.ok(!noColor.stderr.includes(ESC), "no colour with NO_COLOR");
});
