/**
 * Rekor v2 end to end through the CLI on the embedded stack: with the stack's
 * `signing_config_rekor_v2.json` (its Rekor v2 log first, as the public instance's file lists
 * log2025-1), `sign-blob` and `sign` log a hashedrekord 0.0.2 entry in the v2 log with an RFC
 * 3161 timestamp, and `verify-blob` / `verify` accept it; a changed blob, a flipped body byte,
 * a missing timestamp or trust that does not name the log are refused. Keyless signing without a
 * TSA and legacy signatures are refused before anything is logged, `--rekor-url` still means
 * Rekor v1, and the stack keeps the v2 log, its key and its log ID across a restart. Signing
 * the same content twice (a deterministic RSA signature) gets the logged entry back from the
 * log's 409, rebuilt from its tiles. The library's `sign()` selects Rekor v2 with
 * `rekorVersion: 2` the same way.
 */

import assert from "node:assert/strict";
import { fromBase64, toBase64 } from "../../lib/util/bytes.ts";
import { parseBundle } from "../../lib/bundle/model.ts";
import {
  encodeTrustedRoot,
  parseTrustedRoot,
  type TrustedRoot,
} from "../../lib/trust/trusted_root.ts";
import {
  encodeSigningConfig,
  parseSigningConfig,
  type SigningConfig,
} from "../../lib/trust/signing_config.ts";
import { generateKeyPair } from "../../lib/keys/private_key.ts";
import { sign, verify } from "../../mod.ts";
import { startStack } from "../../server/mod.ts";
import { type ImageEnv, openImageEnv, TEST_IDENTITIES } from "./_image_env.ts";
import { rsaPrivateKeyPem, tempDir } from "../_support.ts";

const EMAIL = TEST_IDENTITIES[0];

async function writeConfig(env: ImageEnv, name: string, config: SigningConfig): Promise<string> {
  const path = `${env.dir}/${name}`;
  await Deno.writeTextFile(path, JSON.stringify(encodeSigningConfig(config)));
  return path;
}

async function writeRoot(env: ImageEnv, name: string, root: TrustedRoot): Promise<string> {
  const path = `${env.dir}/${name}`;
  await Deno.writeTextFile(path, JSON.stringify(encodeTrustedRoot(root)));
  return path;
}

/** The v2 log's base URL and the stack's v2 signing config, written beside the other files. */
async function rekorV2(env: ImageEnv): Promise<{ url: string; config: string }> {
  const url = env.trust.signingConfigRekorV2.rekorTlogUrls[0]!.url;
  assert.match(url, /\/rekor-v2$/);
  return {
    url,
    config: await writeConfig(env, "signing_config_rekor_v2.json", env.trust.signingConfigRekorV2),
  };
}

function identity(env: ImageEnv): string[] {
  return ["--certificate-identity", EMAIL, "--certificate-oidc-issuer", env.url];
}

function assertOk(result: { code: number; stderr: string }) {
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /Verified OK/);
}

function assertFails(result: { code: number; stderr: string }, reason: RegExp) {
  assert.notEqual(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /Verified OK/);
  assert.match(result.stderr, reason);
}

Deno.test("sign-blob keyless through the Rekor v2 signing config logs a hashedrekord 0.0.2 entry with a TSA timestamp; verify-blob accepts it and refuses tampering", async () => {
  await using env = await openImageEnv("in-process");
  const v2 = await rekorV2(env);
  await Deno.writeTextFile(`${env.dir}/app.txt`, "release for rekor v2\n");
  const signed = await env.run([
    "sign-blob",
    "--signing-config",
    v2.config,
    "--trusted-root",
    env.trustedRoot,
    "--identity-token",
    await env.idToken(),
    "--yes",
    "--bundle",
    "app.json",
    "app.txt",
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(signed.stderr, /tlog entry created with index: 0/);
  assert.equal(env.services.rekorV2.size, 1n);
  assert.equal(env.services.log.size, 0n, "nothing went to the Rekor v1 log");

  const text = await Deno.readTextFile(`${env.dir}/app.json`);
  const bundle = parseBundle(text);
  const [entry] = bundle.verificationMaterial.tlogEntries;
  assert.deepEqual(entry?.kindVersion, { kind: "hashedrekord", version: "0.0.2" });
  assert.equal(entry?.integratedTime, 0n);
  assert.equal(entry?.inclusionPromise, undefined);
  assert.deepEqual(entry?.logId, env.services.rekorV2.logId);
  assert.equal(bundle.verificationMaterial.rfc3161Timestamps.length, 1);

  const verify = ["verify-blob", "--trusted-root", env.trustedRoot, ...identity(env)];
  assertOk(await env.run([...verify, "--bundle", "app.json", "app.txt"]));

  await Deno.writeTextFile(`${env.dir}/other.txt`, "another release\n");
  assertFails(await env.run([...verify, "--bundle", "app.json", "other.txt"]), /VERIFY_/);

  const json = JSON.parse(text);
  const body = fromBase64(json.verificationMaterial.tlogEntries[0].canonicalizedBody);
  body[body.length - 10]! ^= 1;
  json.verificationMaterial.tlogEntries[0].canonicalizedBody = toBase64(body);
  await Deno.writeTextFile(`${env.dir}/flipped.json`, JSON.stringify(json));
  assertFails(await env.run([...verify, "--bundle", "flipped.json", "app.txt"]), /REKOR_|VERIFY_/);

  // Without the timestamp nothing dates the signature: Rekor v2 states no time.
  const untimed = JSON.parse(text);
  delete untimed.verificationMaterial.timestampVerificationData;
  await Deno.writeTextFile(`${env.dir}/untimed.json`, JSON.stringify(untimed));
  assertFails(
    await env.run([...verify, "--bundle", "untimed.json", "app.txt"]),
    /VERIFY_NO_TRUSTED_TIME/,
  );
});

Deno.test("sign-blob --key through Rekor v2: verify-blob --key accepts it, and a trusted root without the v2 log refuses it", async () => {
  await using env = await openImageEnv("in-process");
  const v2 = await rekorV2(env);
  await Deno.writeTextFile(`${env.dir}/tool.bin`, "binary\n");
  const signed = await env.run([
    "sign-blob",
    "--key",
    "cosign.key",
    "--signing-config",
    v2.config,
    "--trusted-root",
    env.trustedRoot,
    "--bundle",
    "tool.json",
    "tool.bin",
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const verify = ["verify-blob", "--key", "cosign.pub", "--bundle", "tool.json"];
  assertOk(await env.run([...verify, "--trusted-root", env.trustedRoot, "tool.bin"]));
  const root = env.trust.trustedRoot;
  const withoutV2 = await writeRoot(env, "v1_only.json", {
    ...root,
    tlogs: root.tlogs.filter((l) => l.baseUrl !== v2.url),
  });
  assertFails(
    await env.run([...verify, "--trusted-root", withoutV2, "tool.bin"]),
    /REKOR_UNKNOWN_LOG/,
  );
});

Deno.test("sign-blob twice with an RSA key through Rekor v2: the repeated (deterministic PKCS#1 v1.5) signature is already logged (409), and the second bundle carries that same entry", async () => {
  await using env = await openImageEnv("in-process");
  const v2 = await rekorV2(env);
  await Deno.writeTextFile(`${env.dir}/rsa.pem`, await rsaPrivateKeyPem());
  const imported = await env.run(["import-key-pair", "--key", "rsa.pem", "-o", "rsa"]);
  assert.equal(imported.code, 0, imported.stderr);
  await Deno.writeTextFile(`${env.dir}/same.txt`, "signed twice, logged once\n");
  const signTo = (bundle: string) =>
    env.run([
      "sign-blob",
      "--key",
      "rsa.key",
      "--signing-config",
      v2.config,
      "--trusted-root",
      env.trustedRoot,
      "--bundle",
      bundle,
      "same.txt",
    ]);
  for (const bundle of ["first.json", "second.json"]) {
    const signed = await signTo(bundle);
    assert.equal(signed.code, 0, `${bundle}: ${signed.stderr}`);
  }
  const read = async (name: string) => parseBundle(await Deno.readFile(`${env.dir}/${name}`));
  const [first, second] = [await read("first.json"), await read("second.json")];
  const [a, b] = [
    first.verificationMaterial.tlogEntries[0]!,
    second.verificationMaterial.tlogEntries[0]!,
  ];
  assert.deepEqual(b.kindVersion, { kind: "hashedrekord", version: "0.0.2" });
  assert.equal(b.logIndex, a.logIndex, "the entry the log already held");
  assert.equal(env.services.rekorV2.size, 1n, "logged once");
  assert.deepEqual(b.canonicalizedBody, a.canonicalizedBody);
  assert.ok(b.inclusionProof!.treeSize >= a.inclusionProof!.treeSize);
  for (const bundle of ["first.json", "second.json"]) {
    assertOk(
      await env.run([
        "verify-blob",
        "--key",
        "rsa.pub",
        "--bundle",
        bundle,
        "--trusted-root",
        env.trustedRoot,
        "same.txt",
      ]),
    );
  }
});

Deno.test("sign (image) keyless through Rekor v2 stores a bundle whose v2 entry verify accepts; trust with another v2 key refuses it", async () => {
  await using env = await openImageEnv("in-process");
  const v2 = await rekorV2(env);
  const image = await env.push("rekor-v2/app");
  const signed = await env.run([
    "sign",
    "--signing-config",
    v2.config,
    "--trusted-root",
    env.trustedRoot,
    "--identity-token",
    await env.idToken(),
    "--yes",
    image.reference,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  assert.equal(env.services.rekorV2.size, 1n);
  assert.equal(env.services.log.size, 0n);
  // cosign v3 signs images as DSSE: on Rekor v2 the envelope is a hashedrekord over its PAE.
  const logged = (await env.services.rekorV2.entry(0n))!;
  assert.equal(logged.kindVersion.kind, "hashedrekord");

  const verify = ["verify", ...identity(env)];
  const ok = await env.run([...verify, "--trusted-root", env.trustedRoot, image.reference]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /inclusion proof was verified/);

  // The same log ID with another key: the checkpoint no longer verifies.
  const other = await generateKeyPair({ kind: "ed25519" });
  const root = env.trust.trustedRoot;
  const swapped = await writeRoot(env, "swapped.json", {
    ...root,
    tlogs: root.tlogs.map((l) => (l.baseUrl === v2.url ? { ...l, key: other.publicKey } : l)),
  });
  const refused = await env.run([...verify, "--trusted-root", swapped, image.reference]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /REKOR_CHECKPOINT_INVALID|no signature|does not verify/);
});

Deno.test("Rekor v2 refusals: keyless without a TSA, legacy signatures, a trusted root that does not name the log; --rekor-url means Rekor v1", async () => {
  await using env = await openImageEnv("in-process");
  const v2 = await rekorV2(env);
  const noTsa = await writeConfig(env, "v2_no_tsa.json", {
    ...env.trust.signingConfigRekorV2,
    tsaUrls: [],
  });
  const image = await env.push("rekor-v2/refused");
  const keyless = async (config: string, extra: string[] = []) =>
    await env.run([
      "sign",
      "--signing-config",
      config,
      "--trusted-root",
      env.trustedRoot,
      "--identity-token",
      await env.idToken(),
      "--yes",
      ...extra,
      image.reference,
    ]);
  const untimed = await keyless(noTsa);
  assert.notEqual(untimed.code, 0);
  assert.match(untimed.stderr, /REKOR_TIMESTAMP_REQUIRED|timestamp authority/);
  assert.equal(
    untimed.stderr.trim().split("\n").filter((l) => /timestamp authority/.test(l)).length,
    1,
  );

  const legacy = await keyless(v2.config, ["--new-bundle-format=false"]);
  assert.notEqual(legacy.code, 0);
  assert.match(legacy.stderr, /Rekor v2/);
  assert.equal(env.services.rekorV2.size, 0n, "nothing was logged for refused signatures");

  const root = env.trust.trustedRoot;
  const withoutV2 = await writeRoot(env, "v1_only.json", {
    ...root,
    tlogs: root.tlogs.filter((l) => l.baseUrl !== v2.url),
  });
  const unknown = await env.run([
    "sign",
    "--key",
    "cosign.key",
    "--signing-config",
    v2.config,
    "--trusted-root",
    withoutV2,
    image.reference,
  ]);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /not in the trusted root/);

  // An explicit --rekor-url is a Rekor v1, whatever the signing config lists.
  const v1 = await keyless(v2.config, ["--rekor-url", env.url]);
  assert.equal(v1.code, 0, v1.stderr);
  assert.equal(env.services.log.size, 1n);
  assert.equal(env.services.rekorV2.size, 0n);
});

Deno.test("dcosign serve's stack writes signing_config_rekor_v2.json and keeps the v2 log, its key and log ID across a restart on another port", async () => {
  await using dir = await tempDir();
  const dataDir = `${dir.path}/data`;
  const readyFile = `${dir.path}/ready.json`;
  let logId: string;
  let url: string;
  {
    await using stack = await startStack({ dataDir, readyFile });
    const ready = JSON.parse(await Deno.readTextFile(readyFile));
    assert.equal(ready.rekorV2, `${stack.url}/rekor-v2`);
    url = stack.url;
    const config = parseSigningConfig(await Deno.readTextFile(ready.signingConfigRekorV2));
    assert.deepEqual(config.rekorTlogUrls.map((s) => [s.url, s.majorApiVersion]), [
      [ready.rekorV2, 2],
      [stack.url, 1],
    ]);
    const plain = parseSigningConfig(await Deno.readTextFile(ready.signingConfig));
    assert.deepEqual(
      plain.rekorTlogUrls.map((s) => s.majorApiVersion),
      [1],
      "v1 stays the default",
    );
    const root = parseTrustedRoot(await Deno.readTextFile(ready.trustedRoot));
    const v2 = root.tlogs.find((l) => l.baseUrl === ready.rekorV2)!;
    assert.equal(v2.keyDetails, "PKIX_ED25519");
    logId = toBase64(v2.logId);
    const key = await generateKeyPair();
    const digest = new Uint8Array(32).fill(1);
    const response = await fetch(`${ready.rekorV2}/api/v2/log/entries`, {
      method: "POST",
      body: JSON.stringify({
        hashedRekordRequestV002: {
          digest: toBase64(digest),
          signature: {
            content: toBase64(key.signPrehashed(digest, "sha256")),
            verifier: {
              publicKey: { rawBytes: toBase64(key.publicKey.spki) },
              keyDetails: "PKIX_ECDSA_P256_SHA_256",
            },
          },
        },
      }),
    });
    assert.equal(response.status, 201);
    await response.body?.cancel();
  }
  {
    await using stack = await startStack({ dataDir, readyFile });
    assert.notEqual(stack.url, url, "another port");
    const v2 = stack.trust.trustedRoot.tlogs.find((l) => l.baseUrl.endsWith("/rekor-v2"))!;
    assert.equal(toBase64(v2.logId), logId, "the log ID does not depend on the port");
    assert.equal(stack.services.rekorV2.size, 1n);
    const checkpoint = await fetch(`${stack.url}/rekor-v2/checkpoint`);
    assert.match(await checkpoint.text(), /^127\.0\.0\.1\n1\n/);
  }
});

Deno.test("the library's sign() with rekorVersion 2 logs in Rekor v2 and verify() accepts it; without a TSA keyless sign() is refused", async () => {
  await using env = await openImageEnv("socket");
  const stack = env.stack!;
  const image = await env.push("rekor-v2/library");
  const trustedRoot = stack.trust.trustedRoot;
  const keyless = { token: await env.idToken(), fulcioUrl: stack.url, trustedRoot };
  const rekor = { rekorUrl: stack.ready.rekorV2!, rekorVersion: 2 as const };
  await assert.rejects(
    sign(image.reference, { keyless, ...rekor }),
    (error: unknown) => error instanceof Error && /timestamp authority/.test(error.message),
  );
  assert.equal(stack.services.rekorV2.size, 0n);
  const [signature] = await sign(image.reference, { keyless, ...rekor, tsaUrl: stack.ready.tsa! });
  assert.equal(signature?.format, "bundle");
  assert.equal(stack.services.rekorV2.size, 1n);
  const result = await verify(image.reference, {
    trustedRoot,
    identities: [{ subject: EMAIL, issuer: stack.url }],
  });
  assert.equal(result.signatures.length, 1);
});
