/**
 * The blob commands end to end through the CLI on the embedded stack: sign-blob and attest-blob
 * with a key and keyless, in the Sigstore bundle format and cosign's legacy outputs, then
 * verify-blob and verify-blob-attestation; and every way they must fail, each with its reason.
 */

import assert from "node:assert/strict";
import { fromBase64, sha256, toHex } from "../../lib/util/bytes.ts";
import { parseBundle } from "../../lib/bundle/model.ts";
import { encodePem } from "../../lib/util/pem.ts";
import { createLeafCertificate, fulcioExtension } from "../../server/fulcio/certificate_builder.ts";
import { decryptPrivateKey, encryptPrivateKey } from "../../lib/keys/key_file.ts";
import { generateKeyPair, PrivateKey } from "../../lib/keys/private_key.ts";
import { parseCertificate } from "../../lib/x509/certificate.ts";
import { parseLegacyBlobBundle } from "../../lib/bundle/legacy.ts";
import { parseStatement } from "../../lib/payload/statement.ts";
import { dcosign } from "../_cli.ts";
import { type ImageEnv, openImageEnv, TEST_IDENTITIES } from "./_image_env.ts";

const EMAIL = TEST_IDENTITIES[0];
const PREDICATE = JSON.stringify({ builder: { id: "https://ci.example/builder" }, buildType: "x" });

async function writeBlob(env: ImageEnv, name: string, text: string): Promise<string> {
  await Deno.writeTextFile(`${env.dir}/${name}`, text);
  return name;
}

function keyless(env: ImageEnv, token: string): string[] {
  return [
    "--signing-config",
    env.signingConfig,
    "--trusted-root",
    env.trustedRoot,
    "--identity-token",
    token,
    "--yes",
  ];
}

function identity(env: ImageEnv, subject: string = EMAIL): string[] {
  return ["--certificate-identity", subject, "--certificate-oidc-issuer", env.url];
}

function keyed(env: ImageEnv): string[] {
  return ["--key", "cosign.key", "--rekor-url", env.url];
}

function verifyWithKey(env: ImageEnv): string[] {
  return ["--key", "cosign.pub", "--trusted-root", env.trustedRoot];
}

/** `sign-blob FLAGS --bundle BUNDLE BLOB`, which must pass. */
async function signsBlob(env: ImageEnv, flags: string[], bundle: string, blob: string) {
  const signed = await env.run(["sign-blob", ...flags, "--bundle", bundle, blob]);
  assert.equal(signed.code, 0, signed.stderr);
}

/** `verify-blob FLAGS --bundle BUNDLE BLOB`, which must say "Verified OK". */
async function verifiesBlob(env: ImageEnv, flags: string[], bundle: string, blob: string) {
  assertOk(await env.run(["verify-blob", ...flags, "--bundle", bundle, blob]));
}

function assertOk(result: { code: number; stderr: string }) {
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /Verified OK/);
}

function assertFails(result: { code: number; stderr: string }, reason: RegExp) {
  assert.equal(result.code, 1, result.stderr);
  assert.doesNotMatch(result.stderr, /Verified OK/);
  assert.match(result.stderr, reason);
}

Deno.test("sign-blob --key writes a v0.3 bundle that verify-blob accepts, by file, digest and stdin", async () => {
  await using env = await openImageEnv("in-process");
  const blob = await writeBlob(env, "app.txt", "release 1.0\n");
  const signed = await env.run(["sign-blob", ...keyed(env), "--bundle", "app.json", blob]);
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(signed.stderr, /tlog entry created with index/);
  const bundle = parseBundle(await Deno.readFile(`${env.dir}/app.json`));
  assert.equal(bundle.version, "0.3");
  assert.equal(bundle.verificationMaterial.key.kind, "publicKey");
  assert.equal(bundle.verificationMaterial.tlogEntries[0]?.kindVersion.kind, "hashedrekord");
  assert.equal(bundle.content.kind, "messageSignature");
  if (bundle.content.kind === "messageSignature") {
    assert.equal(
      toHex(bundle.content.messageDigest!.digest),
      toHex(sha256(await Deno.readFile(`${env.dir}/${blob}`))),
    );
  }
  const verify = ["verify-blob", ...verifyWithKey(env), "--bundle", "app.json"];
  assertOk(await env.run([...verify, blob]));
  const hex = toHex(sha256(new TextEncoder().encode("release 1.0\n")));
  assertOk(await env.run([...verify, `sha256:${hex}`]));
  const fromStdin = await dcosign([...verify, "-"], {
    cwd: env.dir,
    fetch: env.fetch,
    stdin: "release 1.0\n",
  });
  assertOk(fromStdin);
  const otherStdin = await dcosign([...verify, "-"], {
    cwd: env.dir,
    fetch: env.fetch,
    stdin: "release 2.0\n",
  });
  assertFails(otherStdin, /VERIFY_MESSAGE_DIGEST_MISMATCH/);
});

Deno.test("verify-blob refuses a changed blob, another key, a digest of another blob and a missing log entry", async () => {
  await using env = await openImageEnv("in-process");
  const blob = await writeBlob(env, "app.txt", "release 1.0\n");
  await signsBlob(env, keyed(env), "app.json", blob);
  const verify = ["verify-blob", ...verifyWithKey(env), "--bundle", "app.json"];
  await writeBlob(env, "changed.txt", "release 1.1\n");
  assertFails(await env.run([...verify, "changed.txt"]), /VERIFY_MESSAGE_DIGEST_MISMATCH/);
  assertFails(
    await env.run([...verify, `sha256:${"ab".repeat(32)}`]),
    /VERIFY_MESSAGE_DIGEST_MISMATCH/,
  );
  // Another key pair: the signature does not verify with it (checked before the log entry).
  const other = await generateKeyPair();
  await Deno.writeTextFile(`${env.dir}/other.pub`, other.publicKey.toPem());
  assertFails(
    await env.run([
      "verify-blob",
      "--key",
      "other.pub",
      "--trusted-root",
      env.trustedRoot,
      "--bundle",
      "app.json",
      blob,
    ]),
    /VERIFY_SIGNATURE_INVALID/,
  );
  // Signed without the log: verification needs the log unless told to skip it.
  assert.equal(
    (await env.run([
      "sign-blob",
      "--key",
      "cosign.key",
      "--tlog-upload=false",
      "--bundle",
      "nolog.json",
      blob,
    ])).code,
    0,
  );
  assertFails(
    await env.run(["verify-blob", ...verifyWithKey(env), "--bundle", "nolog.json", blob]),
    /VERIFY_TLOG_MISSING/,
  );
  assertOk(
    await env.run([
      "verify-blob",
      "--key",
      "cosign.pub",
      "--insecure-ignore-tlog",
      "--bundle",
      "nolog.json",
      blob,
    ]),
  );
  // A path that is neither a readable file nor a digest reference is an error, not a digest.
  assertFails(await env.run([...verify, "missing.txt"]), /VERIFY_BLOB_UNREADABLE/);
});

Deno.test("sign-blob keyless: the bundle carries the certificate, log entry and timestamp; identity is checked", async () => {
  await using env = await openImageEnv("in-process");
  const blob = await writeBlob(env, "app.txt", "keyless release\n");
  const signed = await env.run([
    "sign-blob",
    ...keyless(env, await env.idToken()),
    "--bundle",
    "app.json",
    blob,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const bundle = parseBundle(await Deno.readFile(`${env.dir}/app.json`));
  assert.equal(bundle.verificationMaterial.key.kind, "certificate");
  assert.equal(bundle.verificationMaterial.tlogEntries.length, 1);
  assert.equal(bundle.verificationMaterial.rfc3161Timestamps.length, 1);
  const base = ["verify-blob", "--trusted-root", env.trustedRoot, "--bundle", "app.json"];
  assertOk(await env.run([...base, ...identity(env), blob]));
  assertOk(await env.run([...base, ...identity(env), "--use-signed-timestamps", blob]));
  assertFails(
    await env.run([...base, ...identity(env, "someone@dcosign.test"), blob]),
    /VERIFY_IDENTITY_MISMATCH/,
  );
  assertFails(
    await env.run([
      ...base,
      "--certificate-identity-regexp",
      "signer",
      "--certificate-oidc-issuer",
      env.url,
      blob,
    ]),
    /VERIFY_IDENTITY_MISMATCH/,
  );
  assertFails(await env.run([...base, blob]), /Verification needs --key/);
});

Deno.test("sign-blob --new-bundle-format=false writes cosign's legacy outputs, and each verifies", async () => {
  await using env = await openImageEnv("in-process");
  const blob = await writeBlob(env, "app.txt", "legacy release\n");
  const signed = await env.run([
    "sign-blob",
    ...keyless(env, await env.idToken()),
    "--new-bundle-format=false",
    "--bundle",
    "legacy.json",
    "--output-certificate",
    "cert.b64",
    "--rfc3161-timestamp",
    "ts.json",
    blob,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const signature = signed.stdout.trim();
  assert.ok(fromBase64(signature).length > 60, "the base64 signature is printed on stdout");
  const legacy = parseLegacyBlobBundle(await Deno.readFile(`${env.dir}/legacy.json`));
  assert.equal(toHex(legacy.signature), toHex(fromBase64(signature)));
  assert.ok(legacy.rekorBundle?.inclusionPromise, "the legacy bundle carries the SET");
  assert.match(new TextDecoder().decode(legacy.cert), /BEGIN CERTIFICATE/);
  const base = ["verify-blob", "--trusted-root", env.trustedRoot, ...identity(env)];
  assertOk(await env.run([...base, "--bundle", "legacy.json", blob]));
  // Detached signature and certificate: no log entry travels with them, so either find it in
  // the log, or rely on the RFC 3161 timestamp alone.
  const detached = [...base, "--signature", signature, "--certificate", "cert.b64"];
  assertFails(await env.run([...detached, blob]), /VERIFY_TLOG_MISSING/);
  assertOk(await env.run([...detached, "--rekor-url", env.url, blob]));
  assertOk(
    await env.run([
      ...detached,
      "--rfc3161-timestamp",
      "ts.json",
      "--use-signed-timestamps",
      "--insecure-ignore-tlog",
      blob,
    ]),
  );
  // A certificate that is not the bundle's is refused.
  const other = await env.run([
    "sign-blob",
    ...keyless(env, await env.idToken()),
    "--new-bundle-format=false",
    "--output-certificate",
    "other.b64",
    blob,
  ]);
  assert.equal(other.code, 0, other.stderr);
  assertFails(
    await env.run([...base, "--bundle", "legacy.json", "--certificate", "other.b64", blob]),
    /VERIFY_CERTIFICATE_MISMATCH/,
  );
  // A Sigstore bundle stands alone.
  assert.equal(
    (await env.run([
      "sign-blob",
      ...keyless(env, await env.idToken()),
      "--bundle",
      "new.json",
      blob,
    ]))
      .code,
    0,
  );
  assertFails(
    await env.run([...base, "--bundle", "new.json", "--certificate", "cert.b64", blob]),
    /--certificate cannot be combined with a Sigstore bundle/,
  );
  assertFails(
    await env.run([...base, "--bundle", "new.json", "--new-bundle-format=false", blob]),
    /verify it with --new-bundle-format/,
  );
});

Deno.test("sign-blob with a key and the legacy bundle: the bundle's key must be the given key", async () => {
  await using env = await openImageEnv("in-process");
  const blob = await writeBlob(env, "app.txt", "legacy keyed\n");
  const signed = await env.run([
    "sign-blob",
    ...keyed(env),
    "--new-bundle-format=false",
    "--b64=false",
    "--output-signature",
    "app.sig",
    "--bundle",
    "legacy.json",
    blob,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const raw = await Deno.readFile(`${env.dir}/app.sig`);
  assert.equal(raw[0], 0x30, "--b64=false writes the DER signature");
  await verifiesBlob(env, verifyWithKey(env), "legacy.json", blob);
  assertOk(
    await env.run([
      "verify-blob",
      ...verifyWithKey(env),
      "--signature",
      "app.sig",
      "--rekor-url",
      env.url,
      blob,
    ]),
  );
  const other = await generateKeyPair();
  await Deno.writeTextFile(`${env.dir}/other.pub`, other.publicKey.toPem());
  assertFails(
    await env.run([
      "verify-blob",
      "--key",
      "other.pub",
      "--trusted-root",
      env.trustedRoot,
      "--bundle",
      "legacy.json",
      blob,
    ]),
    /bundle's public key is not the given --key/,
  );
});

Deno.test("sign-blob --key --certificate puts the key's certificate in the bundle; --timestamp-server-url adds a timestamp", async () => {
  await using env = await openImageEnv("in-process");
  const blob = await writeBlob(env, "app.txt", "certified release\n");
  const key = await decryptPrivateKey(await Deno.readTextFile(`${env.dir}/cosign.key`), "pw");
  const state = env.services.ca.toJSON();
  const issuerKey = await PrivateKey.fromDer(fromBase64(state.intermediateKey), "pkcs8");
  const issuer = parseCertificate(fromBase64(state.certificates[0]!));
  const certify = async (publicKey: typeof key.publicKey, file: string) => {
    const leaf = await createLeafCertificate(issuerKey, issuer, {
      publicKey,
      sans: [{ type: "email", value: EMAIL }],
      extensions: [fulcioExtension("1.3.6.1.4.1.57264.1.8", env.url)],
      notBefore: new Date(Date.now() - 1000),
      notAfter: new Date(Date.now() + 600_000),
    });
    await Deno.writeTextFile(`${env.dir}/${file}`, encodePem("CERTIFICATE", leaf.raw));
  };
  await certify(key.publicKey, "leaf.pem");
  const signed = await env.run([
    "sign-blob",
    ...keyed(env),
    "--certificate",
    "leaf.pem",
    "--timestamp-server-url",
    `${env.url}/api/v1/timestamp`,
    "--bundle",
    "app.json",
    blob,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const bundle = parseBundle(await Deno.readFile(`${env.dir}/app.json`));
  assert.equal(bundle.verificationMaterial.key.kind, "certificate");
  assert.equal(bundle.verificationMaterial.rfc3161Timestamps.length, 1);
  await verifiesBlob(env, verifyWithKey(env), "app.json", blob);
  // The certificate chains to the stack's CA but was never shown to a CT log.
  assertOk(
    await env.run([
      "verify-blob",
      "--trusted-root",
      env.trustedRoot,
      ...identity(env),
      "--insecure-ignore-sct",
      "--use-signed-timestamps",
      "--bundle",
      "app.json",
      blob,
    ]),
  );
  await certify((await generateKeyPair()).publicKey, "other.pem");
  const refused = await env.run([
    "sign-blob",
    ...keyed(env),
    "--certificate",
    "other.pem",
    "--bundle",
    "other.json",
    blob,
  ]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /not a certificate of the --key/);
});

Deno.test("Ed25519 keys sign blobs (the message, read bounded) and verify", async () => {
  await using env = await openImageEnv("in-process");
  const key = await generateKeyPair({ kind: "ed25519" });
  await Deno.writeTextFile(`${env.dir}/ed.key`, encryptPrivateKey(key, "pw"));
  await Deno.writeTextFile(`${env.dir}/ed.pub`, key.publicKey.toPem());
  const blob = await writeBlob(env, "app.txt", "ed25519 release\n");
  const signed = await env.run([
    "sign-blob",
    "--key",
    "ed.key",
    "--tlog-upload=false",
    "--bundle",
    "app.json",
    blob,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const verify = [
    "verify-blob",
    "--key",
    "ed.pub",
    "--insecure-ignore-tlog",
    "--bundle",
    "app.json",
  ];
  assertOk(await env.run([...verify, blob]));
  await writeBlob(env, "changed.txt", "ed25519 release!\n");
  assertFails(await env.run([...verify, "changed.txt"]), /VERIFY_MESSAGE_DIGEST_MISMATCH/);
  // Without the digest hint (a legacy signature), a changed message fails the signature itself.
  const legacy = await env.run([
    "sign-blob",
    "--key",
    "ed.key",
    "--tlog-upload=false",
    "--new-bundle-format=false",
    blob,
  ]);
  assert.equal(legacy.code, 0, legacy.stderr);
  const detached = ["verify-blob", "--key", "ed.pub", "--insecure-ignore-tlog"];
  const signature = legacy.stdout.trim();
  assertOk(await env.run([...detached, "--signature", signature, blob]));
  assertFails(
    await env.run([...detached, "--signature", signature, "changed.txt"]),
    /VERIFY_SIGNATURE_INVALID/,
  );
});

Deno.test("attest-blob and verify-blob-attestation: type, subject and claims, keyed and keyless", async () => {
  await using env = await openImageEnv("in-process");
  const blob = await writeBlob(env, "app.tar", "the artifact\n");
  await Deno.writeTextFile(`${env.dir}/prov.json`, PREDICATE);
  const attested = await env.run([
    "attest-blob",
    ...keyed(env),
    "--type",
    "slsaprovenance",
    "--predicate",
    "prov.json",
    "--bundle",
    "att.json",
    blob,
  ]);
  assert.equal(attested.code, 0, attested.stderr);
  const bundle = parseBundle(await Deno.readFile(`${env.dir}/att.json`));
  assert.equal(bundle.content.kind, "dsseEnvelope");
  if (bundle.content.kind === "dsseEnvelope") {
    const statement = parseStatement(bundle.content.envelope.payload);
    assert.equal(statement.predicateType, "https://slsa.dev/provenance/v0.2");
    assert.deepEqual(statement.subject, [{
      name: "app.tar",
      digest: { sha256: toHex(sha256(new TextEncoder().encode("the artifact\n"))) },
    }]);
  }
  assert.equal(bundle.verificationMaterial.tlogEntries[0]?.kindVersion.kind, "dsse");
  const verify = ["verify-blob-attestation", ...verifyWithKey(env), "--bundle", "att.json"];
  assertOk(await env.run([...verify, "--type", "slsaprovenance", blob]));
  assertFails(await env.run([...verify, blob]), /VERIFY_PREDICATE_TYPE_MISMATCH/);
  await writeBlob(env, "other.tar", "another artifact\n");
  assertFails(
    await env.run([...verify, "--type", "slsaprovenance", "other.tar"]),
    /VERIFY_SUBJECT_MISMATCH/,
  );
  const hex = toHex(sha256(new TextEncoder().encode("the artifact\n")));
  assertOk(
    await env.run([
      ...verify,
      "--type",
      "slsaprovenance",
      "--digest",
      hex,
      "--digestAlg",
      "sha256",
    ]),
  );
  assertOk(await env.run([...verify, "--type", "slsaprovenance", "--check-claims=false"]));
  assertFails(await env.run([...verify, "--type", "slsaprovenance"]), /needs the blob/);
  // verify-blob accepts the attestation as a signature about the blob (its subject digest).
  await verifiesBlob(env, verifyWithKey(env), "att.json", blob);
  // and verify-blob-attestation refuses a message signature.
  await signsBlob(env, keyed(env), "sig.json", blob);
  assertFails(
    await env.run(["verify-blob-attestation", ...verifyWithKey(env), "--bundle", "sig.json", blob]),
    /VERIFY_NOT_AN_ATTESTATION/,
  );

  const keylessAtt = await env.run([
    "attest-blob",
    ...keyless(env, await env.idToken()),
    "--predicate",
    "prov.json",
    "--bundle",
    "keyless.json",
    blob,
  ]);
  assert.equal(keylessAtt.code, 0, keylessAtt.stderr);
  const keylessVerify = [
    "verify-blob-attestation",
    "--trusted-root",
    env.trustedRoot,
    "--bundle",
    "keyless.json",
  ];
  assertOk(await env.run([...keylessVerify, ...identity(env), blob]));
  assertFails(
    await env.run([...keylessVerify, ...identity(env, "someone@dcosign.test"), blob]),
    /VERIFY_IDENTITY_MISMATCH/,
  );
});

Deno.test("attest-blob --statement signs the statement verbatim; legacy outputs verify", async () => {
  await using env = await openImageEnv("in-process");
  const blob = await writeBlob(env, "app.tar", "statement artifact\n");
  const hex = toHex(sha256(new TextEncoder().encode("statement artifact\n")));
  const statement =
    `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app.tar","digest":{"sha256":"${hex}"}}],"predicateType":"https://example.com/test/v1","predicate":{"ok":true}}`;
  await Deno.writeTextFile(`${env.dir}/statement.json`, statement);
  const attested = await env.run([
    "attest-blob",
    ...keyed(env),
    "--statement",
    "statement.json",
    "--bundle",
    "att.json",
  ]);
  assert.equal(attested.code, 0, attested.stderr);
  const bundle = parseBundle(await Deno.readFile(`${env.dir}/att.json`));
  if (bundle.content.kind !== "dsseEnvelope") throw new Error("expected a DSSE bundle");
  assert.equal(new TextDecoder().decode(bundle.content.envelope.payload), statement);
  const verify = ["verify-blob-attestation", ...verifyWithKey(env), "--type"];
  assertOk(await env.run([...verify, "https://example.com/test/v1", "--bundle", "att.json", blob]));

  await Deno.writeTextFile(`${env.dir}/prov.json`, PREDICATE);
  const legacy = await env.run([
    "attest-blob",
    ...keyed(env),
    "--type",
    "slsaprovenance",
    "--predicate",
    "prov.json",
    "--new-bundle-format=false",
    "--bundle",
    "legacy.json",
    "--output-attestation",
    "statement.out",
    blob,
  ]);
  assert.equal(legacy.code, 0, legacy.stderr);
  const envelope = JSON.parse(legacy.stdout);
  assert.equal(envelope.payloadType, "application/vnd.in-toto+json");
  await Deno.writeTextFile(`${env.dir}/envelope.json`, legacy.stdout);
  assertOk(
    await env.run([...verify, "slsaprovenance", "--bundle", "legacy.json", blob]),
  );
  assertOk(
    await env.run([
      ...verify,
      "slsaprovenance",
      "--signature",
      "envelope.json",
      "--rekor-url",
      env.url,
      blob,
    ]),
  );
  assertFails(
    await env.run([...verify, "slsaprovenance", "--signature", "envelope.json", blob]),
    /VERIFY_TLOG_MISSING/,
  );
});

Deno.test("blob commands refuse unusable flags before signing anything", async () => {
  await using env = await openImageEnv("in-process");
  const blob = await writeBlob(env, "app.txt", "x");
  const cases: [string[], RegExp][] = [
    [["sign-blob", "--key", "cosign.key", blob], /pass --bundle FILE/],
    [["attest-blob", "--key", "cosign.key", "--bundle", "a.json", blob], /exactly one of/],
    [
      [
        "attest-blob",
        "--key",
        "cosign.key",
        "--bundle",
        "a.json",
        "--predicate",
        "p",
        "--type",
        "no such",
        blob,
      ],
      /Invalid --type "no such"/,
    ],
    [["verify-blob", "--key", "cosign.pub", blob], /Give the signature/],
    [
      ["verify-blob-attestation", "--key", "cosign.pub", "--bundle", "a.json", "--digest", "ab"],
      /--digest needs --digestAlg/,
    ],
  ];
  for (const [argv, reason] of cases) {
    const result = await env.run(argv);
    assert.equal(result.code, 1, argv.join(" "));
    assert.match(result.stderr, reason, argv.join(" "));
  }
});

Deno.test("[socket] sign-blob and verify-blob over real sockets", async () => {
  await using env = await openImageEnv("socket");
  const blob = await writeBlob(env, "app.txt", "socket release\n");
  await signsBlob(env, keyless(env, await env.idToken()), "app.json", blob);
  await verifiesBlob(env, ["--trusted-root", env.trustedRoot, ...identity(env)], "app.json", blob);
});
