/**
 * cosign's non-Fulcio PKI flags through the CLI, with a PKI made by openssl in the test (root,
 * intermediate, a leaf with EKU codeSigning and an email SAN): `verify`, `verify-attestation` and
 * `verify-blob` take `--certificate`, `--certificate-chain`, `--ca-roots` and
 * `--ca-intermediates`. The chain is built to the given roots only (a chain the signature carries
 * supplies intermediates, never the anchor), validity is checked at the signing time, and the
 * identity flags are checked against the leaf.
 */

import assert from "node:assert/strict";
import { executable, requireComponents } from "../_support.ts";
import { createTestPki, type TestPki } from "../_openssl_pki.ts";
import { dcosign } from "../_cli.ts";
import { type ImageEnv, openImageEnv } from "./_image_env.ts";

const SIGNER = "signer@corp.test";

/** The identity flags for the test leaf: it carries no OIDC issuer, so any issuer ("") passes. */
const IDENTITY = ["--certificate-identity", SIGNER, "--certificate-oidc-issuer-regexp", ".*"];
const OFFLINE = ["--insecure-ignore-tlog", "--insecure-ignore-sct"];

interface CorpEnv {
  readonly env: ImageEnv;
  readonly pki: TestPki;
  /** A second, unrelated PKI. */
  readonly other: TestPki;
  /** The leaf certificate file; `corp.key` in the env's directory is its imported key. */
  readonly leaf: string;
  /** The leaf's PEM private key file. */
  readonly leafKey: string;
}

async function openCorpEnv(env: ImageEnv): Promise<CorpEnv> {
  await Deno.mkdir(`${env.dir}/corp`);
  await Deno.mkdir(`${env.dir}/other`);
  const pki = await createTestPki(`${env.dir}/corp`, "Corp");
  const other = await createTestPki(`${env.dir}/other`, "Other");
  const leaf = await pki.issue("signer", { usage: "codeSigning", san: [`email:${SIGNER}`] });
  const imported = await env.run(["import-key-pair", "--key", leaf.key, "-o", "corp"]);
  assert.equal(imported.code, 0, imported.stderr);
  return { env, pki, other, leaf: leaf.cert, leafKey: leaf.key };
}

/** Sign an image's legacy payload with the corp key, then attach it with `cert` and `chain`. */
async function attachWithCertificate(
  corp: CorpEnv,
  reference: string,
  cert: string,
  chain: string,
): Promise<void> {
  const { env } = corp;
  const signed = await env.run([
    "sign",
    "--key",
    "corp.key",
    "--tlog-upload=false",
    "--new-bundle-format=false",
    "--upload=false",
    "--output-signature",
    "sig.b64",
    "--output-payload",
    "payload.json",
    reference,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const attached = await env.run([
    "attach",
    "signature",
    "--payload",
    "payload.json",
    "--signature",
    "sig.b64",
    "--certificate",
    cert,
    "--certificate-chain",
    chain,
    reference,
  ]);
  assert.equal(attached.code, 0, attached.stderr);
}

if (requireComponents("private CA CLI", executable("openssl"))) {
  Deno.test("verify --ca-roots / --certificate-chain: a signature carrying a private CA's leaf verifies against the given roots only", async () => {
    await using env = await openImageEnv("in-process");
    const corp = await openCorpEnv(env);
    const image = await env.push("corp/app");
    await attachWithCertificate(corp, image.reference, corp.leaf, corp.pki.chain);
    const verify = (flags: string[]) => env.run(["verify", ...flags, image.reference]);

    const byRoots = await verify(["--ca-roots", corp.pki.root.cert, ...IDENTITY, ...OFFLINE]);
    assert.equal(byRoots.code, 0, byRoots.stderr);
    assert.match(byRoots.stderr, /verified against the given CA roots/);
    assert.match(byRoots.stderr, /identity and OIDC issuer matched/);
    const [payload] = JSON.parse(byRoots.stdout);
    assert.equal(payload.optional.Subject, SIGNER);

    const byChain = await verify(["--certificate-chain", corp.pki.chain, ...IDENTITY, ...OFFLINE]);
    assert.equal(byChain.code, 0, byChain.stderr);

    // The chain the signature carries (intermediate and root) never makes its root an anchor.
    const otherRoot = await verify(["--ca-roots", corp.other.root.cert, ...IDENTITY, ...OFFLINE]);
    assert.equal(otherRoot.code, 12, otherRoot.stderr);
    assert.match(otherRoot.stderr, /No trusted issuer "CN=Corp Intermediate CA,O=Corp"/);

    const wrongIdentity = await verify([
      "--ca-roots",
      corp.pki.root.cert,
      "--certificate-identity",
      "someone@corp.test",
      "--certificate-oidc-issuer-regexp",
      ".*",
      ...OFFLINE,
    ]);
    assert.equal(wrongIdentity.code, 12);
    assert.match(wrongIdentity.stderr, /Certificate identity "signer@corp\.test"/);

    // Without a trusted root, the leaf's SCT cannot be checked: say which flag skips it.
    const needsSct = await verify([
      "--ca-roots",
      corp.pki.root.cert,
      ...IDENTITY,
      "--insecure-ignore-tlog",
    ]);
    assert.equal(needsSct.code, 1);
    assert.match(needsSct.stderr, /private CA .* --insecure-ignore-sct/);
  });

  Deno.test("verify --ca-roots: a leaf of another CA, carried with that CA's whole chain, is refused", async () => {
    await using env = await openImageEnv("in-process");
    const corp = await openCorpEnv(env);
    const intruder = await corp.other.issue("intruder", {
      usage: "codeSigning",
      san: [`email:${SIGNER}`],
    });
    const reimported = await env.run([
      "import-key-pair",
      "-y",
      "--key",
      intruder.key,
      "-o",
      "corp",
    ]);
    assert.equal(reimported.code, 0, reimported.stderr);
    const image = await env.push("corp/intruder");
    await attachWithCertificate(corp, image.reference, intruder.cert, corp.other.chain);
    const result = await env.run([
      "verify",
      "--ca-roots",
      corp.pki.root.cert,
      ...IDENTITY,
      ...OFFLINE,
      image.reference,
    ]);
    assert.equal(result.code, 12, result.stderr);
    assert.match(result.stderr, /No trusted issuer "CN=Other Intermediate CA,O=Other"/);
  });

  Deno.test("verify --certificate: a key-made signature verifies with the out-of-band leaf, its chain and identity", async () => {
    await using env = await openImageEnv("in-process");
    const corp = await openCorpEnv(env);
    const image = await env.push("corp/oob");
    const signed = await env.run([
      "sign",
      "--key",
      "corp.key",
      "--tlog-upload=false",
      image.reference,
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    const verify = (flags: string[]) => env.run(["verify", ...flags, image.reference]);
    const ok = await verify([
      "--certificate",
      corp.leaf,
      "--certificate-chain",
      corp.pki.chain,
      ...IDENTITY,
      ...OFFLINE,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /verified against the given CA roots/);
    // Another certificate (another key) does not verify the signature.
    const stranger = await corp.pki.issue("stranger", {
      usage: "codeSigning",
      san: [`email:${SIGNER}`],
    });
    const wrong = await verify([
      "--certificate",
      stranger.cert,
      "--certificate-chain",
      corp.pki.chain,
      ...IDENTITY,
      ...OFFLINE,
    ]);
    assert.equal(wrong.code, 12);
    assert.match(wrong.stderr, /does not verify with the signing certificate's key/);
    // A certificate of the same key that is not for code signing is refused.
    const server = await corp.pki.issue("server", {
      usage: "serverAuth",
      san: [`email:${SIGNER}`],
      key: corp.leafKey,
    });
    const notCodeSigning = await verify([
      "--certificate",
      server.cert,
      "--certificate-chain",
      corp.pki.chain,
      ...IDENTITY,
      ...OFFLINE,
    ]);
    assert.equal(notCodeSigning.code, 12);
    assert.match(notCodeSigning.stderr, /is not for code signing/);
    // --key excludes the PKI flags.
    const withKey = await verify(["--key", "corp.pub", "--certificate", corp.leaf, ...OFFLINE]);
    assert.equal(withKey.code, 1);
    assert.match(withKey.stderr, /--key cannot be combined with --certificate/);
  });

  Deno.test("verify-attestation --certificate --ca-roots --ca-intermediates verifies an attestation made with the leaf's key", async () => {
    await using env = await openImageEnv("in-process");
    const corp = await openCorpEnv(env);
    const image = await env.push("corp/attested");
    await Deno.writeTextFile(`${env.dir}/predicate.json`, '{"approved": true}');
    const attested = await env.run([
      "attest",
      "--key",
      "corp.key",
      "--tlog-upload=false",
      "--predicate",
      "predicate.json",
      image.reference,
    ]);
    assert.equal(attested.code, 0, attested.stderr);
    const flags = [
      "--certificate",
      corp.leaf,
      "--ca-roots",
      corp.pki.root.cert,
      "--ca-intermediates",
      corp.pki.intermediate.cert,
      ...IDENTITY,
      ...OFFLINE,
      image.reference,
    ];
    const verified = await env.run(["verify-attestation", ...flags]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stderr, /verified against the given CA roots/);
    // Without the intermediate there is no path to the root.
    const noPath = await env.run([
      "verify-attestation",
      "--certificate",
      corp.leaf,
      "--ca-roots",
      corp.pki.root.cert,
      ...IDENTITY,
      ...OFFLINE,
      image.reference,
    ]);
    assert.equal(noPath.code, 12);
    assert.match(noPath.stderr, /No trusted issuer "CN=Corp Intermediate CA,O=Corp"/);
    const alone = await env.run([
      "verify-attestation",
      "--ca-intermediates",
      corp.pki.intermediate.cert,
      ...IDENTITY,
      ...OFFLINE,
      image.reference,
    ]);
    assert.equal(alone.code, 1);
    assert.match(alone.stderr, /--ca-intermediates needs --ca-roots/);
  });

  Deno.test("verify-blob --certificate-chain: the leaf is checked at the logged signing time, not now", async () => {
    await using env = await openImageEnv("in-process");
    const corp = await openCorpEnv(env);
    await Deno.writeTextFile(`${env.dir}/release.txt`, "release 1.0\n");
    const signed = await env.run([
      "sign-blob",
      "--key",
      "corp.key",
      "--certificate",
      corp.leaf,
      "--rekor-url",
      env.url,
      "--bundle",
      "release.sigstore.json",
      "release.txt",
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    // Three days on, the two-day leaf has expired; it was valid when the log recorded it.
    const later = () => new Date(Date.now() + 3 * 86_400_000);
    const run = (flags: string[]) =>
      dcosign(["verify-blob", ...flags, "release.txt"], {
        cwd: env.dir,
        fetch: env.fetch,
        now: later,
      });
    const common = [
      "--bundle",
      "release.sigstore.json",
      "--certificate-chain",
      corp.pki.chain,
      ...IDENTITY,
      "--insecure-ignore-sct",
    ];
    const logged = await run([...common, "--trusted-root", env.trustedRoot]);
    assert.equal(logged.code, 0, logged.stderr);
    assert.match(logged.stderr, /Verified OK/);
    const unlogged = await run([...common, "--insecure-ignore-tlog"]);
    assert.equal(unlogged.code, 1);
    assert.match(unlogged.stderr, /is not valid at .*\[X509_OUTSIDE_VALIDITY\]/);
    const otherCa = await run([
      "--bundle",
      "release.sigstore.json",
      "--ca-roots",
      corp.other.root.cert,
      ...IDENTITY,
      "--insecure-ignore-sct",
      "--trusted-root",
      env.trustedRoot,
    ]);
    assert.equal(otherCa.code, 1);
    assert.match(otherCa.stderr, /No trusted issuer .* \[X509_NO_CHAIN\]/);
  });
}
