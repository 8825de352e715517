/**
 * Identity regexps through the CLI: dcosign matches `--certificate-identity-regexp` and
 * `--certificate-oidc-issuer-regexp` against the whole value (cosign searches for a substring);
 * a pattern that fails only for that reason says so and gives the anchored pattern that passes.
 */

import assert from "node:assert/strict";
import { openImageEnv, TEST_IDENTITIES } from "./_image_env.ts";

const WORKFLOW = TEST_IDENTITIES[1];

Deno.test("verify: a substring-only identity regexp fails, names cosign's rule and the anchored pattern, which then passes", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("regexp/app");
  const signed = await env.run([
    "sign",
    "--signing-config",
    env.signingConfig,
    "--trusted-root",
    env.trustedRoot,
    "--identity-token",
    await env.idToken(WORKFLOW),
    "--yes",
    image.reference,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const verify = (identity: string, issuer: string) =>
    env.run([
      "verify",
      "--trusted-root",
      env.trustedRoot,
      "--certificate-identity-regexp",
      identity,
      "--certificate-oidc-issuer-regexp",
      issuer,
      image.reference,
    ]);
  const host = new URL(env.url).host.replaceAll(".", "\\.");
  const failed = await verify("https://github\\.com/octo/", host);
  assert.equal(failed.code, 12, failed.stderr);
  assert.match(
    failed.stderr,
    /cosign would accept it, because its -regexp flags match a substring/,
  );
  const identityFix = failed.stderr.match(/--certificate-identity-regexp '([^']+)'/)?.[1];
  const issuerFix = failed.stderr.match(/--certificate-oidc-issuer-regexp '([^']+)'/)?.[1];
  assert.equal(identityFix, "^https://github\\.com/octo/.*");
  assert.equal(issuerFix, `.*${host}$`);
  const passed = await verify(identityFix!, issuerFix!);
  assert.equal(passed.code, 0, passed.stderr);
  // A pattern cosign would refuse as well gets no hint.
  const refused = await verify("gitlab\\.com", `.*${host}$`);
  assert.equal(refused.code, 12);
  assert.doesNotMatch(refused.stderr, /cosign would accept/);
});

Deno.test("verify --help says the regexps match the whole value, unlike cosign's", async () => {
  await using env = await openImageEnv("in-process");
  const help = await env.run(["verify", "--help"]);
  assert.match(help.stdout, /WHOLE identity must match/);
  assert.match(help.stdout, /cosign matches a substring/);
});
