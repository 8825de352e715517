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
import {
  type Case,
  CASES_DIR,
  EXPECTED_FAILURES,
  loadCases,
  PRODUCTION_ROOT,
  verifyArgv,
} from "./_conformance_cases.ts";
import { parseBundle } from "../../lib/bundle/model.ts";
import { runConformance } from "../../scripts/conformance.ts";
import { openImageEnv, TEST_IDENTITIES } from "../integration/_image_env.ts";
import { INTEROP, interopPath, REPO_ROOT, requireComponents, tempDir } from "../_support.ts";

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

  Deno.test("verify-bundle without --trusted-root asks TUF (an unreachable mirror and no cache fail in one line), --staging and bad flags fail in one clear line", async () => {
    const happy = cases.find((c) => c.name === "happy-path-v0.3")!;
    const withoutRoot = happy.args.slice(0, happy.args.indexOf("--trusted-root"));
    await using tufRoot = await tempDir("dcosign-tuf-empty-");
    const requests: string[] = [];
    const noRoot = await runConformance(["verify-bundle", ...withoutRoot, happy.artifact], {
      env: (name) => (name === "TUF_ROOT" ? tufRoot.path : undefined),
      fetch: (input) => {
        requests.push(String(input));
        return Promise.reject(new TypeError("network unreachable"));
      },
    });
    assert.equal(noRoot.code, 1);
    assert.ok(isCosignError(noRoot.error, "TRUST_TUF_FETCH"), noRoot.stderr);
    assert.match(
      noRoot.stderr,
      /"https:\/\/tuf-repo-cdn\.sigstore\.dev\/17\.root\.json": network unreachable/,
    );
    assert.deepEqual(requests, ["https://tuf-repo-cdn.sigstore.dev/17.root.json"]);
    for (const command of ["verify-bundle", "sign-bundle"]) {
      const staging = await runConformance([command, "--staging", "--bundle", "b", "x"]);
      assert.equal(staging.code, 1);
      assert.match(staging.stderr, /staging needs the staging TUF root/);
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

  Deno.test("sign-bundle without a signing config asks TUF for one, and fails in one line before contacting any service when it cannot", async () => {
    await using tufRoot = await tempDir("dcosign-tuf-empty-");
    const requests: string[] = [];
    const outcome = await runConformance([
      "sign-bundle",
      "--identity-token",
      "t",
      "--bundle",
      "out.json",
      "--trusted-root",
      interopPath(PRODUCTION_ROOT),
      interopPath(`${CASES_DIR}/a.txt`),
    ], {
      env: (name) => (name === "TUF_ROOT" ? tufRoot.path : undefined),
      fetch: (input) => {
        requests.push(String(input));
        return Promise.resolve(new Response("not here", { status: 404 }));
      },
    });
    assert.equal(outcome.code, 1);
    assert.ok(isCosignError(outcome.error, "TRUST_TUF_FETCH"), outcome.stderr);
    assert.equal(outcome.stderr.split("\n").length, 2);
    assert.ok(requests.every((url) => url.startsWith("https://tuf-repo-cdn.sigstore.dev/")));
  });
}
