/**
 * Transparency-log entries made by other implementations (the sigstore-conformance corpus and
 * the fixtures of sigstore-js, sigstore-go, cosign and sigstore-rs) verified by
 * `verifyTlogEntry` against their trusted roots; tampered copies must fail.
 */

import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { type Bytes, fromBase64, fromHex, sha256, utf8 } from "../../lib/util/bytes.ts";
import { BUNDLE_V03_MEDIA_TYPE } from "../../lib/bundle/model.ts";
import { publicKeyHint, serializeBundle } from "../../lib/bundle/serialize.ts";
import { generateKeyPair } from "../../lib/keys/private_key.ts";
import { decodePem } from "../../lib/util/pem.ts";
import { isCosignError } from "../../lib/errors.ts";
import { hashLeaf } from "../../lib/tlog/merkle.ts";
import { decodeLogEntries, logEntryToTlogEntry } from "../../lib/tlog/rekor/client.ts";
import { buildHashedRekordEntry, type ExpectedContent } from "../../lib/tlog/rekor/entries.ts";
import { parseEntryBody } from "../../lib/tlog/rekor/bodies.ts";
import type { TlogEntry } from "../../lib/tlog/entry.ts";
import { verifyTlogEntry } from "../../lib/tlog/verify.ts";
import {
  encodeTrustedRoot,
  parseTrustedRoot,
  type TrustedRoot,
} from "../../lib/trust/trusted_root.ts";
import { TransparencyLog } from "../../server/rekor/transparency_log.ts";
import {
  executable,
  exists,
  INTEROP,
  interopPath,
  readInteropBytes,
  readInteropText,
  requireComponents,
  type Requirement,
  tempDir,
} from "../_support.ts";
import { type BundleFixture, caseArtifact, CASES, loadBundleFixture } from "./_tlog_fixtures.ts";

/**
 * Outcome at the transparency-log layer of every conformance case: `ok`, the error code the
 * tlog layer must raise, or `other layer` for cases that fail elsewhere (bundle parsing, the
 * certificate chain, SCTs, timestamps, identity) and whose log entries are themselves sound.
 */
const CONFORMANCE: Record<string, string> = {
  "bundle-empty-certificate-chain_fail": "REKOR_BODY_MALFORMED",
  "bundle-from-wrong-instance_fail": "REKOR_UNKNOWN_LOG",
  "bundle-invalid-base64-signature_fail": "other layer: the bundle signature is not base64",
  "bundle-malformed-json_fail": "other layer: the bundle is not JSON",
  "bundle-negative-log-index_fail": "REKOR_ENTRY_MALFORMED",
  "bundle-unknown-version_fail": "REKOR_BODY_MALFORMED",
  "bundle-with-root-cert_fail": "REKOR_CHECKPOINT_MALFORMED",
  "bundle-with-sct-with-extensions": "ok",
  "checkpoint-bad-keyhint_fail": "REKOR_CHECKPOINT_INVALID",
  "checkpoint-wrong-roothash_fail": "REKOR_PROOF_INVALID",
  "dsse-invalid-sig_fail": "REKOR_BODY_MISMATCH",
  "dsse-mismatch-envelope_fail": "REKOR_BODY_MISMATCH",
  "dsse-mismatch-sig_fail": "REKOR_BODY_MISMATCH",
  "happy-path-intoto-in-dsse-v3": "ok",
  "happy-path-v0.1": "ok",
  "happy-path-v0.2": "ok",
  "happy-path-v0.3": "ok",
  "happy-path-v0.3-new-mediaType": "ok",
  "inclusion-proof-corrupted-hash_fail": "REKOR_PROOF_INVALID",
  "incorrect-public-key_fail": "REKOR_SET_INVALID",
  "integrated-time-in-future_fail": "other layer: integrated time outside the certificate",
  "intoto-expired-certificate_fail": "other layer: certificate outside the CA window",
  // The mock logged a single-base64 signature, which intoto 0.0.2 bodies never hold.
  "intoto-log-entry-mismatch_fail": "REKOR_BODY_MALFORMED",
  "intoto-missing-inclusion-proof_fail": "REKOR_PROOF_MISSING",
  "intoto-set-outside-signing-cert-validity_fail": "other layer: SET time outside the certificate",
  "intoto-tsa-timestamp-outside-cert-validity_fail":
    "other layer: TSA time outside the certificate",
  "intoto-with-custom-trust-root": "ok",
  "invalid-checkpoint-signature_fail": "REKOR_CHECKPOINT_INVALID",
  "invalid-ct-key_fail": "other layer: SCT",
  "invalid-inclusion-proof_fail": "REKOR_CHECKPOINT_MALFORMED",
  "managed-key-and-trusted-root": "ok",
  "managed-key-happy-path": "ok",
  "managed-key-no-key_fail": "other layer: no key given",
  "managed-key-wrong-key_fail": "REKOR_BODY_MISMATCH",
  "message-digest-mismatch_fail": "other layer: the bundle's messageDigest hint",
  "rekor2-checkpoint-cosigned": "ok",
  "rekor2-checkpoint-missing-log-signature_fail": "REKOR_CHECKPOINT_MALFORMED",
  "rekor2-checkpoint-missing-origin_fail": "REKOR_CHECKPOINT_MALFORMED",
  "rekor2-checkpoint-missing-root-hash_fail": "REKOR_CHECKPOINT_MALFORMED",
  "rekor2-checkpoint-missing-size_fail": "REKOR_CHECKPOINT_MALFORMED",
  "rekor2-checkpoint-multiple-cosigs": "ok",
  "rekor2-checkpoint-no-matching-signature_fail": "REKOR_CHECKPOINT_INVALID",
  "rekor2-checkpoint-origin-not-first": "ok",
  "rekor2-checkpoint-two-sigs-cosigned": "ok",
  "rekor2-checkpoint-two-sigs-from-origin": "ok",
  "rekor2-dsse-happy-path": "ok",
  "rekor2-dsse-invalid-sig_fail": "REKOR_BODY_MISMATCH",
  "rekor2-dsse-mismatch-envelope_fail": "REKOR_BODY_MISMATCH",
  "rekor2-dsse-mismatch-sig_fail": "REKOR_BODY_MISMATCH",
  "rekor2-happy-path": "ok",
  "rekor2-no-inclusion-proof_fail": "REKOR_PROOF_MISSING",
  "rekor2-no-timestamp_fail": "other layer: no RFC 3161 timestamp",
  "rekor2-timestamp-outside-trust-root-tsa-validity_fail": "other layer: TSA",
  "rekor2-timestamp-outside-tsa-cert-validity_fail": "other layer: TSA",
  "rekor2-timestamp-payload-mismatch_fail": "other layer: TSA",
  "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail": "other layer: TSA",
  "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail": "other layer: TSA",
  "rekor2-timestamp-with-embedded-cert": "ok",
  "rekor2-timestamp-with-expired-cert-chain": "ok",
  "rekor2-timestamp-with-incorrect-time_fail": "other layer: TSA time outside the certificate",
  "rekor2-timestamp-without-embedded-cert": "ok",
  "set-invalid-signature_fail": "REKOR_SET_INVALID",
  "signature-mismatch_fail": "REKOR_BODY_MISMATCH",
  "trust-root-tlog-missing-validity-start_fail": "REKOR_UNKNOWN_LOG",
  "trust-root-tlog-validity-end-inclusive": "ok",
  "trust-root-tsa-validity-end-inclusive": "ok",
  "wrong-hashedrekord-artifact_fail": "REKOR_BODY_MISMATCH",
  "wrong-hashedrekord-cert-and-sig_fail": "REKOR_BODY_MISMATCH",
  "wrong-hashedrekord-entry_fail": "REKOR_BODY_MISMATCH",
  "wrong-material_fail": "REKOR_BODY_MISMATCH",
};

function expectedOf(fixture: BundleFixture, artifactDigest?: Uint8Array): ExpectedContent {
  return {
    signature: fixture.signature,
    publicKeyOrCertificateDer: fixture.verifierDer!,
    ...(fixture.envelope
      ? { dsseEnvelope: fixture.envelope }
      : { artifactDigest: { algorithm: "sha256", digest: artifactDigest! } }),
  };
}

function flipBit(bytes: Uint8Array, at = 0): Bytes {
  const copy = Uint8Array.from(bytes) as Bytes;
  copy[at % copy.length]! ^= 0x01;
  return copy;
}

/** Copies of an entry with one thing changed, each of which must fail. */
function tamperedCopies(entry: TlogEntry): [string, TlogEntry][] {
  const copies: [string, TlogEntry][] = [
    ["body byte", { ...entry, canonicalizedBody: flipBit(entry.canonicalizedBody, 40) }],
    ["log index", { ...entry, logIndex: entry.logIndex + 1n }],
  ];
  if (entry.inclusionPromise) {
    const set = entry.inclusionPromise.signedEntryTimestamp;
    copies.push(["SET byte", {
      ...entry,
      inclusionPromise: { signedEntryTimestamp: flipBit(set, 20) },
    }]);
    copies.push(["integrated time", { ...entry, integratedTime: entry.integratedTime + 1n }]);
  }
  const proof = entry.inclusionProof;
  if (proof) {
    if (proof.hashes.length > 0) {
      const hashes = proof.hashes.map((h, i) => (i === proof.hashes.length - 1 ? flipBit(h) : h));
      copies.push(["proof hash", { ...entry, inclusionProof: { ...proof, hashes } }]);
    }
    copies.push([
      "proof index",
      { ...entry, inclusionProof: { ...proof, logIndex: proof.logIndex ^ 1n } },
    ]);
    copies.push([
      "checkpoint size",
      {
        ...entry,
        inclusionProof: {
          ...proof,
          checkpoint: proof.checkpoint.replace(
            `\n${proof.treeSize}\n`,
            `\n${proof.treeSize + 1n}\n`,
          ),
        },
      },
    ]);
  }
  return copies;
}

if (requireComponents("transparency log interop", INTEROP)) {
  const production = parseTrustedRoot(
    readInteropText("conformance/extra/production-trusted_root.json"),
  );
  const rootOf = (path: string): TrustedRoot => parseTrustedRoot(readInteropText(path));

  const conformanceCase = (name: string) => {
    const keyPath = `${CASES}/${name}/key.pub`;
    const fixture = loadBundleFixture(
      `${CASES}/${name}/bundle.sigstore.json`,
      exists(interopPath(keyPath)) ? keyPath : undefined,
    );
    const rootPath = `${CASES}/${name}/trusted_root.json`;
    const root = exists(interopPath(rootPath)) ? rootOf(rootPath) : production;
    // Bundles v0.2 and later must carry inclusion proofs (cosign-spec.md section 6.3).
    const requireProof = !String(fixture.json.mediaType).endsWith("version=0.1");
    return { fixture, root, requireProof, digest: sha256(caseArtifact(name)) };
  };

  Deno.test("verifyTlogEntry() gives the expected outcome for every conformance bundle", async () => {
    const names = [...Deno.readDirSync(interopPath(CASES))]
      .filter((e) => e.isDirectory)
      .map((e) => e.name)
      .sort();
    assert.equal(names.length, 70);
    assert.deepEqual(names, Object.keys(CONFORMANCE).sort(), "every case has an expectation");
    let ok = 0;
    let rejected = 0;
    for (const name of names) {
      const outcome = CONFORMANCE[name]!;
      if (outcome.startsWith("other layer")) {
        if (name.startsWith("bundle-invalid-base64") || name.startsWith("bundle-malformed")) {
          continue;
        }
        if (name === "managed-key-no-key_fail") continue;
      }
      const { fixture, root, requireProof, digest } = conformanceCase(name);
      assert.ok(fixture.entries.length > 0, name);
      const run = async () => {
        for (const entry of fixture.entries) {
          await verifyTlogEntry(entry, root, {
            expected: expectedOf(fixture, digest),
            requireProof,
          });
        }
      };
      if (outcome === "ok" || outcome.startsWith("other layer")) {
        await run();
        ok++;
      } else {
        await assert.rejects(run, (error: unknown) => {
          assert.ok(isCosignError(error), `${name}: ${error}`);
          assert.equal(error.code, outcome, `${name}: ${error.message}`);
          return true;
        });
        rejected++;
      }
    }
    assert.equal(ok + rejected, 67);
    assert.equal(rejected, Object.values(CONFORMANCE).filter((o) => o.startsWith("REKOR_")).length);
  });

  Deno.test("tampered copies of every verifying conformance entry fail", async () => {
    let tried = 0;
    for (const [name, outcome] of Object.entries(CONFORMANCE)) {
      if (outcome !== "ok") continue;
      const { fixture, root, requireProof, digest } = conformanceCase(name);
      for (const entry of fixture.entries) {
        for (const [what, copy] of tamperedCopies(entry)) {
          await assert.rejects(
            verifyTlogEntry(copy, root, { expected: expectedOf(fixture, digest), requireProof }),
            (error: unknown) => isCosignError(error) && error.code.startsWith("REKOR_"),
            `${name}: ${what}`,
          );
          tried++;
        }
      }
    }
    assert.ok(tried >= 100, `${tried} tampered copies`);
  });

  const FIXTURES: [bundle: string, root: string, key?: string | undefined, artifact?: string][] = [
    [
      "sigstore-js/client-valid/v1.messageSignature.withSigningCert.sigstore.json",
      "sigstore-js/client-valid/trusted_root.json",
      undefined,
      "sigstore-js/client-valid/artifact.txt",
    ],
    [
      "sigstore-js/client-valid/v1.dsse.withSigningCert.sigstore.json",
      "sigstore-js/client-valid/trusted_root.json",
    ],
    [
      "sigstore-js/client-valid/v1.dsse.withPublicKey.sigstore.json",
      "sigstore-js/client-valid/trusted_root.json",
      "sigstore-js/client-valid/publickey-key-1.pem",
    ],
    [
      "sigstore-js/client-valid/v2.messageSignature.withSigningCert.sigstore.json",
      "sigstore-js/client-valid/trusted_root.json",
      undefined,
      "sigstore-js/client-valid/artifact.txt",
    ],
    [
      "sigstore-js/client-valid/v3.messageSignature.withSigningCert.sigstore.json",
      "sigstore-js/client-valid/trusted_root.json",
      undefined,
      "sigstore-js/client-valid/artifact.txt",
    ],
    [
      "sigstore-js/client-valid/v3.dsse.withSigningCert.sigstore.json",
      "sigstore-js/client-valid/trusted_root.json",
    ],
    [
      "sigstore-js/verify/V1.MESSAGE_SIGNATURE.WITH_SIGNING_CERT.sigstore.json",
      "sigstore-js/verify/trusted_root.json",
      undefined,
      "sigstore-js/verify/artifact.txt",
    ],
    [
      "sigstore-js/verify/V1.MESSAGE_SIGNATURE.WITH_PUBLIC_KEY.sigstore.json",
      "sigstore-js/verify/trusted_root.json",
      "sigstore-js/verify/public_key.pem",
      "sigstore-js/verify/artifact.txt",
    ],
    [
      "sigstore-js/verify/V1.DSSE.WITH_SIGNING_CERT.TLOG_INTOTO.sigstore.json",
      "sigstore-js/verify/trusted_root.json",
    ],
    [
      "sigstore-js/verify/V1.DSSE.WITH_SIGNING_CERT.TLOG_DSSE.sigstore.json",
      "sigstore-js/verify/trusted_root.json",
    ],
    [
      "sigstore-js/verify/V3.MESSAGE_SIGNATURE.TLOG_HASHEDREKORDV002.sigstore.json",
      "sigstore-js/verify/trusted_root.json",
      undefined,
      "sigstore-js/verify/artifact.txt",
    ],
    [
      "sigstore-js/verify/V3.DSSE.WITH_SIGNING_CERT.TLOG_DSSEV002.sigstore.json",
      "sigstore-js/verify/trusted_root.json",
    ],
    [
      "sigstore-go/examples/bundle-provenance.json",
      "sigstore-go/examples/trusted-root-public-good.json",
    ],
    [
      "sigstore-go/examples/bundle-publish.json",
      "sigstore-go/examples/trusted-root-public-good.json",
      "sigstore-go/examples/publish_key.pub",
    ],
    [
      "sigstore-go/pkg/testing/data/bundles/dsse.sigstore.json",
      "sigstore-go/pkg/testing/data/trusted-roots/public-good.json",
    ],
    [
      "sigstore-go/pkg/testing/data/bundles/sigstore.js@2.0.0-provenance.sigstore.json",
      "sigstore-go/pkg/testing/data/trusted-roots/public-good.json",
    ],
    [
      "sigstore-go/pkg/testing/data/bundles/othername.sigstore.json",
      "sigstore-go/pkg/testing/data/trusted-roots/scaffolding.json",
    ],
    ["cosign/testdata/oci-attestation.sigstore.json", "cosign/testdata/trusted_root_pgi.json"],
    ["sigstore-rs/bundle_v03.json", "../conformance/extra/production-trusted_root.json"],
  ];

  Deno.test("the tlog entries of the sigstore-js, sigstore-go, cosign and sigstore-rs fixtures verify, tampered copies fail", async () => {
    for (const [bundle, rootPath, key, artifact] of FIXTURES) {
      const fixture = loadBundleFixture(`fixtures/${bundle}`, key && `fixtures/${key}`);
      const root = rootOf(`fixtures/${rootPath}`);
      const hint = (fixture.json.messageSignature as { messageDigest?: { digest: string } })
        ?.messageDigest;
      // Artifacts that are not in the corpus are checked through the bundle's digest.
      const digest = artifact
        ? sha256(readInteropBytes(`fixtures/${artifact}`))
        : hint && fromBase64(hint.digest);
      assert.ok(fixture.entries.length > 0, bundle);
      for (const entry of fixture.entries) {
        const expected = expectedOf(fixture, digest);
        await verifyTlogEntry(entry, root, { expected });
        for (const [what, copy] of tamperedCopies(entry)) {
          await assert.rejects(
            verifyTlogEntry(copy, root, { expected }),
            (error: unknown) => isCosignError(error),
            `${bundle}: ${what}`,
          );
        }
      }
    }
  });

  Deno.test("sigstore-js's invalid DSSE fixture fails on its payload hash", async () => {
    const fixture = loadBundleFixture(
      "fixtures/sigstore-js/client-invalid/v1.dsse.invalidBadSignature.sigstore.json",
    );
    await assert.rejects(
      verifyTlogEntry(
        fixture.entries[0]!,
        rootOf("fixtures/sigstore-js/client-valid/trusted_root.json"),
        {
          expected: expectedOf(fixture),
        },
      ),
      (error: unknown) => isCosignError(error, "REKOR_BODY_MISMATCH"),
    );
  });

  /** A legacy `dev.sigstore.cosign/bundle` value as the Rekor entry it summarizes. */
  const legacyEntry = (annotation: string): TlogEntry => {
    const { SignedEntryTimestamp, Payload } = JSON.parse(annotation);
    const body = fromBase64(Payload.body);
    const [entry] = decodeLogEntries({
      [hashLeaf(body).toHex()]: {
        ...Payload,
        verification: { signedEntryTimestamp: SignedEntryTimestamp },
      },
    });
    return logEntryToTlogEntry(entry!);
  };

  Deno.test("legacy cosign bundle annotations (rekord, hashedrekord) verify as SET-only entries", async () => {
    const dir = "fixtures/sigstore-rs/legacy-image-signature-keyless-2021";
    const keyless = legacyEntry(readInteropText(`${dir}/bundle-annotation.json`));
    assert.deepEqual(keyless.kindVersion, { kind: "rekord", version: "0.0.1" });
    const expected: ExpectedContent = {
      signature: fromBase64(readInteropText(`${dir}/signature.b64`).trim()),
      publicKeyOrCertificateDer: decodePem(readInteropText(`${dir}/cert.pem`)).bytes,
      artifactDigest: {
        algorithm: "sha256",
        digest: sha256(readInteropBytes(`${dir}/payload.json`)),
      },
    };
    const result = await verifyTlogEntry(keyless, production, { expected });
    assert.equal(result.integratedTime?.getTime(), 1634714717000);
    for (const [what, copy] of tamperedCopies(keyless)) {
      await assert.rejects(verifyTlogEntry(copy, production, { expected }), isCosignError, what);
    }
    await assert.rejects(
      verifyTlogEntry(keyless, production, { expected, requireProof: true }),
      (error: unknown) => isCosignError(error, "REKOR_PROOF_MISSING"),
    );

    // SET-only: bound to the entry's own content, this checks the SET and the log key alone.
    const rekord = legacyEntry(
      readInteropText("fixtures/sigstore-rs/legacy-rekor-bundle-rekord-783606.json"),
    );
    const body = parseEntryBody(rekord.canonicalizedBody);
    await verifyTlogEntry(rekord, production, {
      expected: {
        signature: body.signatures[0]!.signature!,
        publicKeyOrCertificateDer: body.signatures[0]!.verifier,
        artifactDigest: { algorithm: "sha256", digest: body.digest!.value },
      },
    });

    const blob = JSON.parse(
      readInteropText("fixtures/sigstore-rs/legacy-blob-bundle-2022/artifact.bundle"),
    );
    const blobEntry = legacyEntry(JSON.stringify(blob.rekorBundle));
    assert.equal(blobEntry.kindVersion.kind, "hashedrekord");
    const blobExpected: ExpectedContent = {
      signature: fromBase64(blob.base64Signature),
      publicKeyOrCertificateDer: decodePem(new TextDecoder().decode(fromBase64(blob.cert))).bytes,
      artifactDigest: {
        algorithm: "sha256",
        // The blob is not in the corpus; FIXTURES.md records its digest.
        digest: fromHex("4bc453b53cb3d914b45f4b250294236adba2c0e09ff6f03793949e7e39fd4cc1"),
      },
    };
    await verifyTlogEntry(blobEntry, production, { expected: blobExpected });
    await assert.rejects(
      verifyTlogEntry(blobEntry, production, {
        expected: {
          ...blobExpected,
          artifactDigest: { algorithm: "sha256", digest: sha256(new Uint8Array()) },
        },
      }),
      (error: unknown) => isCosignError(error, "REKOR_BODY_MISMATCH"),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// sigstore-js verifies what the embedded log issues (SETs, checkpoints, proofs).

const ORACLE_DIR = fromFileUrl(new URL("./node/", import.meta.url));
const ORACLE: Requirement = {
  name: "sigstore-js oracle (tests/interop/node with node_modules)",
  present: () => exists(`${ORACLE_DIR}node_modules/@sigstore/verify`),
};

/** Run the sigstore-js oracle on a bundle; returns its one-line verdict. */
async function oracleVerdict(files: Record<string, string>, request: object): Promise<string> {
  await using dir = await tempDir("dcosign-oracle-");
  const paths: Record<string, string> = {};
  for (const [name, text] of Object.entries(files)) {
    paths[name] = `${dir.path}/${name}`;
    await Deno.writeTextFile(paths[name], text);
  }
  const requestPath = `${dir.path}/request.json`;
  await Deno.writeTextFile(
    requestPath,
    JSON.stringify({ ...request, ...Object.fromEntries(Object.entries(paths)) }),
  );
  const output = await new Deno.Command("node", {
    args: ["verify.mjs", requestPath],
    cwd: ORACLE_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(output.stdout).trim();
}

if (requireComponents("sigstore-js verifies the embedded log", executable("node"), ORACLE)) {
  Deno.test("sigstore-js verifies bundles carrying entries of the embedded log, and rejects a forged SET", async () => {
    await using log = await TransparencyLog.open(":memory:");
    const baseUrl = "http://127.0.0.1:3000";
    const trustedRoot = JSON.stringify(
      encodeTrustedRoot({
        tlogs: [log.trustedLog(baseUrl)],
        ctlogs: [],
        certificateAuthorities: [],
        timestampAuthorities: [],
      }),
    );
    const key = await generateKeyPair();
    const artifact = utf8("an artifact for sigstore-js");
    const digest = sha256(artifact);
    const signature = await key.sign(artifact);
    for (let i = 0; i < 5; i++) {
      const filler = sha256(utf8(`filler ${i}`));
      await log.append(buildHashedRekordEntry({
        digest: { algorithm: "sha256", value: filler },
        signature: key.signPrehashed(filler, "sha256"),
        verifierPem: key.publicKey.toPem(),
      }));
    }
    const { entry } = await log.append(buildHashedRekordEntry({
      digest: { algorithm: "sha256", value: digest },
      signature,
      verifierPem: key.publicKey.toPem(),
    }));
    const tlogEntry = logEntryToTlogEntry(entry);
    const bundleWith = (tlog: TlogEntry) =>
      serializeBundle({
        mediaType: BUNDLE_V03_MEDIA_TYPE,
        version: "0.3",
        verificationMaterial: {
          key: { kind: "publicKey", hint: publicKeyHint(key.publicKey) },
          tlogEntries: [tlog],
          rfc3161Timestamps: [],
        },
        content: {
          kind: "messageSignature",
          messageDigest: { algorithm: "sha256", digest },
          signature,
        },
      });
    const files = {
      trustedRoot,
      artifact: new TextDecoder().decode(artifact),
      publicKey: key.publicKey.toPem(),
    };
    assert.equal(
      await oracleVerdict({ ...files, bundle: bundleWith(tlogEntry) }, { tlogThreshold: 1 }),
      "OK",
    );
    const forged = {
      ...tlogEntry,
      inclusionPromise: {
        signedEntryTimestamp: flipBit(tlogEntry.inclusionPromise!.signedEntryTimestamp, 30),
      },
    };
    assert.match(
      await oracleVerdict({ ...files, bundle: bundleWith(forged) }, { tlogThreshold: 1 }),
      /^FAIL/,
    );
    // sigstore-js wants the checkpoint signer to be the trusted root's host, which is why
    // `trustedLog(baseUrl)` names that host in the log's checkpoints.
    log.hostname = "elsewhere.example";
    const renamed = logEntryToTlogEntry((await log.getByUuid(entry.uuid))!);
    assert.match(
      await oracleVerdict({ ...files, bundle: bundleWith(renamed) }, { tlogThreshold: 1 }),
      /^FAIL: TLOG_INCLUSION_PROOF_ERROR/,
    );
  });
}
