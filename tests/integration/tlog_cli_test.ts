/**
 * The transparency log end to end through the CLI on `dcosign serve`: sign -> entry in the log
 * -> verify offline -> stop the log -> verify still succeeds offline; online proof checks;
 * attacks on the stored log evidence.
 */

import assert from "node:assert/strict";
import { RekorClient } from "../../lib/tlog/rekor/client.ts";
import { startStack } from "../../server/mod.ts";
import { dcosign } from "../_cli.ts";
import { tempDir } from "../_support.ts";
import { openImageEnv } from "./_image_env.ts";

Deno.test("sign records the signature in the log; verify checks it offline, even with the log stopped", async () => {
  await using dir = await tempDir();
  // Two stacks: the log lives in one, the image in the other, so the log can be stopped.
  const logStack = await startStack({
    port: 0,
    dataDir: `${dir.path}/log`,
    readyFile: `${dir.path}/ready.json`,
  });
  await using images = await openImageEnv("socket");
  const image = await images.push("tlog/app");
  const run = (argv: string[], fetcher: typeof fetch = fetch) =>
    dcosign(argv, { cwd: images.dir, env: { COSIGN_PASSWORD: "pw" }, fetch: fetcher });
  for (const format of ["false", "true"]) {
    const signed = await run([
      "sign",
      "--key",
      "cosign.key",
      "--rekor-url",
      logStack.url,
      `--new-bundle-format=${format}`,
      image.reference,
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stderr, /tlog entry created with index: \d+/);
  }
  // The entries are in the log: searchable by the artifact hash of the legacy payload.
  const log = new RekorClient({ baseUrl: logStack.url });
  assert.equal((await log.getLogInfo()).treeSize, 2n);
  const trustedRoot = logStack.ready.trustedRoot!;
  await logStack.close();

  // The log is gone: verification still succeeds, offline, from the stored evidence; any
  // request to a log would fail.
  const registryOnly: typeof fetch = (input, init) => {
    const url = new Request(input, init).url;
    if (url.includes("/api/")) return Promise.reject(new Error(`unexpected request to ${url}`));
    return fetch(input, init);
  };
  for (const extra of [[], ["--offline"]]) {
    const verified = await run(
      ["verify", "--key", "cosign.pub", "--trusted-root", trustedRoot, ...extra, image.reference],
      registryOnly,
    );
    assert.equal(verified.code, 0, verified.stderr);
    // The bundle verified; the legacy `.sig` is not read after it (issue 15).
    assert.equal(JSON.parse(verified.stdout).length, 1);
    assert.match(
      verified.stderr,
      /Existence of the claims in the transparency log was verified offline/,
    );
  }
});

Deno.test("verify refuses a log-less signature unless --insecure-ignore-tlog, with a warning", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("tlog/nolog");
  const signed = await env.run([
    "sign",
    "--key",
    "cosign.key",
    "--tlog-upload=false",
    image.reference,
  ]);
  assert.equal(signed.code, 0);
  assert.match(signed.stderr, /WARNING: Not recording the signature in a transparency log/);
  const refused = await env.run([
    "verify",
    "--key",
    "cosign.pub",
    "--trusted-root",
    env.trustedRoot,
    image.reference,
  ]);
  assert.equal(refused.code, 12);
  assert.match(refused.stderr, /no transparency log entry/);
  const ignored = await env.run([
    "verify",
    "--key",
    "cosign.pub",
    "--insecure-ignore-tlog",
    image.reference,
  ]);
  assert.equal(ignored.code, 0);
  assert.match(ignored.stderr, /WARNING: Skipping transparency log verification/);
});

Deno.test("verify without a trusted root goes to TUF: offline with an empty cache it fails in one line naming the fix", async () => {
  await using env = await openImageEnv("in-process");
  await using tufRoot = await tempDir("dcosign-tuf-empty-");
  const image = await env.push("tlog/noroot");
  assert.equal(
    (await env.run(["sign", "--key", "cosign.key", "--rekor-url", env.url, image.reference])).code,
    0,
  );
  const result = await env.run(["verify", "--key", "cosign.pub", "--offline", image.reference], {
    TUF_ROOT: tufRoot.path,
  });
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^Error: Offline, and the TUF cache for "https:\/\/tuf-repo-cdn\.sigstore\.dev" cannot serve: no verified timestamp metadata is cached; run `dcosign initialize` while online \[TRUST_TUF_OFFLINE\]\n$/,
  );
});

Deno.test("a SET copied from another signature's entry is refused (SECURITY.md row 1)", async () => {
  await using env = await openImageEnv("in-process");
  const a = await env.push("tlog/copy", { tag: "a" });
  const b = await env.push("tlog/copy", { tag: "b" });
  for (const image of [a, b]) {
    const signed = await env.run([
      "sign",
      "--key",
      "cosign.key",
      "--rekor-url",
      env.url,
      "--new-bundle-format=false",
      image.reference,
    ]);
    assert.equal(signed.code, 0, signed.stderr);
  }
  // Give b's layer a's bundle annotation: a valid SET, for another entry.
  const manifestUrl = (digest: string) =>
    `http://${env.registry}/v2/tlog/copy/manifests/sha256-${digest.slice(7)}.sig`;
  const accept = { accept: "application/vnd.oci.image.manifest.v1+json" };
  const manifestA = await (await env.fetch(manifestUrl(a.digest), { headers: accept })).json();
  const manifestB = await (await env.fetch(manifestUrl(b.digest), { headers: accept })).json();
  const key = "dev.sigstore.cosign/bundle";
  manifestB.layers[0].annotations[key] = manifestA.layers[0].annotations[key];
  const put = await env.fetch(manifestUrl(b.digest), {
    method: "PUT",
    headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
    body: JSON.stringify(manifestB),
  });
  assert.equal(put.status, 201);
  const result = await env.run([
    "verify",
    "--key",
    "cosign.pub",
    "--trusted-root",
    env.trustedRoot,
    b.reference,
  ]);
  assert.equal(result.code, 12);
  assert.match(result.stderr, /REKOR_BODY_MISMATCH|Log entry does not match/);
});

Deno.test("verify --rekor-url checks inclusion proofs online and finds entries of bundle-less signatures", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("tlog/online");
  const signed = await env.run([
    "sign",
    "--key",
    "cosign.key",
    "--rekor-url",
    env.url,
    "--new-bundle-format=false",
    image.reference,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  let logRequests = 0;
  const counting: typeof fetch = (input, init) => {
    if (new Request(input, init).url.includes("/api/v1/log")) logRequests++;
    return env.fetch(input, init);
  };
  const online = await dcosign([
    "verify",
    "--key",
    "cosign.pub",
    "--trusted-root",
    env.trustedRoot,
    "--rekor-url",
    env.url,
    image.reference,
  ], { cwd: env.dir, fetch: counting });
  assert.equal(online.code, 0, online.stderr);
  assert.ok(logRequests >= 1);
  assert.match(online.stderr, /inclusion proof|transparency log/);

  // Strip the bundle annotation: offline verification has no evidence; online finds the entry.
  const url = `http://${env.registry}/v2/tlog/online/manifests/sha256-${image.digest.slice(7)}.sig`;
  const manifest = await (await env.fetch(url, {
    headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
  })).json();
  delete manifest.layers[0].annotations["dev.sigstore.cosign/bundle"];
  await (await env.fetch(url, {
    method: "PUT",
    headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
    body: JSON.stringify(manifest),
  })).body?.cancel();
  const offline = await env.run([
    "verify",
    "--key",
    "cosign.pub",
    "--trusted-root",
    env.trustedRoot,
    image.reference,
  ]);
  assert.equal(offline.code, 12);
  const found = await env.run([
    "verify",
    "--key",
    "cosign.pub",
    "--trusted-root",
    env.trustedRoot,
    "--rekor-url",
    env.url,
    image.reference,
  ]);
  assert.equal(found.code, 0, found.stderr);
  const conflicting = await env.run([
    "verify",
    "--key",
    "cosign.pub",
    "--offline",
    "--rekor-url",
    env.url,
    image.reference,
  ]);
  assert.equal(conflicting.code, 1);
});
