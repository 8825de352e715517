/**
 * The sigstore-conformance entrypoint (scripts/conformance.ts) replays every offline check of
 * the suite: 70 bundle-verify cases, each with the artifact's path and with its digest (140
 * checks), all matching the expected outcome. Each expected failure fails with the error code
 * of the reason its README gives, not by accident; a few run as real subprocesses to prove the
 * executable's exit codes and stderr. `sign-bundle` signs with the embedded stack and its
 * bundles verify with `verify-bundle`.
 */

import assert from "node:assert/strict";
import { sha256, toHex } from "../../lib/util/bytes.ts";
import { type ErrorCode, isCosignError } from "../../lib/errors.ts";
import { parseBundle } from "../../lib/bundle/model.ts";
import { runConformance } from "../../scripts/conformance.ts";
import { openImageEnv, TEST_IDENTITIES } from "../integration/_image_env.ts";
import { INTEROP, interopPath, REPO_ROOT, requireComponents, tempDir } from "../_support.ts";

const CASES_DIR = "conformance/test/assets/bundle-verify";
const PRODUCTION_ROOT = "conformance/extra/production-trusted_root.json";
const DEFAULT_IDENTITY =
  "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER = "https://token.actions.githubusercontent.com";

/**
 * Every `_fail` case and the code it must fail with; the comment is its README's reason (or
 * CASES.md's where upstream has none), then why that code is that reason where it is not plain.
 */
const EXPECTED_FAILURES: Readonly<Record<string, ErrorCode>> = {
  // Bundle contains empty certificate chain.
  "bundle-empty-certificate-chain_fail": "BUNDLE_MALFORMED",
  // A staging bundle against the production root: its Rekor log is not trusted (checked first).
  "bundle-from-wrong-instance_fail": "REKOR_UNKNOWN_LOG",
  // Bundle signature contains invalid base64 encoding.
  "bundle-invalid-base64-signature_fail": "BUNDLE_MALFORMED",
  // Truncated JSON: a parse error, not a crash.
  "bundle-malformed-json_fail": "BUNDLE_MALFORMED",
  // Bundle tlog entry has negative log index.
  "bundle-negative-log-index_fail": "BUNDLE_MALFORMED",
  // Bundle has unknown/unsupported version.
  "bundle-unknown-version_fail": "BUNDLE_UNSUPPORTED",
  // Certificate chain contains a root certificate. The v0.1 inclusion proof also lacks its
  // (required) checkpoint, and that structural fault is what the parser meets first; a root
  // shipped in the chain is not itself refused (see pki_interop_test.ts).
  "bundle-with-root-cert_fail": "BUNDLE_MALFORMED",
  // Checkpoint signature does not match the transparency log providing the entry.
  "checkpoint-bad-keyhint_fail": "REKOR_CHECKPOINT_INVALID",
  // The checkpoint is self consistent but does not apply to this bundle.
  "checkpoint-wrong-roothash_fail": "REKOR_PROOF_INVALID",
  // The signature in the DSSE envelope is incorrect: it does not verify (checked before the log).
  "dsse-invalid-sig_fail": "VERIFY_SIGNATURE_INVALID",
  // DSSE envelope does not match the entry.
  "dsse-mismatch-envelope_fail": "REKOR_BODY_MISMATCH",
  // A second valid signature over the same payload, not the logged one.
  "dsse-mismatch-sig_fail": "REKOR_BODY_MISMATCH",
  // Bit flip in one inclusion proof hash: the Merkle proof is invalid.
  "inclusion-proof-corrupted-hash_fail": "REKOR_PROOF_INVALID",
  // The public key in the hashedrekord entry was modified: the SET no longer verifies.
  "incorrect-public-key_fail": "REKOR_SET_INVALID",
  // Integrated time not within the signing certificate's validity: no chain at that time.
  "integrated-time-in-future_fail": "X509_NO_TRUSTED_CA",
  // Certificate issued outside the CA's validity window in the trusted root.
  "intoto-expired-certificate_fail": "X509_NO_TRUSTED_CA",
  // Log entry does not match the signed artifact: its intoto 0.0.2 signature is the raw bytes of
  // another signature, not the doubly encoded signature of this envelope, so the body is refused.
  "intoto-log-entry-mismatch_fail": "REKOR_BODY_MALFORMED",
  // A v0.2 bundle whose log entry has no inclusion proof is invalid.
  "intoto-missing-inclusion-proof_fail": "BUNDLE_MALFORMED",
  // SET integrated time outside the signing certificate's validity.
  "intoto-set-outside-signing-cert-validity_fail": "X509_NO_TRUSTED_CA",
  // TSA timestamp outside the signing certificate's validity.
  "intoto-tsa-timestamp-outside-cert-validity_fail": "X509_NO_TRUSTED_CA",
  // Rekor checkpoint signature is invalid.
  "invalid-checkpoint-signature_fail": "REKOR_CHECKPOINT_INVALID",
  // (no upstream README) the trusted root's CT logs do not match the SCT.
  "invalid-ct-key_fail": "X509_SCT_UNVERIFIED",
  // The inclusion proof is old and not valid for this entry: it has no checkpoint to bind it.
  "invalid-inclusion-proof_fail": "BUNDLE_MALFORMED",
  // Bundle is signed with a key but no key is provided.
  "managed-key-no-key_fail": "VERIFY_NO_KEY",
  // Wrong key: its last bytes are overwritten ("...wrongkey=="), so it is no point of P-256 and
  // is refused as it is read, before any signature is tried (weak or malformed keys never enter).
  "managed-key-wrong-key_fail": "KEY_MALFORMED",
  // messageDigest does not match the artifact hash.
  "message-digest-mismatch_fail": "VERIFY_MESSAGE_DIGEST_MISMATCH",
  // Checkpoint with the log signature removed: a parse failure.
  "rekor2-checkpoint-missing-log-signature_fail": "REKOR_CHECKPOINT_MALFORMED",
  // Checkpoint with the origin line removed: a parse failure.
  "rekor2-checkpoint-missing-origin_fail": "REKOR_CHECKPOINT_MALFORMED",
  // Checkpoint with the root hash removed: a parse failure.
  "rekor2-checkpoint-missing-root-hash_fail": "REKOR_CHECKPOINT_MALFORMED",
  // Checkpoint with the size removed: a parse failure.
  "rekor2-checkpoint-missing-size_fail": "REKOR_CHECKPOINT_MALFORMED",
  // The checkpoint signature's identity does not match the log host.
  "rekor2-checkpoint-no-matching-signature_fail": "REKOR_CHECKPOINT_INVALID",
  // Envelope signature made by an unrelated key: it does not verify with the certificate's key.
  "rekor2-dsse-invalid-sig_fail": "VERIFY_SIGNATURE_INVALID",
  // Envelope of another statement: Hash(PAE) is not the logged digest.
  "rekor2-dsse-mismatch-envelope_fail": "REKOR_BODY_MISMATCH",
  // A second valid signature that differs from the logged one.
  "rekor2-dsse-mismatch-sig_fail": "REKOR_BODY_MISMATCH",
  // Rekor v2 entry without inclusion proof (never fetched online).
  "rekor2-no-inclusion-proof_fail": "BUNDLE_MALFORMED",
  // Rekor v2 entry and no RFC 3161 timestamp: no trusted time.
  "rekor2-no-timestamp_fail": "VERIFY_NO_TRUSTED_TIME",
  // The trusted root's TSA validity ends before the timestamp was issued.
  "rekor2-timestamp-outside-trust-root-tsa-validity_fail": "TSA_OUTSIDE_VALIDITY",
  // Timestamp requested after the TSA certificate chain expired.
  "rekor2-timestamp-outside-tsa-cert-validity_fail": "TSA_OUTSIDE_VALIDITY",
  // The timestamp covers another signature than this bundle's.
  "rekor2-timestamp-payload-mismatch_fail": "TSA_IMPRINT_MISMATCH",
  // FreeTSA (not in the trusted root), certificates embedded.
  "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail": "TSA_UNTRUSTED",
  // FreeTSA (not in the trusted root), no certificates embedded.
  "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail": "TSA_UNTRUSTED",
  // Genuine timestamp outside the signing certificate's lifetime.
  "rekor2-timestamp-with-incorrect-time_fail": "X509_NO_TRUSTED_CA",
  // SET signature invalid.
  "set-invalid-signature_fail": "REKOR_SET_INVALID",
  // The signature in this bundle is incorrect: it does not verify.
  "signature-mismatch_fail": "VERIFY_SIGNATURE_INVALID",
  // The tlog key's validFor lacks its start: the malformed root entry is unusable, never
  // unbounded (sigstore-js accepts this case).
  "trust-root-tlog-missing-validity-start_fail": "REKOR_UNKNOWN_LOG",
  // Otherwise valid, but the logged entry is for another artifact (and signature).
  "wrong-hashedrekord-artifact_fail": "REKOR_BODY_MISMATCH",
  // The logged certificate and signature are another signing's.
  "wrong-hashedrekord-cert-and-sig_fail": "REKOR_BODY_MISMATCH",
  // The hashedrekord is for a different entry.
  "wrong-hashedrekord-entry_fail": "REKOR_BODY_MISMATCH",
  // A valid bundle for a.txt, verified against another artifact.
  "wrong-material_fail": "VERIFY_MESSAGE_DIGEST_MISMATCH",
};

/** One case directory's inputs, as the suite would pass them. */
interface Case {
  readonly name: string;
  readonly expectFailure: boolean;
  readonly artifact: string;
  readonly args: readonly string[];
}

function readOptional(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function exists(path: string): boolean {
  return readOptional(path) !== undefined;
}

function loadCases(): Case[] {
  const base = interopPath(CASES_DIR);
  return [...Deno.readDirSync(base)].filter((e) => e.isDirectory).map((e) => e.name).sort()
    .map((name) => {
      const dir = `${base}/${name}`;
      const artifact = exists(`${dir}/artifact`) ? `${dir}/artifact` : `${base}/a.txt`;
      const root = exists(`${dir}/trusted_root.json`)
        ? `${dir}/trusted_root.json`
        : interopPath(PRODUCTION_ROOT);
      const signer = exists(`${dir}/key.pub`) ? ["--key", `${dir}/key.pub`] : [
        "--certificate-identity",
        readOptional(`${dir}/identity`) ?? DEFAULT_IDENTITY,
        "--certificate-oidc-issuer",
        readOptional(`${dir}/issuer`) ?? DEFAULT_ISSUER,
      ];
      return {
        name,
        expectFailure: name.endsWith("_fail"),
        artifact,
        args: ["--bundle", `${dir}/bundle.sigstore.json`, ...signer, "--trusted-root", root],
      };
    });
}

function verifyArgv(c: Case, mode: "PATH" | "DIGEST"): string[] {
  const target = mode === "PATH"
    ? c.artifact
    : `sha256:${toHex(sha256(Deno.readFileSync(c.artifact)))}`;
  return ["verify-bundle", ...c.args, target];
}

async function runEntrypoint(argv: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO_ROOT}scripts/conformance.ts`, ...argv],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

if (requireComponents("sigstore-conformance entrypoint", INTEROP)) {
  const cases = loadCases();

  Deno.test("the corpus holds 70 cases (21 succeed, 49 fail) and each failure has its expected code", () => {
    assert.equal(cases.length, 70);
    assert.equal(cases.filter((c) => !c.expectFailure).length, 21);
    const failing = cases.filter((c) => c.expectFailure).map((c) => c.name);
    assert.deepEqual(failing, Object.keys(EXPECTED_FAILURES).sort());
  });

  for (const mode of ["PATH", "DIGEST"] as const) {
    Deno.test(`verify-bundle (${mode}) matches every conformance case; failures carry their reason's code`, async (t) => {
      let matched = 0;
      for (const c of cases) {
        await t.step(c.name, async () => {
          const outcome = await runConformance(verifyArgv(c, mode));
          if (!c.expectFailure) {
            assert.equal(outcome.code, 0, outcome.stderr);
            assert.equal(outcome.stderr, "");
          } else {
            const expected = EXPECTED_FAILURES[c.name]!;
            assert.equal(outcome.code, 1, outcome.stderr);
            assert.ok(
              isCosignError(outcome.error, expected),
              `expected ${expected}, got: ${outcome.stderr}`,
            );
            // One line on stderr, naming the code.
            assert.match(outcome.stderr, new RegExp(`^[^\\n]+ \\[${expected}\\]\\n$`));
          }
          matched++;
        });
      }
      assert.equal(matched, 70);
    });
  }

  Deno.test("trust-root-tlog-missing-validity-start_fail fails on the unusable tlog key, which sigstore-js accepts", async () => {
    const c = cases.find((c) => c.name === "trust-root-tlog-missing-validity-start_fail")!;
    const outcome = await runConformance(verifyArgv(c, "PATH"));
    assert.equal(outcome.code, 1);
    assert.ok(isCosignError(outcome.error, "REKOR_UNKNOWN_LOG"));
    assert.match(outcome.stderr, /unusable trusted root entry/);
    assert.match(outcome.stderr, /publicKey\.validFor\.start: missing/);
    // The same bundle verifies against the root it was copied from (rekor2-happy-path), where
    // the start is present: the missing start is the only reason.
    const happy = cases.find((c) => c.name === "rekor2-happy-path")!;
    const argv = verifyArgv(c, "PATH");
    argv[argv.indexOf("--trusted-root") + 1] = happy
      .args[happy.args.indexOf("--trusted-root") + 1]!;
    const withStart = await runConformance(argv);
    assert.equal(withStart.code, 0, withStart.stderr);
  });

  Deno.test("verify-bundle reads sha256:<hex> as a file when such a file exists", async () => {
    await using dir = await tempDir();
    const happy = cases.find((c) => c.name === "happy-path-v0.3")!;
    const digestArg = `sha256:${toHex(sha256(Deno.readFileSync(happy.artifact)))}`;
    const asDigest = await runConformance(["verify-bundle", ...happy.args, digestArg], {
      cwd: dir.path,
    });
    assert.equal(asDigest.code, 0, asDigest.stderr);
    // A file by that name holding other bytes is the artifact now, and does not match.
    await Deno.writeTextFile(`${dir.path}/${digestArg}`, "other bytes");
    const asFile = await runConformance(["verify-bundle", ...happy.args, digestArg], {
      cwd: dir.path,
    });
    assert.equal(asFile.code, 1);
    assert.ok(isCosignError(asFile.error, "VERIFY_MESSAGE_DIGEST_MISMATCH"), asFile.stderr);
  });

  Deno.test("verify-bundle without --trusted-root, with --staging, or with bad flags fails in one clear line", async () => {
    const happy = cases.find((c) => c.name === "happy-path-v0.3")!;
    const withoutRoot = happy.args.slice(0, happy.args.indexOf("--trusted-root"));
    const noRoot = await runConformance(["verify-bundle", ...withoutRoot, happy.artifact]);
    assert.equal(noRoot.code, 1);
    assert.ok(isCosignError(noRoot.error, "TRUST_MISSING"));
    assert.match(noRoot.stderr, /pass --trusted-root/);
    assert.match(noRoot.stderr, /extra\/production-trusted_root\.json/);
    for (const command of ["verify-bundle", "sign-bundle"]) {
      const staging = await runConformance([command, "--staging", "--bundle", "b", "x"]);
      assert.equal(staging.code, 1);
      assert.match(staging.stderr, /staging needs TUF/);
    }
    const both = await runConformance([
      "verify-bundle",
      ...happy.args,
      "--key",
      "key.pub",
      happy.artifact,
    ]);
    assert.equal(both.code, 2);
    assert.ok(isCosignError(both.error, "CLI_USAGE"));
    const unknown = await runConformance(["verify-blob", happy.artifact]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /expected sign-bundle or verify-bundle/);
    for (const outcome of [noRoot, both, unknown]) {
      assert.equal(outcome.stderr.split("\n").length, 2, outcome.stderr);
    }
  });

  Deno.test("the entrypoint as a subprocess: exit 0 on success, 1 with one stderr line on failure", async () => {
    const pick = (name: string) => cases.find((c) => c.name === name)!;
    const runs: [Case, "PATH" | "DIGEST", number, ErrorCode | undefined][] = [
      [pick("happy-path-v0.3"), "PATH", 0, undefined],
      [pick("managed-key-happy-path"), "DIGEST", 0, undefined],
      [pick("rekor2-dsse-happy-path"), "DIGEST", 0, undefined],
      [pick("signature-mismatch_fail"), "PATH", 1, "VERIFY_SIGNATURE_INVALID"],
      [pick("bundle-malformed-json_fail"), "DIGEST", 1, "BUNDLE_MALFORMED"],
    ];
    const results = await Promise.all(runs.map(([c, mode]) => runEntrypoint(verifyArgv(c, mode))));
    results.forEach((result, i) => {
      const [c, , code, error] = runs[i]!;
      assert.equal(result.code, code, `${c.name}: ${result.stderr}`);
      assert.equal(result.stdout, "");
      if (error === undefined) {
        assert.equal(result.stderr, "");
      } else {
        assert.match(result.stderr, new RegExp(`^[^\\n]+ \\[${error}\\]\\n$`));
      }
    });
  });

  Deno.test("sign-bundle signs keyless with the embedded stack; verify-bundle verifies the blob and the in-toto bundles", async () => {
    await using env = await openImageEnv("in-process");
    const options = { cwd: env.dir, fetch: env.fetch };
    const artifact = interopPath(`${CASES_DIR}/a.txt`);
    const statement = interopPath("conformance/test/assets/statement.json");
    const token = await env.idToken();
    const sign = (extra: string[], bundle: string, file: string) =>
      runConformance([
        "sign-bundle",
        ...extra,
        "--identity-token",
        token,
        "--bundle",
        bundle,
        "--trusted-root",
        env.trustedRoot,
        "--signing-config",
        env.signingConfig,
        file,
      ], options);
    const signed = await sign([], "blob.sigstore.json", artifact);
    assert.equal(signed.code, 0, signed.stderr);
    const signedDsse = await sign(["--in-toto"], "dsse.sigstore.json", statement);
    assert.equal(signedDsse.code, 0, signedDsse.stderr);

    const blob = parseBundle(await Deno.readFile(`${env.dir}/blob.sigstore.json`));
    assert.equal(blob.content.kind, "messageSignature");
    assert.equal(blob.verificationMaterial.key.kind, "certificate");
    assert.equal(blob.verificationMaterial.tlogEntries.length, 1);
    const dsse = parseBundle(await Deno.readFile(`${env.dir}/dsse.sigstore.json`));
    assert.equal(dsse.content.kind, "dsseEnvelope");

    const identity = ["--certificate-identity", TEST_IDENTITIES[0], "--certificate-oidc-issuer"];
    const verify = (bundle: string, target: string, who = [...identity, env.url]) =>
      runConformance([
        "verify-bundle",
        "--bundle",
        bundle,
        ...who,
        "--trusted-root",
        env.trustedRoot,
        target,
      ], options);
    const digestArg = `sha256:${toHex(sha256(Deno.readFileSync(artifact)))}`;
    for (const bundle of ["blob.sigstore.json", "dsse.sigstore.json"]) {
      for (const target of [artifact, digestArg]) {
        const ok = await verify(bundle, target);
        assert.equal(ok.code, 0, `${bundle} ${target}: ${ok.stderr}`);
      }
      const wrongIdentity = await verify(bundle, artifact, [
        "--certificate-identity",
        "someone@else.test",
        "--certificate-oidc-issuer",
        env.url,
      ]);
      assert.ok(isCosignError(wrongIdentity.error, "VERIFY_IDENTITY_MISMATCH"));
      const otherFile = await verify(bundle, statement);
      assert.equal(otherFile.code, 1);
    }
    const notStatement = await sign(["--in-toto"], "bad.sigstore.json", artifact);
    assert.equal(notStatement.code, 1);
    assert.match(notStatement.stderr, /PAYLOAD_/);
  });

  Deno.test("sign-bundle without a signing config fails in one line before contacting anything", async () => {
    const outcome = await runConformance([
      "sign-bundle",
      "--identity-token",
      "t",
      "--bundle",
      "out.json",
      "--trusted-root",
      interopPath(PRODUCTION_ROOT),
      interopPath(`${CASES_DIR}/a.txt`),
    ]);
    assert.equal(outcome.code, 2);
    assert.match(outcome.stderr, /--signing-config is required/);
  });
}
