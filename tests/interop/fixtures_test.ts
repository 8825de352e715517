/**
 * Every bundle and DSSE envelope that `../shared/interop/fixtures/FIXTURES.md` lists verifies,
 * or fails, exactly as it says: one table row per outcome, each through lib/verify/blob.ts and
 * so through the one pipeline. A failing row names the error code it must fail with, so a row
 * cannot pass by failing for another reason. Digest-mode rows give the artifact digest FIXTURES.md
 * (or the fixture's own statement, where FIXTURES.md abbreviates it) names.
 */

import assert from "node:assert/strict";
import { type ErrorCode, isCosignError } from "../../lib/errors.ts";
import { PublicKey } from "../../lib/keys/public_key.ts";
import { parseTrustedRoot, type TrustedRoot } from "../../lib/trust/trusted_root.ts";
import type { VerificationPolicy } from "../../lib/verify/entity.ts";
import {
  type BlobInput,
  parseDigestReference,
  verifyBlob,
  verifyBlobAttestation,
} from "../../lib/verify/blob.ts";
import {
  INTEROP,
  interopPath,
  readInteropBytes,
  readInteropText,
  requireComponents,
} from "../_support.ts";

const PROD = "conformance/extra/production-trusted_root.json";
const GO = "fixtures/sigstore-go";
const GO_DATA = `${GO}/pkg/testing/data`;
const JS_CLIENT = "fixtures/sigstore-js/client-valid";
const JS_INVALID = "fixtures/sigstore-js/client-invalid";
const JS_VERIFY = "fixtures/sigstore-js/verify";
const COSIGN_ATT = "fixtures/cosign/verify-blob-attestation";

const GITHUB_OAUTH = "https://github.com/login/oauth";
const GITHUB_ACTIONS = "https://token.actions.githubusercontent.com";
const BRIAN = { subject: "brian@dehamer.com", issuer: GITHUB_OAUTH };
const SIGSTORE_JS_RELEASE = {
  subject: "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
  issuer: GITHUB_ACTIONS,
};

/** Subject digests: FIXTURES.md names them (abbreviated ones completed from the statements). */
const DIGEST = {
  npm130:
    "sha512:76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751",
  npm200:
    "sha512:46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c",
  slsa007:
    "sha512:bbfd372fc9beeb777fe35d05bb10c0c70a9733d366a75fed7dd18866c7391de3ee7e88ba74dd47abf3e15c845e547fcf0e5c3da80854c751554224d3a6d4e55f",
  emptyImage: "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4",
  kubewarden: "sha256:c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172",
  othername: "sha256:bc103b4a84971ef6459b294a2b98568a2bfb72cded09d4acd1e16366a401f95b",
  legacy2022: "sha256:4bc453b53cb3d914b45f4b250294236adba2c0e09ff6f03793949e7e39fd4cc1",
  somePayload: "sha256:658781cd4ed9bca60dacd09f7bb914bb51502e8b5d619f57f39a1d652596cc24",
  other: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
} as const;

/** One row: a signature, a blob, a policy, and the outcome. */
interface Row {
  readonly name: string;
  /** `--bundle` file (corpus path). */
  readonly bundle?: string;
  /** `--signature` file: a detached DSSE envelope (corpus path). */
  readonly envelope?: string;
  /** verify-blob-attestation (with `type` and `checkClaims`) instead of verify-blob. */
  readonly attestation?: { readonly type?: string; readonly checkClaims?: boolean };
  /** The blob: a corpus file, or a digest reference. */
  readonly blob?: { readonly file: string } | { readonly digest: string };
  /** Trusted root (corpus path); none for key-only rows with the log ignored. */
  readonly root?: string;
  readonly key?: string;
  readonly identity?: { readonly subject: string; readonly issuer: string };
  readonly policy?: Pick<
    VerificationPolicy,
    "tlogThreshold" | "timestampThreshold" | "ctlogThreshold"
  >;
  readonly maxBlobBytes?: number;
  /** "ok", or the error code the row must fail with. */
  readonly expect: "ok" | ErrorCode;
  /** For a failure: what its message must say, where the code alone is not specific. */
  readonly reason?: RegExp;
}

const ROWS: readonly Row[] = [
  // cosign/testdata: a cosign v3 new-bundle-format OCI attestation
  ...[`fixtures/cosign/testdata/trusted_root_pgi.json`, PROD].map((root): Row => ({
    name: `cosign oci-attestation verifies as a custom attestation of the empty image (${root})`,
    bundle: "fixtures/cosign/testdata/oci-attestation.sigstore.json",
    attestation: { type: "custom" },
    blob: { digest: DIGEST.emptyImage },
    root,
    identity: { subject: "cody@soyland.com", issuer: GITHUB_OAUTH },
    expect: "ok",
  })),
  {
    name: "cosign oci-attestation fails for another image digest",
    bundle: "fixtures/cosign/testdata/oci-attestation.sigstore.json",
    attestation: { type: "custom" },
    blob: { digest: DIGEST.other },
    root: PROD,
    identity: { subject: "cody@soyland.com", issuer: GITHUB_OAUTH },
    expect: "VERIFY_SUBJECT_MISMATCH",
  },
  // cosign/verify-blob-attestation: key-signed envelopes, --insecure-ignore-tlog, claims checked
  ...([
    ["blobSLSAProvenanceSignature", "blobContents.txt", "slsaprovenance", "ok"],
    ["blobSLSAProvenanceSignature", "blobContents.txt", "custom", "VERIFY_PREDICATE_TYPE_MISMATCH"],
    [
      "blobSLSAProvenanceSignature",
      "anotherBlobContents.txt",
      undefined,
      "VERIFY_SUBJECT_MISMATCH",
    ],
    ["blobSLSAProvenanceSignature", DIGEST.somePayload, "slsaprovenance", "ok"],
    ["dssePredicateEmptySubject", "blobContents.txt", "slsaprovenance", "VERIFY_SUBJECT_MISMATCH"],
    ["dssePredicateMissingSha256", "blobContents.txt", "slsaprovenance", "VERIFY_SUBJECT_MISMATCH"],
    ["dssePredicateMultipleSubjects", "blobContents.txt", "slsaprovenance", "ok"],
    [
      "dssePredicateMultipleSubjects",
      "blobContents.txt",
      "notreallyslsaprovenance",
      "PAYLOAD_UNKNOWN_TYPE",
    ],
    [
      "dssePredicateMultipleSubjectsInvalid",
      "blobContents.txt",
      "slsaprovenance",
      "VERIFY_SUBJECT_MISMATCH",
    ],
  ] as const).map(([envelope, blob, type, expect]): Row => ({
    name: `cosign ${envelope} over ${blob} with --type ${type ?? "(default)"}: ${expect}`,
    envelope: `${COSIGN_ATT}/${envelope}.dsse.json`,
    attestation: type === undefined ? {} : { type },
    blob: blob.startsWith("sha256:") ? { digest: blob } : { file: `${COSIGN_ATT}/${blob}` },
    key: `${COSIGN_ATT}/cosign.pub`,
    policy: { tlogThreshold: 0 },
    expect,
  })),
  {
    name:
      "cosign blobSLSAProvenanceSignature over a blob larger than COSIGN_MAX_ATTACHMENT_SIZE=128",
    envelope: `${COSIGN_ATT}/blobSLSAProvenanceSignature.dsse.json`,
    attestation: {},
    blob: { file: `${COSIGN_ATT}/hugeBlobContents.txt` },
    key: `${COSIGN_ATT}/cosign.pub`,
    policy: { tlogThreshold: 0 },
    maxBlobBytes: 128,
    expect: "PAYLOAD_TOO_LARGE",
  },
  {
    name: "cosign blobSLSAProvenanceSignature with --check-claims=false ignores the blob",
    envelope: `${COSIGN_ATT}/blobSLSAProvenanceSignature.dsse.json`,
    attestation: { type: "slsaprovenance", checkClaims: false },
    blob: { file: `${COSIGN_ATT}/anotherBlobContents.txt` },
    key: `${COSIGN_ATT}/cosign.pub`,
    policy: { tlogThreshold: 0 },
    expect: "ok",
  },
  // sigstore-go: real npm provenance and publish attestations, test bundles
  ...[`${GO}/examples/trusted-root-public-good.json`, PROD].map((root): Row => ({
    name: `sigstore-go bundle-provenance verifies for sigstore@1.3.0 (${root})`,
    bundle: `${GO}/examples/bundle-provenance.json`,
    attestation: { type: "slsaprovenance" },
    blob: { digest: DIGEST.npm130 },
    root,
    identity: SIGSTORE_JS_RELEASE,
    expect: "ok",
  })),
  {
    name: "sigstore-go bundle-publish verifies with npm's publish key",
    bundle: `${GO}/examples/bundle-publish.json`,
    blob: { digest: DIGEST.npm130 },
    root: PROD,
    key: `${GO}/examples/publish_key.pub`,
    expect: "ok",
  },
  {
    name: "sigstore-go bundle-publish fails with another key",
    bundle: `${GO}/examples/bundle-publish.json`,
    blob: { digest: DIGEST.npm130 },
    root: PROD,
    key: `${COSIGN_ATT}/cosign.pub`,
    expect: "VERIFY_SIGNATURE_INVALID",
  },
  {
    name: "sigstore-go sigstore.js@2.0.0 provenance verifies with a tlog threshold of 1",
    bundle: `${GO_DATA}/bundles/sigstore.js@2.0.0-provenance.sigstore.json`,
    blob: { digest: DIGEST.npm200 },
    root: `${GO_DATA}/trusted-roots/public-good.json`,
    identity: SIGSTORE_JS_RELEASE,
    expect: "ok",
  },
  {
    name: "sigstore-go sigstore.js@2.0.0 provenance fails when a TSA timestamp is required",
    bundle: `${GO_DATA}/bundles/sigstore.js@2.0.0-provenance.sigstore.json`,
    blob: { digest: DIGEST.npm200 },
    root: `${GO_DATA}/trusted-roots/public-good.json`,
    identity: SIGSTORE_JS_RELEASE,
    policy: { timestampThreshold: 1 },
    expect: "VERIFY_TIMESTAMP_THRESHOLD",
  },
  {
    name: "sigstore-go sigstore.js@2.0.0 provenance fails with a tlog threshold of 2",
    bundle: `${GO_DATA}/bundles/sigstore.js@2.0.0-provenance.sigstore.json`,
    blob: { digest: DIGEST.npm200 },
    root: `${GO_DATA}/trusted-roots/public-good.json`,
    identity: SIGSTORE_JS_RELEASE,
    policy: { tlogThreshold: 2 },
    expect: "VERIFY_TLOG_THRESHOLD",
  },
  {
    name: "sigstore-go dsse.sigstore.json verifies",
    bundle: `${GO_DATA}/bundles/dsse.sigstore.json`,
    attestation: { type: "slsaprovenance" },
    blob: { digest: DIGEST.slsa007 },
    root: `${GO_DATA}/trusted-roots/public-good.json`,
    identity: BRIAN,
    expect: "ok",
  },
  {
    name: "sigstore-go dsse-2sigs.sigstore.json fails: exactly one signature",
    bundle: `${GO_DATA}/bundles/dsse-2sigs.sigstore.json`,
    blob: { digest: DIGEST.slsa007 },
    root: `${GO_DATA}/trusted-roots/public-good.json`,
    identity: BRIAN,
    expect: "BUNDLE_MALFORMED",
  },
  {
    name: "sigstore-go othername.sigstore.json verifies with the otherName SAN foo!oidc.local",
    bundle: `${GO_DATA}/bundles/othername.sigstore.json`,
    blob: { digest: DIGEST.othername },
    root: `${GO_DATA}/trusted-roots/scaffolding.json`,
    identity: { subject: "foo!oidc.local", issuer: "http://oidc.local:8080" },
    expect: "ok",
  },
  {
    name: "sigstore-go othername.sigstore.json fails for foo@oidc.local",
    bundle: `${GO_DATA}/bundles/othername.sigstore.json`,
    blob: { digest: DIGEST.othername },
    root: `${GO_DATA}/trusted-roots/scaffolding.json`,
    identity: { subject: "foo@oidc.local", issuer: "http://oidc.local:8080" },
    expect: "VERIFY_IDENTITY_MISMATCH",
  },
  {
    name: "sigstore-go public-key-validity verifies with its RFC 3161 timestamp and no log",
    bundle: `${GO_DATA}/bundles/public-key-validity.sigstore.json`,
    blob: { file: "" }, // replaced by the 12 bytes "test content" below
    root: `${GO_DATA}/trusted-roots/public-key-validity.json`,
    key: `${GO_DATA}/public-keys/public-key-validity.pem`,
    policy: { tlogThreshold: 0, timestampThreshold: 1 },
    expect: "ok",
  },
  {
    name: "sigstore-go public-key-validity fails when the log is required",
    bundle: `${GO_DATA}/bundles/public-key-validity.sigstore.json`,
    blob: { file: "" },
    root: `${GO_DATA}/trusted-roots/public-key-validity.json`,
    key: `${GO_DATA}/public-keys/public-key-validity.pem`,
    expect: "VERIFY_TLOG_MISSING",
  },
  // sigstore-js client fixtures (2022-era production entries), artifact "hello, world!"
  ...[`${JS_CLIENT}/trusted_root.json`, PROD].flatMap((root): Row[] =>
    [
      "v1.messageSignature.withSigningCert",
      "v1.dsse.withSigningCert",
      "v2.messageSignature.withSigningCert",
      "v3.messageSignature.withSigningCert",
      "v3.dsse.withSigningCert",
    ].map((name) => ({
      name: `sigstore-js client-valid ${name} verifies (${root})`,
      bundle: `${JS_CLIENT}/${name}.sigstore.json`,
      blob: { file: `${JS_CLIENT}/artifact.txt` },
      root,
      identity: BRIAN,
      expect: "ok",
    }))
  ),
  {
    name: "sigstore-js client-valid v1.dsse.withPublicKey verifies with key-1",
    bundle: `${JS_CLIENT}/v1.dsse.withPublicKey.sigstore.json`,
    blob: { file: `${JS_CLIENT}/artifact.txt` },
    root: `${JS_CLIENT}/trusted_root.json`,
    key: `${JS_CLIENT}/publickey-key-1.pem`,
    expect: "ok",
  },
  {
    name: "sigstore-js client-valid v1.messageSignature fails for another artifact",
    bundle: `${JS_CLIENT}/v1.messageSignature.withSigningCert.sigstore.json`,
    blob: { file: `${COSIGN_ATT}/blobContents.txt` },
    root: `${JS_CLIENT}/trusted_root.json`,
    identity: BRIAN,
    expect: "VERIFY_MESSAGE_DIGEST_MISMATCH",
  },
  {
    name: "sigstore-js client-valid v1.dsse.withSigningCert fails for another artifact",
    bundle: `${JS_CLIENT}/v1.dsse.withSigningCert.sigstore.json`,
    blob: { file: `${COSIGN_ATT}/blobContents.txt` },
    root: `${JS_CLIENT}/trusted_root.json`,
    identity: BRIAN,
    expect: "VERIFY_SUBJECT_MISMATCH",
  },
  {
    name: "sigstore-js client-invalid invalidExpiredCert fails: logged outside the certificate",
    bundle: `${JS_INVALID}/v1.messageSignature.invalidExpiredCert.sigstore.json`,
    blob: { file: `${JS_CLIENT}/artifact.txt` },
    root: `${JS_CLIENT}/trusted_root.json`,
    identity: BRIAN,
    expect: "X509_NO_TRUSTED_CA",
    reason: /is not valid at "2022-10-30T19:11:51\.000Z"/,
  },
  {
    name: "sigstore-js client-invalid invalidBadSignature fails: the log describes another payload",
    bundle: `${JS_INVALID}/v1.dsse.invalidBadSignature.sigstore.json`,
    blob: { file: `${JS_CLIENT}/artifact.txt` },
    root: `${JS_CLIENT}/trusted_root.json`,
    identity: BRIAN,
    expect: "VERIFY_SIGNATURE_INVALID",
  },
  // sigstore-js verify fixtures: a mock TSA in verify/trusted_root.json, and real Rekor v2
  ...[
    "V1.MESSAGE_SIGNATURE.WITH_SIGNING_CERT",
    "V1.DSSE.WITH_SIGNING_CERT.TLOG_INTOTO",
    "V1.DSSE.WITH_SIGNING_CERT.TLOG_DSSE",
    "V3.MESSAGE_SIGNATURE.TLOG_HASHEDREKORDV002",
    "V3.DSSE.WITH_SIGNING_CERT.TLOG_DSSEV002",
  ].map((name): Row => ({
    name: `sigstore-js verify ${name} verifies`,
    bundle: `${JS_VERIFY}/${name}.sigstore.json`,
    blob: { file: `${JS_VERIFY}/artifact.txt` },
    root: `${JS_VERIFY}/trusted_root.json`,
    identity: BRIAN,
    expect: "ok",
  })),
  {
    name: "sigstore-js verify V1.MESSAGE_SIGNATURE.WITH_PUBLIC_KEY verifies with its key",
    bundle: `${JS_VERIFY}/V1.MESSAGE_SIGNATURE.WITH_PUBLIC_KEY.sigstore.json`,
    blob: { file: `${JS_VERIFY}/artifact.txt` },
    root: `${JS_VERIFY}/trusted_root.json`,
    key: `${JS_VERIFY}/public_key.pem`,
    expect: "ok",
  },
  {
    name:
      "sigstore-js verify V1.MESSAGE_SIGNATURE.WITH_SIGNING_CERT fails against PROD: unknown TSA",
    bundle: `${JS_VERIFY}/V1.MESSAGE_SIGNATURE.WITH_SIGNING_CERT.sigstore.json`,
    blob: { file: `${JS_VERIFY}/artifact.txt` },
    root: PROD,
    identity: BRIAN,
    expect: "TSA_OUTSIDE_VALIDITY",
    reason: /timestamp\.sigstore\.dev.* is not valid at genTime/,
  },
  ...[
    "V3.MESSAGE_SIGNATURE.TLOG_HASHEDREKORDV002",
    "V3.DSSE.WITH_SIGNING_CERT.TLOG_DSSEV002",
  ].map((name): Row => ({
    name: `sigstore-js verify ${name} verifies against PROD (production Rekor v2 and TSA)`,
    bundle: `${JS_VERIFY}/${name}.sigstore.json`,
    blob: { file: `${JS_VERIFY}/artifact.txt` },
    root: PROD,
    identity: BRIAN,
    expect: "ok",
  })),
  {
    name:
      "sigstore-js verify V3.MESSAGE_SIGNATURE.WITH_SIGNING_CERT verifies with tlog threshold 0",
    bundle: `${JS_VERIFY}/V3.MESSAGE_SIGNATURE.WITH_SIGNING_CERT.sigstore.json`,
    blob: { file: `${JS_VERIFY}/artifact.txt` },
    root: `${JS_VERIFY}/trusted_root.json`,
    identity: BRIAN,
    policy: { tlogThreshold: 0 },
    expect: "ok",
  },
  {
    name:
      "sigstore-js verify V3.MESSAGE_SIGNATURE.WITH_SIGNING_CERT fails with the default tlog threshold",
    bundle: `${JS_VERIFY}/V3.MESSAGE_SIGNATURE.WITH_SIGNING_CERT.sigstore.json`,
    blob: { file: `${JS_VERIFY}/artifact.txt` },
    root: `${JS_VERIFY}/trusted_root.json`,
    identity: BRIAN,
    expect: "VERIFY_TLOG_MISSING",
  },
  // sigstore-rs: a cosign v3 image signature bundle, and a legacy sign-blob --bundle file
  {
    name: "sigstore-rs bundle_v03 (cosign v3 image signature) verifies for the image digest",
    bundle: "fixtures/sigstore-rs/bundle_v03.json",
    blob: { digest: DIGEST.kubewarden },
    root: PROD,
    identity: {
      subject:
        "https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0",
      issuer: GITHUB_ACTIONS,
    },
    expect: "ok",
  },
  {
    name: "sigstore-rs legacy-blob-bundle-2022 verifies in digest mode",
    bundle: "fixtures/sigstore-rs/legacy-blob-bundle-2022/artifact.bundle",
    blob: { digest: DIGEST.legacy2022 },
    root: PROD,
    identity: { subject: "daniel.bevenius@gmail.com", issuer: GITHUB_OAUTH },
    expect: "ok",
  },
  {
    name: "sigstore-rs legacy-blob-bundle-2022 fails for another digest",
    bundle: "fixtures/sigstore-rs/legacy-blob-bundle-2022/artifact.bundle",
    blob: { digest: DIGEST.other },
    root: PROD,
    identity: { subject: "daniel.bevenius@gmail.com", issuer: GITHUB_OAUTH },
    expect: "VERIFY_SIGNATURE_INVALID",
  },
  {
    name: "sigstore-rs legacy-blob-bundle-2022 fails for another identity",
    bundle: "fixtures/sigstore-rs/legacy-blob-bundle-2022/artifact.bundle",
    blob: { digest: DIGEST.legacy2022 },
    root: PROD,
    identity: { subject: "someone@example.com", issuer: GITHUB_OAUTH },
    expect: "VERIFY_IDENTITY_MISMATCH",
  },
];

const roots = new Map<string, TrustedRoot>();
function rootAt(path: string): TrustedRoot {
  let root = roots.get(path);
  if (!root) {
    root = parseTrustedRoot(readInteropBytes(path));
    roots.set(path, root);
  }
  return root;
}

function blobOf(row: Row): BlobInput | undefined {
  if (!row.blob) return undefined;
  if ("digest" in row.blob) {
    const digest = parseDigestReference(row.blob.digest);
    assert.ok(digest, row.blob.digest);
    return { kind: "digest", ...digest };
  }
  // sigstore-go's public-key-validity test signs the 12 bytes "test content"
  if (row.blob.file === "") {
    return { kind: "bytes", bytes: new TextEncoder().encode("test content") };
  }
  return { kind: "file", path: interopPath(row.blob.file) };
}

async function run(row: Row): Promise<unknown> {
  const policy: VerificationPolicy = {
    ...(row.root ? { trustedRoot: rootAt(row.root) } : {}),
    ...(row.key ? { key: PublicKey.fromPem(readInteropText(row.key)) } : {}),
    ...(row.identity ? { identities: [row.identity] } : {}),
    ...row.policy,
  };
  const input = {
    ...(row.bundle ? { bundle: readInteropBytes(row.bundle) } : {}),
    ...(row.envelope ? { signature: readInteropBytes(row.envelope) } : {}),
  };
  const options = row.maxBlobBytes === undefined ? {} : { maxBlobBytes: row.maxBlobBytes };
  const blob = blobOf(row);
  if (row.attestation) {
    return await verifyBlobAttestation(input, blob, policy, { ...options, ...row.attestation });
  }
  assert.ok(blob, row.name);
  return await verifyBlob(input, blob, policy, options);
}

if (requireComponents("interop fixtures through verify-blob", INTEROP)) {
  for (const row of ROWS) {
    Deno.test(`fixtures: ${row.name}`, async () => {
      if (row.expect === "ok") {
        await run(row);
        return;
      }
      await assert.rejects(
        () => run(row),
        (error) => {
          assert.ok(isCosignError(error), `${row.name}: not a CosignError: ${error}`);
          assert.equal(error.code, row.expect, `${row.name}: ${error.message}`);
          if (row.reason) assert.match(error.message, row.reason);
          return true;
        },
      );
    });
  }

  Deno.test("fixtures: every bundle and DSSE envelope of the corpus has a row", () => {
    const found = walk("fixtures").filter((path) =>
      /\.sigstore\.json$|\.dsse\.json$|\.bundle$|\/bundle[-_][\w.-]*\.json$/.test(path) &&
      // Rekor bundle annotations of image signatures: tests/interop/legacy_image_signatures_test.ts
      !path.endsWith("/bundle-annotation.json")
    );
    assert.ok(found.length >= 30, `only ${found.length} bundles found`);
    const covered = new Set(ROWS.flatMap((row) => [row.bundle, row.envelope]));
    for (const path of found) assert.ok(covered.has(path), `no row verifies "${path}"`);
  });
}

/** Corpus paths of every file under `dir` (corpus-relative). */
function walk(dir: string): string[] {
  return [...Deno.readDirSync(interopPath(dir))].flatMap((entry) =>
    entry.isDirectory ? walk(`${dir}/${entry.name}`) : [`${dir}/${entry.name}`]
  );
}
