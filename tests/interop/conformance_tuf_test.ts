/**
 * The sigstore-conformance cases that imply the production trusted root (32 of the 70) verify
 * with no `--trusted-root`: the entrypoint reads the trusted root through TUF, from a cache
 * `dcosign initialize` filled from the real public-good TUF repository
 * (../shared/interop/tuf/sigstore-public-good) served on 127.0.0.1, at a clock inside its
 * validity (2026-08-25). Every case, by path and by digest, matches its expected outcome and
 * failure code, and the cache answers them all with zero requests to the mirror. At today's
 * date the same cache is expired, and a case fails in one line saying so.
 */

import assert from "node:assert/strict";
import { isCosignError } from "../../lib/errors.ts";
import { runConformance } from "../../scripts/conformance.ts";
import { dcosign } from "../_cli.ts";
import { serveStaticMirror } from "../integration/_tuf_static.ts";
import { exists, INTEROP, interopPath, requireComponents, tempDir } from "../_support.ts";
import { EXPECTED_FAILURES, loadCases, verifyArgv } from "./_conformance_cases.ts";

const VALID_AT = new Date("2026-08-25T00:00:00Z");
const TUF_CORPUS = {
  name: "TUF corpus (../shared/interop/tuf/sigstore-public-good)",
  present: () => exists(interopPath("tuf/sigstore-public-good/1.root.json")),
};

if (requireComponents("conformance cases through TUF", INTEROP, TUF_CORPUS)) {
  const production = loadCases().filter((c) => c.production);

  Deno.test("the conformance cases implying the production trusted root verify through a TUF cache initialized from the real repository, with no --trusted-root and no request", async (t) => {
    assert.equal(production.length, 32);
    await using mirror = serveStaticMirror(interopPath("tuf/sigstore-public-good"));
    await using tufRoot = await tempDir("dcosign-tuf-conformance-");
    const initialized = await dcosign(
      [
        "initialize",
        "--mirror",
        mirror.url,
        "--root",
        interopPath("tuf/sigstore-public-good/1.root.json"),
      ],
      { env: { TUF_ROOT: tufRoot.path }, now: () => VALID_AT },
    );
    assert.equal(initialized.code, 0, initialized.stderr);
    const requests = mirror.requests.length;
    const env = (name: string) => (name === "TUF_ROOT" ? tufRoot.path : undefined);
    let matched = 0;
    for (const mode of ["PATH", "DIGEST"] as const) {
      for (const c of production) {
        await t.step(`${mode} ${c.name}`, async () => {
          const argv = verifyArgv(c, mode);
          const at = argv.indexOf("--trusted-root");
          argv.splice(at, 2); // the production root comes through TUF
          const outcome = await runConformance(argv, { env, now: () => VALID_AT });
          assert.deepEqual(outcome.warnings, []);
          if (!c.expectFailure) {
            assert.equal(outcome.code, 0, outcome.stderr);
          } else {
            const expected = EXPECTED_FAILURES[c.name]!;
            assert.equal(outcome.code, 1, outcome.stderr);
            assert.ok(
              isCosignError(outcome.error, expected),
              `expected ${expected}: ${outcome.stderr}`,
            );
          }
          matched++;
        });
      }
    }
    assert.equal(matched, 64);
    assert.equal(mirror.requests.length, requests, "the fresh cache answered every case");
  });

  Deno.test("at today's date the cache from the same repository is expired: a production case fails in one line naming the expiry", async () => {
    await using mirror = serveStaticMirror(interopPath("tuf/sigstore-public-good"));
    await using tufRoot = await tempDir("dcosign-tuf-conformance-");
    const initialized = await dcosign(
      [
        "initialize",
        "--mirror",
        mirror.url,
        "--root",
        interopPath("tuf/sigstore-public-good/1.root.json"),
      ],
      { env: { TUF_ROOT: tufRoot.path }, now: () => VALID_AT },
    );
    assert.equal(initialized.code, 0, initialized.stderr);
    const happy = production.find((c) => c.name === "happy-path-v0.3")!;
    const argv = verifyArgv(happy, "PATH");
    argv.splice(argv.indexOf("--trusted-root"), 2);
    const outcome = await runConformance(argv, {
      env: (name) => (name === "TUF_ROOT" ? tufRoot.path : undefined),
    });
    assert.equal(outcome.code, 1);
    assert.ok(isCosignError(outcome.error, "TRUST_TUF_EXPIRED"), outcome.stderr);
    assert.match(
      outcome.stderr,
      /^TUF root metadata version 15 expired at "2026-11-20T13:58:18Z" .*\[TRUST_TUF_EXPIRED\]\n$/,
    );
  });
}
