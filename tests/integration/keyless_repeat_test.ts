/**
 * Keyless signing is not flaky: 100 `sign-blob` runs in a row against the embedded stack
 * (in-process), each getting a fresh Fulcio certificate checked before use, and none may fail.
 * A certificate checked at a time taken before the request failed whenever Fulcio issued it in
 * the next second (its notBefore is truncated to the second), and every time the local clock lags
 * the CA's. So the runs' local clocks lag the stack's by 0 to 900 ms (100 ms steps), as hosts
 * synchronised by NTP may.
 */

import assert from "node:assert/strict";
import { dcosign } from "../_cli.ts";
import { openImageEnv } from "./_image_env.ts";

const RUNS = 100;

Deno.test(`${RUNS} keyless sign-blobs in a row all succeed`, async () => {
  await using env = await openImageEnv("in-process");
  await Deno.writeTextFile(`${env.dir}/blob.txt`, "release v1.0\n");
  const token = await env.idToken();
  const failures: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const lagMs = (i % 10) * 100;
    const signed = await dcosign([
      "sign-blob",
      "--signing-config",
      env.signingConfig,
      "--trusted-root",
      env.trustedRoot,
      "--identity-token",
      token,
      "--yes",
      "--bundle",
      `bundle-${i}.json`,
      "blob.txt",
    ], { cwd: env.dir, fetch: env.fetch, now: () => new Date(Date.now() - lagMs) });
    if (signed.code !== 0) {
      failures.push(`run ${i} (lag ${lagMs} ms): ${signed.stderr.trim().split("\n").at(-1)}`);
    }
  }
  assert.deepEqual(failures, []);
  // The last bundle verifies: the runs signed for real.
  const verified = await env.run([
    "verify-blob",
    "--certificate-identity",
    "signer@dcosign.test",
    "--certificate-oidc-issuer",
    env.url,
    "--trusted-root",
    env.trustedRoot,
    "--bundle",
    `bundle-${RUNS - 1}.json`,
    "blob.txt",
  ]);
  assert.equal(verified.code, 0, verified.stderr);
});
