/**
 * sigstore-js verifies what we make: on `dcosign serve` (over a socket), a blob signed keyless
 * and with a key, and a statement attested, each bundle checked by `@sigstore/verify` under
 * Node (tests/interop/node/verify.mjs) with our trusted_root.json. A flipped byte of the
 * signature makes it refuse, so the oracle is not a rubber stamp.
 */

import assert from "node:assert/strict";
import { fromBase64, toBase64 } from "../../lib/util/bytes.ts";
import { type ImageEnv, openImageEnv, TEST_IDENTITIES } from "../integration/_image_env.ts";
import { executable, exists, REPO_ROOT, requireComponents } from "../_support.ts";

const NODE_DIR = `${REPO_ROOT}tests/interop/node`;
const SIGSTORE_VERIFY = {
  name: "@sigstore/verify in tests/interop/node/node_modules",
  present: () => exists(`${NODE_DIR}/node_modules/@sigstore/verify/package.json`),
};

interface OracleRequest {
  readonly bundle: string;
  readonly artifact: string;
  readonly identity?: string;
  readonly issuer?: string;
  readonly publicKey?: string;
  readonly tlogThreshold?: number;
}

/** Run the sigstore-js oracle; its one output line: "OK" or "FAIL: <reason>". */
async function oracle(env: ImageEnv, request: OracleRequest): Promise<string> {
  const path = `${env.dir}/request-${crypto.randomUUID()}.json`;
  await Deno.writeTextFile(path, JSON.stringify({ ...request, trustedRoot: env.trustedRoot }));
  const output = await new Deno.Command("node", {
    args: [`${NODE_DIR}/verify.mjs`, path],
    cwd: NODE_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  assert.equal(output.success, text === "OK", `exit status and "${text}" disagree`);
  return text;
}

/** A copy of the bundle with one bit of its signature flipped. */
async function flipSignature(path: string): Promise<string> {
  const bundle = JSON.parse(await Deno.readTextFile(path));
  const holder = bundle.messageSignature ?? bundle.dsseEnvelope.signatures[0];
  const key = bundle.messageSignature ? "signature" : "sig";
  const bytes = fromBase64(holder[key]);
  bytes[bytes.length - 3]! ^= 0x01;
  holder[key] = toBase64(bytes);
  const flipped = path.replace(/\.json$/, ".flipped.json");
  await Deno.writeTextFile(flipped, JSON.stringify(bundle));
  return flipped;
}

/**
 * Keyless signing with Fulcio and Rekor named directly, without the signing config's TSA: the
 * embedded TSA writes DER-minimal fractional seconds in genTime (".12Z"), which
 * `@sigstore/core`'s time parser refuses unless there are exactly three digits, so one
 * timestamp in ten would fail there for that reason alone (reported to the TSA's owner).
 */
function keyless(env: ImageEnv, token: string): string[] {
  return [
    "--fulcio-url",
    env.url,
    "--rekor-url",
    env.url,
    "--trusted-root",
    env.trustedRoot,
    "--identity-token",
    token,
    "--yes",
  ];
}

if (
  requireComponents("sigstore-js verifies our blob bundles", executable("node"), SIGSTORE_VERIFY)
) {
  Deno.test("sigstore-js verifies a keyless sign-blob bundle from dcosign serve, and refuses a flipped signature", async () => {
    await using env = await openImageEnv("socket");
    const artifact = `${env.dir}/release.txt`;
    await Deno.writeTextFile(artifact, "a release signed keyless\n");
    const signed = await env.run([
      "sign-blob",
      ...keyless(env, await env.idToken()),
      "--bundle",
      "keyless.json",
      artifact,
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    const bundle = `${env.dir}/keyless.json`;
    const request = { artifact, identity: TEST_IDENTITIES[0], issuer: env.url };
    assert.equal(await oracle(env, { ...request, bundle }), "OK");
    assert.match(
      await oracle(env, { ...request, bundle: await flipSignature(bundle) }),
      /^FAIL: (?!TIMESTAMP)/,
    );
    assert.match(
      await oracle(env, { ...request, bundle, identity: "someone@dcosign.test" }),
      /^FAIL/,
    );
  });

  Deno.test("sigstore-js verifies a key-signed sign-blob bundle from dcosign serve, and refuses a flipped signature", async () => {
    await using env = await openImageEnv("socket");
    const artifact = `${env.dir}/release.txt`;
    await Deno.writeTextFile(artifact, "a release signed with a key\n");
    const signed = await env.run([
      "sign-blob",
      "--key",
      "cosign.key",
      "--rekor-url",
      env.url,
      "--bundle",
      "keyed.json",
      artifact,
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    const bundle = `${env.dir}/keyed.json`;
    const request = { artifact, publicKey: `${env.dir}/cosign.pub`, tlogThreshold: 1 };
    assert.equal(await oracle(env, { ...request, bundle }), "OK");
    // The flipped signature is caught by the log entry and signature checks.
    assert.match(
      await oracle(env, { ...request, bundle: await flipSignature(bundle) }),
      /^FAIL: (?!TIMESTAMP)/,
    );
  });

  Deno.test("sigstore-js verifies attest-blob statements from dcosign serve (keyless and key), and refuses a flipped signature", async () => {
    await using env = await openImageEnv("socket");
    const artifact = `${env.dir}/release.tar`;
    await Deno.writeTextFile(artifact, "an attested release\n");
    await Deno.writeTextFile(
      `${env.dir}/prov.json`,
      JSON.stringify({ builder: { id: "https://ci.example" }, buildType: "x" }),
    );
    const attest = ["attest-blob", "--type", "slsaprovenance", "--predicate", "prov.json"];
    const keylessRun = await env.run([
      ...attest,
      ...keyless(env, await env.idToken()),
      "--bundle",
      "att-keyless.json",
      artifact,
    ]);
    assert.equal(keylessRun.code, 0, keylessRun.stderr);
    const keyedRun = await env.run([
      ...attest,
      "--key",
      "cosign.key",
      "--rekor-url",
      env.url,
      "--bundle",
      "att-keyed.json",
      artifact,
    ]);
    assert.equal(keyedRun.code, 0, keyedRun.stderr);
    const keylessRequest = {
      artifact,
      bundle: `${env.dir}/att-keyless.json`,
      identity: TEST_IDENTITIES[0],
      issuer: env.url,
    };
    const keyedRequest = {
      artifact,
      bundle: `${env.dir}/att-keyed.json`,
      publicKey: `${env.dir}/cosign.pub`,
      tlogThreshold: 1,
    };
    for (const request of [keylessRequest, keyedRequest]) {
      assert.equal(await oracle(env, request), "OK");
      assert.match(
        await oracle(env, { ...request, bundle: await flipSignature(request.bundle) }),
        /^FAIL: (?!TIMESTAMP)/,
      );
    }
  });
}
