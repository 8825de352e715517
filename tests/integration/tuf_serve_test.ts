/**
 * dcosign against its own stack as a TUF repository: `dcosign serve` (a real process) publishes
 * its trusted root and signing config under /tuf/, `dcosign initialize --mirror "$tufMirror"
 * --root "$tufRoot"` trusts it, and then keyless signing (image and blob) goes through the
 * signing config and verification through the trusted root with no trust or service flag.
 * After the stack rotates its trusted root (a new TSA key and a TUF root rotation), a client
 * with a fresh cache picks the new root up and an `--offline` client keeps the old one until
 * its metadata expires. And the counting test: a verify with a fresh cache sends zero TUF
 * requests, one with an expired timestamp exactly the two TUF needs.
 */

import assert from "node:assert/strict";
import { parseBundle } from "../../lib/bundle/model.ts";
import { pushExampleImage } from "../../lib/oci/example_image.ts";
import { encodeSigningConfig } from "../../lib/trust/signing_config.ts";
import { encodeTrustedRoot, parseTrustedRoot } from "../../lib/trust/trusted_root.ts";
import { TufClient } from "../../lib/trust/tuf/client.ts";
import { bindStack, createStackApp, openStackServices, startStack } from "../../server/mod.ts";
import { TufRepository } from "../../server/tuf/repository.ts";
import { tufRoutes } from "../../server/tuf/routes.ts";
import { dcosign } from "../_cli.ts";
import { REPO_ROOT, tempDir } from "../_support.ts";
import { TEST_IDENTITIES } from "./_image_env.ts";

const HOUR = 60 * 60 * 1000;

async function waitForReadyFile(path: string): Promise<Record<string, string>> {
  for (let i = 0; i < 600; i++) {
    try {
      return JSON.parse(await Deno.readTextFile(path));
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error("dcosign serve did not become ready");
}

Deno.test("dcosign serve is a TUF mirror: after initialize, keyless sign and verify need no trust or service flag", async () => {
  await using work = await tempDir("dcosign-tuf-serve-");
  const readyFile = `${work.path}/ready.json`;
  const serve = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${REPO_ROOT}main.ts`,
      "serve",
      "--data-dir",
      `${work.path}/stack`,
      "--ready-file",
      readyFile,
      "--identity",
      TEST_IDENTITIES[0],
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const ready = await waitForReadyFile(readyFile);
    assert.equal(ready.tufMirror, `http://${ready.registry}/tuf`);
    assert.equal(ready.tufRoot, `${work.path}/stack/1.root.json`);
    const env = { TUF_ROOT: `${work.path}/tuf` };
    const run = (argv: string[]) => dcosign(argv, { cwd: work.path, env });

    const init = await run(["initialize", "--mirror", ready.tufMirror!, "--root", ready.tufRoot!]);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stderr, /trusted_root\.json, signing_config\.v0\.2\.json/);

    const image = await pushExampleImage(ready.registry!, "tuf/app");
    const signed = await run(["sign", "--yes", "--identity-token", ready.idToken!, image]);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stderr, /tlog entry created with index/);
    const identity = [
      "--certificate-identity",
      ready.identity!,
      "--certificate-oidc-issuer",
      ready.issuer!,
    ];
    const verified = await run(["verify", ...identity, image]);
    assert.equal(verified.code, 0, verified.stderr);

    await Deno.writeTextFile(`${work.path}/app.txt`, "through the signing config\n");
    const blob = await run([
      "sign-blob",
      "--yes",
      "--identity-token",
      ready.idToken!,
      "--bundle",
      "app.json",
      "app.txt",
    ]);
    assert.equal(blob.code, 0, blob.stderr);
    const bundle = parseBundle(await Deno.readFile(`${work.path}/app.json`));
    // The signing config named the stack's Rekor and TSA: both witnessed the signature.
    assert.equal(bundle.verificationMaterial.tlogEntries.length, 1);
    assert.equal(bundle.verificationMaterial.rfc3161Timestamps.length, 1);
    const blobVerified = await run([
      "verify-blob",
      "--bundle",
      "app.json",
      ...identity,
      "--use-signed-timestamps",
      "app.txt",
    ]);
    assert.equal(blobVerified.code, 0, blobVerified.stderr);
    // Offline, the initialized cache serves the same verification.
    const offline = await run(["verify", "--offline", ...identity, image]);
    assert.equal(offline.code, 0, offline.stderr);
  } finally {
    serve.kill("SIGTERM");
    await serve.status;
  }
});

Deno.test("after the stack rotates its trusted root, a fresh cache picks up the new one and an --offline cache keeps the old until it expires", async () => {
  await using work = await tempDir("dcosign-tuf-rotate-");
  await using stack = await startStack({
    port: 0,
    readyFile: `${work.path}/ready.json`,
    identities: TEST_IDENTITIES,
  });
  const { ready } = stack;
  const cache = (name: string) => ({ TUF_ROOT: `${work.path}/${name}` });
  const run = (argv: string[], env: Record<string, string>, now?: () => Date) =>
    dcosign(argv, { cwd: work.path, env, ...(now ? { now } : {}) });
  const initialize = ["initialize", "--mirror", ready.tufMirror!, "--root", ready.tufRoot!];
  assert.equal((await run(initialize, cache("old"))).code, 0);

  const sign = async (name: string) => {
    await Deno.writeTextFile(`${work.path}/${name}.txt`, `${name}\n`);
    const token = await stack.services.oidc.mintToken();
    const signed = await run(
      ["sign-blob", "--yes", "--identity-token", token, "--bundle", `${name}.json`, `${name}.txt`],
      cache("old"),
    );
    assert.equal(signed.code, 0, signed.stderr);
  };
  const verify = (
    name: string,
    env: Record<string, string>,
    extra: string[] = [],
    now?: () => Date,
  ) =>
    run(
      [
        "verify-blob",
        "--bundle",
        `${name}.json`,
        "--certificate-identity",
        ready.identity!,
        "--certificate-oidc-issuer",
        ready.issuer!,
        "--use-signed-timestamps",
        ...extra,
        `${name}.txt`,
      ],
      env,
      now,
    );

  await sign("before");
  const oldTsa = stack.trust.trustedRoot.timestampAuthorities[0]!.certificates[0]!;
  const rotated = await stack.rotateTrustedRoot();
  assert.equal(rotated.trustedRoot.timestampAuthorities.length, 2);
  assert.notDeepEqual(rotated.trustedRoot.timestampAuthorities[0]!.certificates[0], oldTsa);
  await sign("after"); // timestamped by the new TSA key

  // A fresh cache walks to the rotated TUF root and gets the new trusted root.
  assert.equal((await run(initialize, cache("fresh"))).code, 0);
  const fresh = await new TufClient({ cacheDir: cache("fresh").TUF_ROOT, offline: true }).refresh();
  assert.equal(fresh.root.signed.version, 2);
  const freshRoot = parseTrustedRoot(
    await new TufClient({ cacheDir: cache("fresh").TUF_ROOT, offline: true }).trustedRootBytes(),
  );
  assert.equal(freshRoot.timestampAuthorities.length, 2);
  for (const name of ["before", "after"]) {
    const result = await verify(name, cache("fresh"));
    assert.equal(result.code, 0, `${name}: ${result.stderr}`);
  }

  // The old cache, offline, still holds the old root: the new TSA is unknown to it.
  assert.equal((await verify("before", cache("old"), ["--offline"])).code, 0);
  const unknownTsa = await verify("after", cache("old"), ["--offline"]);
  assert.equal(unknownTsa.code, 1);
  assert.match(unknownTsa.stderr, /\[TSA_/);
  // Once its timestamp metadata expired (it lives a day), offline is refused in one line.
  const later = () => new Date(Date.now() + 2 * 24 * HOUR);
  const expired = await verify("before", cache("old"), ["--offline"], later);
  assert.equal(expired.code, 1);
  assert.match(
    expired.stderr,
    /^Error: Offline, and the TUF cache for "http:\/\/127\.0\.0\.1:\d+\/tuf" cannot serve: the cached timestamp metadata \(version \d+\) expired at "[^"]+"; run `dcosign initialize` while online \[TRUST_TUF_OFFLINE\]\n$/,
  );
});

Deno.test("counting: a verify with a fresh TUF cache sends zero TUF requests; with an expired timestamp, exactly the root probe and the timestamp", async () => {
  await using work = await tempDir("dcosign-tuf-count-");
  await using services = await openStackServices();
  const stackApp = createStackApp(services);
  const base = "http://sigstore.test";
  const trust = bindStack(services, base);
  let clock = new Date();
  const repo = await TufRepository.create({ now: () => clock });
  await repo.setTargets({
    "trusted_root.json": new TextEncoder().encode(
      JSON.stringify(encodeTrustedRoot(trust.trustedRoot)),
    ),
    "signing_config.v0.2.json": new TextEncoder().encode(
      JSON.stringify(encodeSigningConfig(trust.signingConfig)),
    ),
  });
  const tufApp = tufRoutes(repo);
  const tufRequests: string[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.host === "tuf.test") {
      tufRequests.push(url.pathname);
      return await tufApp.request(url.href, init);
    }
    return await stackApp.fetch(new Request(url, init));
  };
  await Deno.writeFile(`${work.path}/root.json`, repo.rootBytes(1));
  const env = { TUF_ROOT: `${work.path}/tuf`, COSIGN_PASSWORD: "pw" };
  const run = (argv: string[]) => dcosign(argv, { cwd: work.path, env, fetch, now: () => clock });
  assert.equal((await run(["generate-key-pair"])).code, 0);
  await Deno.writeTextFile(`${work.path}/app.txt`, "counted\n");
  const signed = await run([
    "sign-blob",
    "--key",
    "cosign.key",
    "--rekor-url",
    base,
    "--bundle",
    "app.json",
    "app.txt",
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  assert.deepEqual(tufRequests, [], "a key signature with an explicit log asks no TUF");
  const init = await run(["initialize", "--mirror", "http://tuf.test/tuf", "--root", "root.json"]);
  assert.equal(init.code, 0, init.stderr);

  const verify = ["verify-blob", "--key", "cosign.pub", "--bundle", "app.json", "app.txt"];
  tufRequests.length = 0;
  clock = new Date(clock.getTime() + HOUR);
  const fresh = await run(verify);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.deepEqual(tufRequests, [], "a fresh cache answers with zero TUF requests");

  // A day and more later the cached timestamp (valid one day) has expired: TUF needs the next
  // root probe and a new timestamp naming the same snapshot, and nothing else.
  clock = new Date(clock.getTime() + 25 * HOUR);
  const stale = await run(verify);
  assert.equal(stale.code, 0, stale.stderr);
  assert.deepEqual(tufRequests, ["/tuf/2.root.json", "/tuf/timestamp.json"]);
});
