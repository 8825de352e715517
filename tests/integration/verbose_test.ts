/**
 * `--verbose`: HTTP exchanges of every client on stderr with credentials redacted, and the
 * cause chain of a failure.
 */

import assert from "node:assert/strict";
import { startStack } from "../../server/mod.ts";
import { dcosign } from "../_cli.ts";
import { tempDir } from "../_support.ts";
import { pushLayout, writeOciLayout } from "../registry/_oci_layout.ts";

Deno.test("--verbose logs HTTP exchanges with credentials redacted, and the cause chain", async () => {
  const auth = { username: "alice", password: "s3cret-passw0rd" };
  await using stack = await startStack({ port: 0, registryAuth: auth });
  await using dir = await tempDir();
  const layout = await writeOciLayout(`${dir.path}/layout`);
  const basic = `Basic ${btoa(`${auth.username}:${auth.password}`)}`;
  await pushLayout(layout, stack.url, "verbose/app", { headers: { authorization: basic } });
  const result = await dcosign([
    "verify",
    "-d",
    "--key",
    "nope.pub",
    "--insecure-ignore-tlog",
    "--registry-username",
    auth.username,
    "--registry-password",
    auth.password,
    `${stack.registryHost}/verbose/app:v1`,
  ], { cwd: dir.path });
  // The key is missing: one error line, its cause below it.
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Error: Cannot read key "nope.pub"/);
  assert.match(result.stderr, /caused by: /);

  await Deno.writeTextFile(`${dir.path}/key.pem`, stack.trust.trustedRoot.tlogs[0]!.key.toPem());
  const verbose = await dcosign([
    "verify",
    "--verbose",
    "--key",
    "key.pem",
    "--insecure-ignore-tlog",
    "--registry-username",
    auth.username,
    "--registry-password",
    auth.password,
    `${stack.registryHost}/verbose/app:v1`,
  ], { cwd: dir.path });
  assert.equal(verbose.code, 10, verbose.stderr);
  // A tag resolves with a GET of its manifest, hashed locally (never a HEAD's claim).
  assert.match(verbose.stderr, /> GET http:\/\/127\.0\.0\.1:\d+\/v2\/verbose\/app\/manifests\/v1/);
  assert.match(verbose.stderr, /authorization: REDACTED/i);
  assert.doesNotMatch(verbose.stderr, /s3cret-passw0rd/);
  assert.doesNotMatch(verbose.stderr, new RegExp(btoa(`${auth.username}:${auth.password}`)));
});
