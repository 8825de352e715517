/**
 * Issue 12's nine classes of hostile input, one test each: every test crafts its input itself
 * (from the embedded stack's CA, log and registry, or from keys and certificates it makes), and
 * asserts a non-zero exit or a thrown typed error with a one-line reason, and that the matching
 * honest input still passes.
 *
 * 1. duplicate JSON keys; 2. payload types and layer media types; 3. strict DER signatures;
 * 4. algorithms from trust; 5. weak keys; 6. the Fulcio leaf profile; 7. tags resolve to the
 * bytes served; 8. bounded inputs; 9. attach validates before it uploads.
 */

import assert from "node:assert/strict";
import { type Bytes, fromBase64, sha256Digest, toBase64, utf8 } from "../../lib/util/bytes.ts";
import { derBitString, derInteger, derNull, derOid, derSequence } from "../../lib/util/der.ts";
import { encodePem } from "../../lib/util/pem.ts";
import { digest } from "../../lib/util/bytes.ts";
import { type CosignError, isCosignError } from "../../lib/errors.ts";
import { pae, parseEnvelope, serializeEnvelope } from "../../lib/payload/dsse.ts";
import {
  buildStatement,
  IN_TOTO_PAYLOAD_TYPE,
  parseStatement,
} from "../../lib/payload/statement.ts";
import {
  decodeSimpleSigningPayload,
  encodeSimpleSigningPayload,
} from "../../lib/payload/simple_signing.ts";
import { parseEntryBody } from "../../lib/tlog/rekor/bodies.ts";
import { parseTrustedRoot } from "../../lib/trust/trusted_root.ts";
import { parseSigningConfig } from "../../lib/trust/signing_config.ts";
import { parseTufMetadata } from "../../lib/trust/tuf/metadata.ts";
import { publicGoodRootBytes } from "../../lib/trust/tuf/public_good.ts";
import { decryptPrivateKey } from "../../lib/keys/key_file.ts";
import {
  generateKeyPair,
  importPrivateKeyPem,
  type PrivateKey,
} from "../../lib/keys/private_key.ts";
import { ecdsaRawToDer, PublicKey, verifySignature } from "../../lib/keys/public_key.ts";
import { FULCIO_ARC, OID } from "../../lib/x509/oids.ts";
import { type Certificate, parseCertificate } from "../../lib/x509/certificate.ts";
import { verifyCertificateChain } from "../../lib/x509/chain.ts";
import { verifySignedEntity } from "../../lib/verify/pipeline.ts";
import type { SignedEntity, VerificationPolicy } from "../../lib/verify/entity.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { MEDIA_TYPE } from "../../lib/oci/manifest.ts";
import { parseImageReference } from "../../lib/oci/reference.ts";
import {
  ANNOTATION,
  appendLegacyAttachment,
  type DigestReference,
} from "../../lib/storage/signatures.ts";
import {
  basicConstraintsExtension,
  buildCertificate,
  createLeafCertificate,
  createRootCertificate,
  encodeTbsCertificate,
  extKeyUsageExtension,
  fulcioExtension,
  keyUsageExtension,
  signatureAlgorithmFor,
  subjectAltNameExtension,
} from "../../server/fulcio/certificate_builder.ts";
import { type CliResult, dcosign } from "../_cli.ts";
import { REPO_ROOT } from "../_support.ts";
import { type ImageEnv, openImageEnv } from "./_image_env.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

/** A failure: non-zero exit, exactly one error line, matching `reason`. */
function assertRefused(result: CliResult, reason: RegExp): void {
  assert.notEqual(result.code, 0, `expected a failure, got: ${result.stderr}`);
  const errors = result.stderr.split("\n").filter((line) => line.startsWith("Error:"));
  assert.equal(errors.length, 1, result.stderr);
  assert.match(errors[0]!, reason);
}

function assertPasses(result: CliResult): void {
  assert.equal(result.code, 0, result.stderr);
}

/** The thrown error is a `CosignError` with `code` and a one-line message matching `reason`. */
function typed(code: string, reason?: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isCosignError(error), `not a CosignError: ${error}`);
    assert.equal((error as CosignError).code, code, (error as Error).message);
    assert.doesNotMatch((error as Error).message, /\n/);
    if (reason) assert.match((error as Error).message, reason);
    return true;
  };
}

/** A fetch that lets `rule` answer some requests itself. */
function intercept(
  base: typeof fetch,
  rule: (request: Request) => Response | undefined | Promise<Response | undefined>,
): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    return await rule(request.clone()) ?? await base(request);
  };
}

function runWith(env: ImageEnv, fetcher: typeof fetch, argv: string[]): Promise<CliResult> {
  return dcosign(argv, { cwd: env.dir, fetch: fetcher, env: { COSIGN_PASSWORD: "pw" } });
}

/** The environment's signing key (cosign.key, password `pw`). */
async function envKey(env: ImageEnv): Promise<PrivateKey> {
  return await decryptPrivateKey(await Deno.readTextFile(`${env.dir}/cosign.key`), "pw");
}

async function write(env: ImageEnv, name: string, data: string | Uint8Array): Promise<string> {
  if (typeof data === "string") await Deno.writeTextFile(`${env.dir}/${name}`, data);
  else await Deno.writeFile(`${env.dir}/${name}`, data);
  return name;
}

async function readJson(env: ImageEnv, name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(`${env.dir}/${name}`));
}

/** Put `"key":value,` first in the object opened at the first `{` after `after` (or at 0). */
function withDuplicate(text: string, key: string, value: unknown, after = ""): string {
  const at = text.indexOf("{", after === "" ? 0 : text.indexOf(after) + after.length) + 1;
  assert.ok(at > 0, `no object after ${after}`);
  return `${text.slice(0, at)}${JSON.stringify(key)}:${JSON.stringify(value)},${text.slice(at)}`;
}

const VERIFY_KEY = ["--key", "cosign.pub", "--insecure-ignore-tlog"];
const VERIFY_IMAGE = [...VERIFY_KEY, "--new-bundle-format=false"];

async function signedLegacyImage(env: ImageEnv, repository: string, tag = "v1") {
  const image = await env.push(repository, { tag });
  const signed = await env.run([
    "sign",
    "--key",
    "cosign.key",
    "--tlog-upload=false",
    "--new-bundle-format=false",
    image.reference,
  ]);
  assertPasses(signed);
  return image;
}

/** Append a legacy layer to an image's `.sig` or `.att` tag, as a registry writer could. */
async function appendLayer(
  env: ImageEnv,
  byDigest: string,
  kind: "sig" | "att",
  layer: { payload: Bytes; mediaType: string; annotations: Record<string, string> },
): Promise<void> {
  const client = new RegistryClient({ fetch: env.fetch });
  const image = parseImageReference(byDigest) as DigestReference;
  await appendLegacyAttachment(client, image, kind, layer);
}

// A test CA for certificate and key classes: a P-256 root valid around now.
const NOW = new Date();
const VALIDITY = {
  notBefore: new Date(NOW.getTime() - 3600_000),
  notAfter: new Date(NOW.getTime() + 3600_000),
};
const SIGNER = "signer@hardening.test";
const ISSUER = "https://issuer.hardening.test";

async function testCa(): Promise<{ key: PrivateKey; root: Certificate }> {
  const key = await generateKeyPair();
  const root = await createRootCertificate(key, {
    ...VALIDITY,
    subject: { O: "test", CN: "root" },
  });
  return { key, root };
}

function trustedRootFor(root: Certificate) {
  return parseTrustedRoot({
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [],
    ctlogs: [],
    timestampAuthorities: [],
    certificateAuthorities: [{
      subject: { organization: "test", commonName: "root" },
      uri: "https://ca.hardening.test",
      certChain: { certificates: [{ rawBytes: toBase64(root.raw) }] },
      validFor: { start: "2000-01-01T00:00:00Z" },
    }],
  });
}

// ---------------------------------------------------------------------------------------------
// 1. Duplicate JSON keys

Deno.test("class 1: a duplicate JSON key is refused in bundles, envelopes, statements, payloads, Rekor bodies, trusted roots, signing configs and TUF metadata; the same documents without it pass", async () => {
  await using env = await openImageEnv("in-process");
  const blob = await write(env, "app.txt", "release 1.0\n");
  const keyed = ["--key", "cosign.key", "--rekor-url", env.url];
  assertPasses(await env.run(["sign-blob", ...keyed, "--bundle", "app.json", blob]));
  const verify = ["verify-blob", "--key", "cosign.pub", "--trusted-root", env.trustedRoot];
  assertPasses(await env.run([...verify, "--bundle", "app.json", blob]));
  const text = await Deno.readTextFile(`${env.dir}/app.json`);

  // Two verificationMaterial: JSON.parse keeps the second (the real one) and verified this.
  await write(env, "dup.json", withDuplicate(text, "verificationMaterial", { publicKey: {} }));
  assertRefused(
    await env.run([...verify, "--bundle", "dup.json", blob]),
    /Invalid bundle: .*duplicate key "verificationMaterial".*BUNDLE_MALFORMED/,
  );

  // Rekor canonicalizedBody with two kind (or two data) members, in the same bundle.
  const bundle = JSON.parse(text);
  const entry = bundle.verificationMaterial.tlogEntries[0];
  const body = new TextDecoder().decode(fromBase64(entry.canonicalizedBody));
  assert.doesNotThrow(() => parseEntryBody(utf8(body)));
  for (const [key, value] of [["kind", "intoto"], ["spec", {}]] as const) {
    const hostile = withDuplicate(body, key, value);
    assert.throws(
      () => parseEntryBody(utf8(hostile)),
      typed("REKOR_BODY_MALFORMED", new RegExp(`duplicate key "${key}"`)),
    );
  }
  const data = withDuplicate(body, "data", {}, '"spec":');
  assert.throws(() => parseEntryBody(utf8(data)), typed("REKOR_BODY_MALFORMED", /"data"/));
  entry.canonicalizedBody = toBase64(utf8(withDuplicate(body, "kind", "hashedrekord")));
  await write(env, "dupbody.json", JSON.stringify(bundle));
  assertRefused(
    await env.run([...verify, "--bundle", "dupbody.json", blob]),
    /duplicate key "kind"/,
  );

  // A DSSE bundle with two payloadType.
  await write(env, "pred.json", JSON.stringify({ scan: "passed" }));
  assertPasses(
    await env.run([
      "attest-blob",
      ...keyed,
      "--predicate",
      "pred.json",
      "--bundle",
      "att.json",
      blob,
    ]),
  );
  const attVerify = ["verify-blob-attestation", ...verify.slice(1)];
  assertPasses(await env.run([...attVerify, "--bundle", "att.json", blob]));
  const attText = await Deno.readTextFile(`${env.dir}/att.json`);
  await write(
    env,
    "dupatt.json",
    withDuplicate(attText, "payloadType", "text/plain", '"dsseEnvelope":'),
  );
  assertRefused(
    await env.run([...attVerify, "--bundle", "dupatt.json", blob]),
    /duplicate key "payloadType"/,
  );

  // The envelope, statement and SimpleSigning payload on their own.
  const envelope = JSON.stringify(JSON.parse(attText).dsseEnvelope);
  assert.doesNotThrow(() => parseEnvelope(envelope));
  assert.throws(
    () => parseEnvelope(withDuplicate(envelope, "payload", "e30=")),
    typed("PAYLOAD_MALFORMED", /duplicate key "payload"/),
  );
  const statement = new TextDecoder().decode(parseEnvelope(envelope).payload);
  assert.doesNotThrow(() => parseStatement(utf8(statement)));
  for (
    const [key, value] of [["predicateType", "https://evil.test/v1"], ["subject", []]] as const
  ) {
    assert.throws(
      () => parseStatement(utf8(withDuplicate(statement, key, value))),
      typed("PAYLOAD_MALFORMED", new RegExp(`duplicate key "${key}"`)),
    );
  }
  const payload = new TextDecoder().decode(encodeSimpleSigningPayload({
    dockerReference: `${env.registry}/app`,
    digest: `sha256:${"ab".repeat(32)}`,
  }));
  assert.doesNotThrow(() => decodeSimpleSigningPayload(utf8(payload)));
  assert.throws(
    () => decodeSimpleSigningPayload(utf8(withDuplicate(payload, "critical", {}))),
    typed("PAYLOAD_MALFORMED", /duplicate key "critical"/),
  );
  const twoDigests = payload.replace(
    '"docker-manifest-digest":',
    `"docker-manifest-digest":"sha256:${"cd".repeat(32)}","docker-manifest-digest":`,
  );
  assert.throws(
    () => decodeSimpleSigningPayload(utf8(twoDigests)),
    typed("PAYLOAD_MALFORMED", /duplicate key "docker-manifest-digest"/),
  );

  // Trusted root and signing config: the stack's own files, then each with a duplicate.
  const rootText = await Deno.readTextFile(env.trustedRoot);
  assert.doesNotThrow(() => parseTrustedRoot(rootText));
  assert.throws(
    () => parseTrustedRoot(withDuplicate(rootText, "tlogs", [])),
    typed("TRUST_MALFORMED", /duplicate key "tlogs"/),
  );
  await write(env, "duproot.json", withDuplicate(rootText, "tlogs", []));
  assertRefused(
    await env.run([
      "verify-blob",
      "--key",
      "cosign.pub",
      "--trusted-root",
      "duproot.json",
      "--bundle",
      "app.json",
      blob,
    ]),
    /duplicate key "tlogs"/,
  );
  const configText = await Deno.readTextFile(env.signingConfig);
  assert.doesNotThrow(() => parseSigningConfig(configText));
  assert.throws(
    () => parseSigningConfig(withDuplicate(configText, "rekorTlogUrls", [])),
    typed("TRUST_MALFORMED", /duplicate key "rekorTlogUrls"/),
  );
  const tufRoot = new TextDecoder().decode(publicGoodRootBytes());
  assert.doesNotThrow(() => parseTufMetadata(utf8(tufRoot), "root"));
  assert.throws(
    () => parseTufMetadata(utf8(withDuplicate(tufRoot, "version", 1, '"signed":')), "root"),
    typed("TRUST_TUF_METADATA_INVALID", /duplicate key "version"/),
  );
});

// ---------------------------------------------------------------------------------------------
// 2. SimpleSigning type, legacy attestation payload type, legacy layer media types

Deno.test("class 2: a SimpleSigning payload of another critical.type, a legacy .att of another payloadType and a legacy layer of an unknown media type are not signatures; the honest ones verify", async () => {
  await using env = await openImageEnv("in-process");
  const key = await envKey(env);
  assert.equal(
    decodeSimpleSigningPayload(encodeSimpleSigningPayload({
      dockerReference: "r/app",
      digest: `sha256:${"ab".repeat(32)}`,
    })).type,
    "cosign container image signature",
  );
  const payloadOf = (digest: string, type: string | undefined) =>
    utf8(JSON.stringify({
      critical: {
        identity: { "docker-reference": `${env.registry}/hardening/type` },
        image: { "docker-manifest-digest": digest },
        ...(type === undefined ? {} : { type }),
      },
      optional: null,
    }));
  for (const type of ["atomic container signature", undefined]) {
    assert.throws(
      () => decodeSimpleSigningPayload(payloadOf(`sha256:${"ab".repeat(32)}`, type)),
      typed("PAYLOAD_UNKNOWN_TYPE", /critical\.type/),
    );
  }

  // Signed with the right key, over a payload naming the right digest, but of another type.
  const wrongType = await env.push("hardening/type");
  const hostilePayload = payloadOf(wrongType.digest, "atomic container signature");
  await appendLayer(env, wrongType.byDigest, "sig", {
    payload: hostilePayload,
    mediaType: MEDIA_TYPE.SIMPLE_SIGNING,
    annotations: { [ANNOTATION.SIGNATURE]: toBase64(await key.sign(hostilePayload)) },
  });
  assertRefused(
    await env.run(["verify", ...VERIFY_IMAGE, wrongType.reference]),
    /PAYLOAD_UNKNOWN_TYPE|critical\.type/,
  );
  const honest = await env.push("hardening/honest");
  const honestBytes = payloadOf(honest.digest, "cosign container image signature");
  await appendLayer(env, honest.byDigest, "sig", {
    payload: honestBytes,
    mediaType: MEDIA_TYPE.SIMPLE_SIGNING,
    annotations: { [ANNOTATION.SIGNATURE]: toBase64(await key.sign(honestBytes)) },
  });
  assertPasses(await env.run(["verify", ...VERIFY_IMAGE, honest.reference]));

  // The same honest payload and signature, in a layer of an unknown media type.
  const octet = await env.push("hardening/media");
  const octetPayload = payloadOf(octet.digest, "cosign container image signature");
  await appendLayer(env, octet.byDigest, "sig", {
    payload: octetPayload,
    mediaType: "application/octet-stream",
    annotations: { [ANNOTATION.SIGNATURE]: toBase64(await key.sign(octetPayload)) },
  });
  assertRefused(
    await env.run(["verify", ...VERIFY_IMAGE, octet.reference]),
    /media type is "application\/octet-stream"/,
  );

  // A legacy .att layer whose envelope is correctly signed but says it carries text/plain.
  const attestation = async (digest: string, payloadType: string) => {
    const statement = buildStatement({
      subjects: [{ name: "app", digest: { sha256: digest.slice(7) } }],
      predicateType: "https://hardening.test/predicate/v1",
      predicate: { ok: true },
      version: "v1",
    });
    const sig = await key.sign(pae(payloadType, statement));
    return utf8(serializeEnvelope({ payloadType, payload: statement, signatures: [{ sig }] }));
  };
  const attVerify = [
    "verify-attestation",
    ...VERIFY_IMAGE,
    "--type",
    "https://hardening.test/predicate/v1",
  ];
  const textPlain = await env.push("hardening/att");
  await appendLayer(env, textPlain.byDigest, "att", {
    payload: await attestation(textPlain.digest, "text/plain"),
    mediaType: MEDIA_TYPE.DSSE_ENVELOPE,
    annotations: { [ANNOTATION.SIGNATURE]: "" },
  });
  assertRefused(
    await env.run([...attVerify, textPlain.reference]),
    /payload type is "text\/plain", not "application\/vnd\.in-toto\+json"/,
  );
  const inToto = await env.push("hardening/att-ok");
  await appendLayer(env, inToto.byDigest, "att", {
    payload: await attestation(inToto.digest, IN_TOTO_PAYLOAD_TYPE),
    mediaType: MEDIA_TYPE.DSSE_ENVELOPE,
    annotations: { [ANNOTATION.SIGNATURE]: "" },
  });
  assertPasses(await env.run([...attVerify, inToto.reference]));
});

// ---------------------------------------------------------------------------------------------
// 3. Strict signature encodings

/** Re-encode a DER ECDSA signature: BER long-form lengths, or r with a redundant zero octet. */
function berLongForm(der: Uint8Array): Bytes {
  // SEQUENCE with 0x81 <len>, each INTEGER also with 0x81 <len>.
  const r = der.subarray(2, 2 + 2 + der[3]!);
  const s = der.subarray(2 + r.length);
  const long = (tag: number, body: Uint8Array) => Uint8Array.of(tag, 0x81, body.length, ...body);
  const inner = [...long(0x02, r.subarray(2)), ...long(0x02, s.subarray(2))];
  return Uint8Array.of(0x30, 0x81, inner.length, ...inner) as Bytes;
}

/** One more zero octet before r: never minimal, whether r had a sign octet or not. */
function paddedR(der: Uint8Array): Bytes {
  const r = der.subarray(4, 4 + der[3]!);
  const s = der.subarray(4 + r.length);
  const body = [0x02, r.length + 1, 0x00, ...r, ...s];
  return Uint8Array.of(0x30, body.length, ...body) as Bytes;
}

function rawRs(der: Uint8Array, size: number): Bytes {
  const out = new Uint8Array(2 * size);
  const r = der.subarray(4, 4 + der[3]!);
  const s = der.subarray(4 + r.length + 2);
  const strip = (x: Uint8Array) => (x[0] === 0 ? x.subarray(1) : x);
  out.set(strip(r), size - strip(r).length);
  out.set(strip(s), 2 * size - strip(s).length);
  return out as Bytes;
}

Deno.test("class 3: an ECDSA signature in BER, with a redundant leading zero, or as raw r||s is refused everywhere; its DER form verifies", async () => {
  await using env = await openImageEnv("in-process");
  const key = await envKey(env);
  const blob = await write(env, "app.txt", "strict encodings\n");
  const data = await Deno.readFile(`${env.dir}/${blob}`);
  const der = await key.sign(data);
  assert.deepEqual(ecdsaRawToDer(rawRs(der, 32)), der, "the variants carry the same r and s");
  assert.equal(await verifySignature(key.publicKey, data, der), true);
  const variants = { ber: berLongForm(der), padded: paddedR(der), raw: rawRs(der, 32) };
  const policy: VerificationPolicy = { key: key.publicKey, tlogThreshold: 0 };
  const entity = (signature: Bytes): SignedEntity => ({
    content: { kind: "message", signature },
    material: { kind: "publicKey" },
    tlogEntries: [],
    timestamps: [],
  });
  await verifySignedEntity(entity(der), { kind: "bytes", bytes: data }, policy);
  for (const [name, signature] of Object.entries(variants)) {
    assert.equal(await verifySignature(key.publicKey, data, signature), false, name);
    await assert.rejects(
      verifySignedEntity(entity(signature), { kind: "bytes", bytes: data }, policy),
      typed("VERIFY_SIGNATURE_INVALID"),
      name,
    );
    await write(env, `${name}.sig`, toBase64(signature));
    assertRefused(
      await env.run(["verify-blob", ...VERIFY_KEY, "--signature", `${name}.sig`, blob]),
      /VERIFY_SIGNATURE_INVALID/,
    );
  }
  await write(env, "der.sig", toBase64(der));
  assertPasses(await env.run(["verify-blob", ...VERIFY_KEY, "--signature", "der.sig", blob]));
});

// ---------------------------------------------------------------------------------------------
// 4. Algorithms from trust

Deno.test("class 4: the key decides the hash, not the bundle's messageDigest, and a trusted root's keyDetails must describe its key; the honest bundle and root pass", async () => {
  await using env = await openImageEnv("in-process");
  const key = await envKey(env);
  const blob = await write(env, "app.txt", "hash from trust\n");
  const bytes = await Deno.readFile(`${env.dir}/${blob}`);
  const sign = ["sign-blob", "--key", "cosign.key", "--tlog-upload=false", "--bundle"];
  assertPasses(await env.run([...sign, "plain.json", blob]));
  const verify = ["verify-blob", ...VERIFY_KEY, "--bundle"];
  assertPasses(await env.run([...verify, "plain.json", blob]));

  // The bundle chooses SHA-512 and carries a valid P-256 signature over the SHA-512 digest.
  const bundle = await readJson(env, "plain.json");
  const signature = bundle.messageSignature as Record<string, unknown>;
  signature.messageDigest = { algorithm: "SHA2_512", digest: toBase64(digest("sha512", bytes)) };
  signature.signature = toBase64(await key.sign(bytes, { hash: "sha512" }));
  await write(env, "sha512.json", JSON.stringify(bundle));
  assertRefused(
    await env.run([...verify, "sha512.json", blob]),
    /message digest is sha512, but the key signs sha256 digests.*VERIFY_MESSAGE_DIGEST_MISMATCH/,
  );
  // When trust says SHA-512 (--signature-digest-algorithm), that bundle verifies and the
  // SHA-256 one no longer does.
  const sha512 = ["--signature-digest-algorithm", "sha512"];
  assertPasses(await env.run([...verify, "sha512.json", ...sha512, blob]));
  assertRefused(
    await env.run([...verify, "plain.json", ...sha512, blob]),
    /VERIFY_MESSAGE_DIGEST_MISMATCH/,
  );

  // keyDetails: the stack's root as written passes; its P-256 log key labelled Ed25519 fails.
  assertPasses(
    await env.run([
      "sign-blob",
      "--key",
      "cosign.key",
      "--rekor-url",
      env.url,
      "--bundle",
      "logged.json",
      blob,
    ]),
  );
  const online = ["verify-blob", "--key", "cosign.pub", "--bundle", "logged.json"];
  assertPasses(await env.run([...online, "--trusted-root", env.trustedRoot, blob]));
  const root = JSON.parse(await Deno.readTextFile(env.trustedRoot));
  assert.equal(root.tlogs[0].publicKey.keyDetails, "PKIX_ECDSA_P256_SHA_256");
  root.tlogs[0].publicKey.keyDetails = "PKIX_ED25519";
  await write(env, "ed-label.json", JSON.stringify(root));
  assertRefused(
    await env.run([...online, "--trusted-root", "ed-label.json", blob]),
    /"PKIX_ED25519" does not describe its key \(ECDSA P-256\).*TRUST_MALFORMED/,
  );
  // A P-384 log key labelled P-256 (and a 2048-bit RSA key labelled 4096) are refused too.
  const p384 = await generateKeyPair({ kind: "ecdsa-p384" });
  const rsa = await generateKeyPair({ kind: "rsa" });
  const rootWith = (spki: Uint8Array, keyDetails: string) => ({
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [{
      baseUrl: "https://log.hardening.test",
      hashAlgorithm: "SHA2_256",
      publicKey: {
        rawBytes: toBase64(spki),
        keyDetails,
        validFor: { start: "2020-01-01T00:00:00Z" },
      },
      logId: { keyId: toBase64(digest("sha256", spki)) },
    }],
  });
  assert.throws(
    () => parseTrustedRoot(rootWith(p384.publicKey.spki, "PKIX_ECDSA_P256_SHA_256")),
    typed("TRUST_MALFORMED", /does not describe its key \(ECDSA P-384\)/),
  );
  assert.throws(
    () => parseTrustedRoot(rootWith(rsa.publicKey.spki, "PKIX_RSA_PKCS1V15_4096_SHA256")),
    typed("TRUST_MALFORMED", /\(RSA 2048 bits\)/),
  );
  assert.equal(
    parseTrustedRoot(rootWith(p384.publicKey.spki, "PKIX_ECDSA_P384_SHA_384")).tlogs[0]?.key.kind,
    "ecdsa-p384",
  );
  assert.equal(
    parseTrustedRoot(rootWith(rsa.publicKey.spki, "PKIX_RSA_PKCS1V15_2048_SHA256")).tlogs.length,
    1,
  );
});

// ---------------------------------------------------------------------------------------------
// 5. Weak keys

/** An RSA SubjectPublicKeyInfo with `modulus` and `exponent`. */
function rsaSpki(modulus: Uint8Array, exponent: number): Bytes {
  return derSequence(
    derSequence(derOid(OID.RSA), derNull()),
    derBitString(derSequence(derInteger(modulus), derInteger(exponent))),
  );
}

/** The modulus bytes of an RSA key's SPKI. */
function rsaModulus(spki: Uint8Array): Uint8Array {
  // SPKI -> BIT STRING -> RSAPublicKey -> first INTEGER; long-form lengths throughout.
  const bitString = spki.subarray(spki.indexOf(0x03, 15));
  const rsa = bitString.subarray(bitString.indexOf(0x30));
  const modulusAt = rsa.indexOf(0x02);
  const lengthBytes = rsa[modulusAt + 1]! & 0x7f;
  let length = 0;
  for (let i = 0; i < lengthBytes; i++) length = length * 256 + rsa[modulusAt + 2 + i]!;
  return rsa.subarray(modulusAt + 2 + lengthBytes, modulusAt + 2 + lengthBytes + length);
}

async function rsaKey(bits: number, exponent: number[]): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: bits,
      publicExponent: Uint8Array.from(exponent),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
}

async function spkiOf(key: CryptoKey): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.exportKey("spki", key)) as Bytes;
}

Deno.test("class 5: weak keys (RSA under 2048 bits, an exponent other than 65537, EC points off the curve or at infinity) are refused at --key, in certificates, trusted roots and imported keys; strong ones enter", async () => {
  await using env = await openImageEnv("in-process");
  const rsa1024 = await spkiOf((await rsaKey(1024, [1, 0, 1])).publicKey);
  const e3 = await rsaKey(2048, [3]);
  const strong = await spkiOf((await rsaKey(2048, [1, 0, 1])).publicKey);
  const modulus = rsaModulus(strong);
  assert.equal(PublicKey.fromSpki(rsaSpki(modulus, 65537)).rsaBits, 2048);
  const p256 = (await generateKeyPair()).publicKey.spki;
  const offCurve = Uint8Array.from(p256);
  offCurve[offCurve.length - 1]! ^= 1;
  const infinity = Uint8Array.from(p256);
  infinity.fill(0, infinity.length - 64);
  const weak: [string, Uint8Array, string, RegExp][] = [
    ["RSA-1024", rsa1024, "KEY_WEAK", /1024-bit RSA key/],
    ["RSA e=3", await spkiOf(e3.publicKey), "KEY_WEAK", /public exponent 3/],
    // With an exponent of 1, s^1 mod n = s: any padded digest is its own "signature".
    ["RSA e=1", rsaSpki(modulus, 1), "KEY_WEAK", /public exponent 1:/],
    ["P-256 off the curve", offCurve, "KEY_MALFORMED", /not a point of P-256/],
    ["P-256 point (0, 0)", infinity, "KEY_MALFORMED", /not a point of P-256/],
  ];
  const ca = await testCa();
  const blob = await write(env, "app.txt", "weak keys\n");
  for (const [name, spki, code, reason] of weak) {
    // Where a key enters: the key itself (--key, trusted roots and bundles build it here) ...
    assert.throws(() => PublicKey.fromSpki(spki), typed(code, reason), name);
    await write(env, "weak.pub", encodePem("PUBLIC KEY", spki));
    assertRefused(
      await env.run([
        "verify-blob",
        "--key",
        "weak.pub",
        "--insecure-ignore-tlog",
        "--signature",
        "AAAA",
        blob,
      ]),
      new RegExp(code),
    );
    // ... a trusted root's log key ...
    assert.throws(
      () =>
        parseTrustedRoot({
          mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
          tlogs: [{
            baseUrl: "https://log.hardening.test",
            publicKey: { rawBytes: toBase64(spki), validFor: { start: "2020-01-01T00:00:00Z" } },
            logId: { keyId: toBase64(digest("sha256", spki)) },
          }],
        }),
      typed("TRUST_MALFORMED", reason),
      name,
    );
    // ... and a certificate's subject key, signed by a real CA.
    const tbs = encodeTbsCertificate({
      ...VALIDITY,
      subject: { CN: "weak" },
      issuer: ca.root.subject.raw,
      publicKey: { spki } as unknown as PublicKey,
    }, ca.key.publicKey);
    const { algorithm, hash } = signatureAlgorithmFor(ca.key.publicKey);
    const cert = derSequence(tbs, algorithm, derBitString(await ca.key.sign(tbs, { hash })));
    assert.throws(
      () => parseCertificate(cert),
      typed(code === "KEY_WEAK" ? "X509_UNSUPPORTED" : "X509_MALFORMED", reason),
      name,
    );
  }
  // Imported private keys: an e=3 RSA key refused, a 65537 one imported.
  const pkcs8 = async (key: CryptoKey) =>
    encodePem("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", key)));
  await assert.rejects(importPrivateKeyPem(await pkcs8(e3.privateKey)), typed("KEY_WEAK"));
  const good = await rsaKey(2048, [1, 0, 1]);
  assert.equal((await importPrivateKeyPem(await pkcs8(good.privateKey))).publicKey.kind, "rsa");
  // A strong key enters and verifies end to end.
  assert.equal(PublicKey.fromSpki(p256).kind, "ecdsa-p256");
  const signature = toBase64(
    await (await envKey(env)).sign(await Deno.readFile(`${env.dir}/${blob}`)),
  );
  assertPasses(
    await env.run([
      "verify-blob",
      "--key",
      "cosign.pub",
      "--insecure-ignore-tlog",
      "--signature",
      signature,
      blob,
    ]),
  );
});

// ---------------------------------------------------------------------------------------------
// 6. Fulcio leaf profile

Deno.test("class 6: a signing leaf with CA:TRUE, without digitalSignature, without codeSigning, with disagreeing issuer extensions or a duplicate extension is refused; the Fulcio-profile leaf verifies", async () => {
  const ca = await testCa();
  const signer = await generateKeyPair();
  const sans = [{ type: "email" as const, value: SIGNER }];
  const issuers = (v1: string, v2: string) => [
    fulcioExtension(`${FULCIO_ARC}1`, v1),
    fulcioExtension(`${FULCIO_ARC}8`, v2),
  ];
  const leaf = (options: { extensions?: ReturnType<typeof issuers>; extKeyUsage?: string[] }) =>
    createLeafCertificate(ca.key, ca.root, {
      ...VALIDITY,
      publicKey: signer.publicKey,
      sans,
      extensions: options.extensions ?? issuers(ISSUER, ISSUER),
      ...(options.extKeyUsage ? { extKeyUsage: options.extKeyUsage } : {}),
    });
  const honest = await leaf({});
  const cases: [string, Certificate, string, RegExp][] = [
    [
      "CA:TRUE",
      await leaf({ extensions: [...issuers(ISSUER, ISSUER), basicConstraintsExtension(true)] }),
      "X509_LEAF_IS_CA",
      /CA:TRUE/,
    ],
    [
      "no digitalSignature",
      await buildCertificate({
        ...VALIDITY,
        subject: {},
        issuer: ca.root.subject.raw,
        publicKey: signer.publicKey,
        extensions: [
          keyUsageExtension(["keyEncipherment"]),
          extKeyUsageExtension([OID.EKU_CODE_SIGNING]),
          subjectAltNameExtension(sans),
          ...issuers(ISSUER, ISSUER),
        ],
      }, ca.key),
      "X509_KEY_USAGE",
      /digitalSignature/,
    ],
    [
      "no codeSigning",
      await leaf({ extKeyUsage: ["1.3.6.1.5.5.7.3.1"] }),
      "X509_EXT_KEY_USAGE",
      /not for code signing/,
    ],
    [
      "issuer .1 and .8 disagree",
      await leaf({ extensions: issuers("https://a.hardening.test", ISSUER) }),
      "X509_ISSUER_MISMATCH",
      /two OIDC issuers/,
    ],
  ];
  const chainOptions = { roots: [ca.root], time: NOW, requireCodeSigning: true };
  assert.equal((await verifyCertificateChain(honest, chainOptions)).length, 2);
  const data = utf8("profile");
  const signature = await signer.sign(data);
  const policy: VerificationPolicy = {
    trustedRoot: trustedRootFor(ca.root),
    identities: [{ subject: SIGNER, issuerRegExp: ".*" }],
    tlogThreshold: 0,
    ctlogThreshold: 0,
  };
  const entity = (cert: Certificate): SignedEntity => ({
    content: { kind: "message", signature },
    material: { kind: "certificate", certificate: cert.raw, chain: [] },
    tlogEntries: [],
    timestamps: [],
  });
  const verified = await verifySignedEntity(entity(honest), { kind: "bytes", bytes: data }, policy);
  assert.equal(verified.certificate?.identity.issuer, ISSUER);
  for (const [name, cert, code, reason] of cases) {
    await assert.rejects(verifyCertificateChain(cert, chainOptions), typed(code, reason), name);
    // The pipeline: no authority verifies it, and the reason is named.
    await assert.rejects(
      verifySignedEntity(entity(cert), { kind: "bytes", bytes: data }, policy),
      typed("X509_NO_TRUSTED_CA", reason),
      name,
    );
  }
  // Two SubjectAltName extensions: refused when the certificate is parsed.
  const tbs = encodeTbsCertificate({
    ...VALIDITY,
    subject: {},
    issuer: ca.root.subject.raw,
    publicKey: signer.publicKey,
    extensions: [
      keyUsageExtension(["digitalSignature"]),
      extKeyUsageExtension([OID.EKU_CODE_SIGNING]),
      subjectAltNameExtension(sans),
      subjectAltNameExtension([{ type: "email", value: "other@hardening.test" }]),
    ],
  }, ca.key.publicKey);
  const { algorithm, hash } = signatureAlgorithmFor(ca.key.publicKey);
  const duplicate = derSequence(tbs, algorithm, derBitString(await ca.key.sign(tbs, { hash })));
  assert.throws(
    () => parseCertificate(duplicate),
    typed("X509_MALFORMED", /duplicate extension "2\.5\.29\.17"/),
  );
});

// ---------------------------------------------------------------------------------------------
// 7. Tags resolve to what the registry serves

Deno.test("class 7: a tag resolves to the bytes served: a lying HEAD cannot move verify or sign, an endless, short or truncated manifest body fails, schema 1 is refused; honest tags work", async () => {
  await using env = await openImageEnv("in-process");
  const signed = await signedLegacyImage(env, "hardening/tags", "signed");
  const other = await env.push("hardening/tags", { tag: "other" });
  const tagPath = (tag: string) => `/v2/hardening/tags/manifests/${tag}`;
  // HEAD of :other names the signed image; GET of :other serves the other one.
  const lyingHead = intercept(env.fetch, (request) => {
    if (request.method === "HEAD" && new URL(request.url).pathname === tagPath("other")) {
      return new Response(null, {
        headers: {
          "content-type": MEDIA_TYPE.OCI_MANIFEST,
          "content-length": "400",
          "docker-content-digest": signed.digest,
        },
      });
    }
  });
  const verify = await runWith(env, lyingHead, ["verify", ...VERIFY_IMAGE, other.reference]);
  assertRefused(verify, /No signatures found for ".*@sha256:/);
  assert.ok(verify.stderr.includes(other.digest), verify.stderr);
  assertPasses(await runWith(env, lyingHead, ["verify", ...VERIFY_IMAGE, signed.reference]));
  // sign through the same registry signs what :other serves, not what its HEAD named.
  const unsigned = await env.push("hardening/tags", { tag: "unsigned" });
  const headNamesUnsigned = intercept(env.fetch, (request) => {
    if (request.method === "HEAD" && new URL(request.url).pathname === tagPath("other")) {
      return new Response(null, {
        headers: {
          "content-type": MEDIA_TYPE.OCI_MANIFEST,
          "content-length": "400",
          "docker-content-digest": unsigned.digest,
        },
      });
    }
  });
  assertPasses(
    await runWith(env, headNamesUnsigned, [
      "sign",
      "--key",
      "cosign.key",
      "--tlog-upload=false",
      "--new-bundle-format=false",
      other.reference,
    ]),
  );
  assertPasses(await env.run(["verify", ...VERIFY_IMAGE, other.byDigest]));
  assert.equal((await env.run(["verify", ...VERIFY_IMAGE, unsigned.byDigest])).code, 10);

  // Bodies that never end, end before their Content-Length, or end early without one.
  const manifest = new Uint8Array(
    await (await env.fetch(
      `http://${env.registry}${tagPath("signed")}`,
      { headers: { accept: MEDIA_TYPE.OCI_MANIFEST } },
    )).arrayBuffer(),
  );
  assert.equal(sha256Digest(manifest), signed.digest);
  let pulled = 0;
  const bodies: [string, () => Response, RegExp][] = [
    [
      "endless",
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              pulled += 65536;
              controller.enqueue(new Uint8Array(65536).fill(0x20));
            },
          }),
          { headers: { "content-type": MEDIA_TYPE.OCI_MANIFEST } },
        ),
      /OCI_TOO_LARGE/,
    ],
    [
      "shorter than its Content-Length",
      () =>
        new Response(manifest.subarray(0, 50), {
          headers: {
            "content-type": MEDIA_TYPE.OCI_MANIFEST,
            "content-length": String(manifest.length),
          },
        }),
      /OCI_SIZE_MISMATCH/,
    ],
    [
      "truncated without a Content-Length",
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(manifest.subarray(0, 50));
              controller.close();
            },
          }),
          { headers: { "content-type": MEDIA_TYPE.OCI_MANIFEST } },
        ),
      /OCI_MANIFEST_INVALID/,
    ],
    [
      "broken off",
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(manifest.subarray(0, 50));
            },
            pull(controller) {
              // After the first 50 bytes, the connection goes away.
              if (controller.desiredSize !== null) {
                controller.error(new TypeError("connection reset"));
              }
            },
          }, { highWaterMark: 0 }),
          { headers: { "content-type": MEDIA_TYPE.OCI_MANIFEST } },
        ),
      /broke off after 50 bytes.*OCI_NETWORK_ERROR/,
    ],
    [
      "Docker schema 1",
      () =>
        new Response(
          JSON.stringify({ schemaVersion: 1, name: "hardening/tags", tag: "signed", fsLayers: [] }),
          {
            headers: {
              "content-type": "application/vnd.docker.distribution.manifest.v1+prettyjws",
            },
          },
        ),
      /schema 1 .*OCI_MANIFEST_UNSUPPORTED/,
    ],
  ];
  for (const [name, answer, reason] of bodies) {
    const hostile = intercept(env.fetch, (request) => {
      if (new URL(request.url).pathname === tagPath("signed")) {
        return request.method === "HEAD"
          ? new Response(null, {
            headers: {
              "content-type": MEDIA_TYPE.OCI_MANIFEST,
              "content-length": String(manifest.length),
              "docker-content-digest": signed.digest,
            },
          })
          : answer();
      }
    });
    const started = performance.now();
    for (
      const argv of [["tree", signed.reference], ["verify", ...VERIFY_IMAGE, signed.reference]]
    ) {
      const result = await runWith(env, hostile, argv);
      assertRefused(result, reason);
      assert.doesNotMatch(
        result.stdout,
        /e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855/,
      );
    }
    assert.ok(performance.now() - started < 20_000, `${name}: took too long`);
  }
  // Two runs (tree, verify), each stopping at the 4 MiB manifest cap plus what the stream buffered.
  assert.ok(pulled <= 2 * ((4 << 20) + 4 * 65536), `read ${pulled} bytes of endless bodies`);
  assertPasses(await env.run(["tree", signed.reference]));
});

// ---------------------------------------------------------------------------------------------
// 8. Every input is bounded

Deno.test("class 8: --bundle /dev/zero, a FIFO that never ends, endless standard input and a /dev/zero docker config fail bounded; a real bundle passes from a file and from standard input", async () => {
  await using env = await openImageEnv("in-process");
  const blob = await write(env, "app.txt", "bounded\n");
  assertPasses(
    await env.run([
      "sign-blob",
      "--key",
      "cosign.key",
      "--tlog-upload=false",
      "--bundle",
      "app.json",
      blob,
    ]),
  );
  const verify = ["verify-blob", ...VERIFY_KEY, "--bundle"];
  assertPasses(await env.run([...verify, "app.json", blob]));
  const limit = /larger than the limit of 33554432 bytes/;

  let started = performance.now();
  assertRefused(await env.run([...verify, "/dev/zero", blob]), limit);
  assert.ok(performance.now() - started < 15_000);

  // A FIFO fed without end by another task: the reader stops at the cap.
  const fifo = `${env.dir}/endless.fifo`;
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.ok(made.success, "mkfifo");
  let written = 0;
  const feeder = (async () => {
    const file = await Deno.open(fifo, { write: true });
    const chunk = new Uint8Array(1 << 16).fill(0x7b);
    try {
      for (;;) written += await file.write(chunk);
    } catch (error) {
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
    } finally {
      file.close();
    }
  })();
  started = performance.now();
  assertRefused(await env.run([...verify, "endless.fifo", blob]), limit);
  await feeder;
  assert.ok(performance.now() - started < 15_000);
  assert.ok(written <= (32 << 20) + (4 << 20), `the reader took ${written} bytes`);

  // Standard input of a real process, written without end.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO_ROOT}main.ts`, ...verify, "-", blob],
    cwd: env.dir,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let fed = 0;
  const writer = child.stdin.getWriter();
  const chunk = new Uint8Array(1 << 16).fill(0x20);
  try {
    for (;;) {
      await writer.write(chunk);
      fed += chunk.length;
    }
  } catch {
    // the process stopped reading (and closed the pipe)
  }
  const output = await child.output();
  const stderr = new TextDecoder().decode(output.stderr);
  assertRefused({ code: output.code, stdout: "", stderr }, limit);
  assert.ok(fed <= (32 << 20) + (4 << 20), `the process took ${fed} bytes of stdin`);
  // ... and a real bundle on standard input verifies.
  assertPasses(
    await dcosign([...verify, "-", blob], {
      cwd: env.dir,
      stdin: await Deno.readFile(`${env.dir}/app.json`),
    }),
  );

  // The docker config: /dev/zero where config.json should be, read when the registry asks
  // for credentials.
  await Deno.mkdir(`${env.dir}/docker`);
  await Deno.symlink("/dev/zero", `${env.dir}/docker/config.json`);
  const image = await env.push("hardening/config");
  const challenging = intercept(
    env.fetch,
    (request) =>
      request.headers.has("authorization") ? undefined : new Response(null, {
        status: 401,
        headers: { "www-authenticate": 'Basic realm="hardening"' },
      }),
  );
  started = performance.now();
  const configured = await dcosign(["verify", ...VERIFY_IMAGE, image.reference], {
    cwd: env.dir,
    fetch: challenging,
    env: { DOCKER_CONFIG: `${env.dir}/docker` },
  });
  assertRefused(configured, /larger than the limit of 4194304 bytes.*OCI_CREDENTIALS_INVALID/);
  assert.ok(performance.now() - started < 15_000);
});

// ---------------------------------------------------------------------------------------------
// 9. attach validates before anything is uploaded

Deno.test("class 9: attach signature and attestation refuse an unparseable certificate or chain, a signature that is not base64 and an envelope that is not DSSE before any upload; honest ones attach", async () => {
  await using env = await openImageEnv("in-process");
  const key = await envKey(env);
  const image = await env.push("hardening/attach");
  let uploads = 0;
  const counting = intercept(env.fetch, (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") uploads++;
    return undefined;
  });
  const payload = encodeSimpleSigningPayload({
    dockerReference: `${env.registry}/hardening/attach`,
    digest: image.digest,
  });
  await write(env, "payload.json", payload);
  await write(env, "good.sig", toBase64(await key.sign(payload)));
  await write(env, "bad.sig", "this is not base64!\n");
  const ca = await testCa();
  const leaf = await createLeafCertificate(ca.key, ca.root, {
    ...VALIDITY,
    publicKey: key.publicKey,
    sans: [{ type: "email", value: SIGNER }],
  });
  await write(env, "leaf.pem", encodePem("CERTIFICATE", leaf.raw));
  await write(env, "root.pem", encodePem("CERTIFICATE", ca.root.raw));
  await write(env, "garbage.pem", encodePem("CERTIFICATE", utf8("garbage, not DER")));
  await write(env, "empty.pem", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
  await write(env, "nopem.pem", "just some text\n");
  const attach = ["attach", "signature", "--payload", "payload.json"];
  const refused: [string[], RegExp][] = [
    [["--signature", "bad.sig"], /signature: expected base64/],
    [["--signature", "good.sig", "--certificate", "garbage.pem"], /certificate: PEM block 1/],
    [["--signature", "good.sig", "--certificate", "empty.pem"], /certificate/],
    [["--signature", "good.sig", "--certificate", "nopem.pem"], /expected PEM CERTIFICATE/],
    [
      [
        "--signature",
        "good.sig",
        "--certificate",
        "leaf.pem",
        "--certificate-chain",
        "garbage.pem",
      ],
      /certificate chain: PEM block 1/,
    ],
  ];
  for (const [flags, reason] of refused) {
    assertRefused(
      await runWith(env, counting, [...attach, ...flags, image.reference]),
      new RegExp(`OCI_ATTACHMENT_INVALID|${reason.source}`),
    );
    assert.equal(uploads, 0, `${flags.join(" ")} uploaded something`);
  }

  // Attestations: not DSSE at all, and JSON lines with one good envelope and one that is not.
  const statement = buildStatement({
    subjects: [{ name: "app", digest: { sha256: image.digest.slice(7) } }],
    predicateType: "https://hardening.test/predicate/v1",
    version: "v1",
  });
  const envelope = serializeEnvelope({
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: statement,
    signatures: [{ sig: await key.sign(pae(IN_TOTO_PAYLOAD_TYPE, statement)) }],
  });
  await write(env, "notdsse.json", JSON.stringify({ predicateType: "x", subject: [] }));
  await write(env, "lines.jsonl", `${envelope}\n{"payload":"e30=","signatures":[]}\n`);
  await write(env, "garbage.jsonl", "{{{ not json\n");
  for (const file of ["notdsse.json", "lines.jsonl", "garbage.jsonl"]) {
    assertRefused(
      await runWith(env, counting, [
        "attach",
        "attestation",
        "--attestation",
        file,
        image.reference,
      ]),
      /OCI_ATTACHMENT_INVALID|PAYLOAD_MALFORMED/,
    );
    assert.equal(uploads, 0, `${file} uploaded something`);
  }

  // The honest ones attach, and what they attached verifies.
  assertPasses(
    await runWith(env, counting, [
      ...attach,
      "--signature",
      "good.sig",
      "--certificate",
      "leaf.pem",
      "--certificate-chain",
      "root.pem",
      image.reference,
    ]),
  );
  assert.ok(uploads > 0);
  await write(env, "envelope.json", envelope);
  assertPasses(
    await runWith(env, counting, [
      "attach",
      "attestation",
      "--attestation",
      "envelope.json",
      image.reference,
    ]),
  );
  assertPasses(await env.run(["verify", ...VERIFY_IMAGE, image.reference]));
  assertPasses(
    await env.run([
      "verify-attestation",
      ...VERIFY_IMAGE,
      "--type",
      "https://hardening.test/predicate/v1",
      image.reference,
    ]),
  );
});
