/**
 * sigstore-js 4.x verifies our Rekor v2 bundles: `@sigstore/verify` 4.1.3 (tests/interop/node4,
 * under Node 20) reads what `sign-blob` and `attest-blob` write through the stack's
 * `signing_config_rekor_v2.json` (a hashedrekord 0.0.2 entry with a C2SP checkpoint, and the
 * TSA timestamp that dates it) with our trusted_root.json, keyless and with a key. A flipped
 * byte of the signature, of the checkpoint's signature, of the logged body or of a proof hash
 * is refused, all but the first by its transparency log checks, so the oracle is not a rubber
 * stamp.
 */

import assert from "node:assert/strict";
import { fromBase64, toBase64 } from "../../lib/util/bytes.ts";
import { encodeSigningConfig } from "../../lib/trust/signing_config.ts";
import { type ImageEnv, openImageEnv, TEST_IDENTITIES } from "../integration/_image_env.ts";
import { executable, exists, REPO_ROOT, requireComponents, rsaPrivateKeyPem } from "../_support.ts";

const NODE_DIR = `${REPO_ROOT}tests/interop/node4`;
const SIGSTORE_VERIFY_4 = {
  name: "@sigstore/verify 4.x in tests/interop/node4/node_modules",
  present: () => exists(`${NODE_DIR}/node_modules/@sigstore/verify/package.json`),
};

interface OracleRequest {
  readonly bundle: string;
  readonly artifact: string;
  readonly identity?: string;
  readonly issuer?: string;
  readonly publicKey?: string;
}

/** Run the sigstore-js 4.x oracle; its one output line: "OK" or "FAIL: <reason>". */
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

type Mutation = (bundle: {
  messageSignature?: { signature: string };
  dsseEnvelope?: { signatures: { sig: string }[] };
  verificationMaterial: {
    tlogEntries: {
      canonicalizedBody: string;
      inclusionProof: { hashes: string[]; checkpoint: { envelope: string } };
    }[];
  };
}) => void;

function flipBase64(text: string, at: number): string {
  const bytes = fromBase64(text);
  bytes[at < 0 ? bytes.length + at : at]! ^= 0x01;
  return toBase64(bytes);
}

const MUTATIONS: Readonly<Record<string, Mutation>> = {
  signature: (b) => {
    if (b.messageSignature) {
      b.messageSignature.signature = flipBase64(b.messageSignature.signature, -3);
    } else b.dsseEnvelope!.signatures[0]!.sig = flipBase64(b.dsseEnvelope!.signatures[0]!.sig, -3);
  },
  "proof hash": (b) => {
    const proof = b.verificationMaterial.tlogEntries[0]!.inclusionProof;
    proof.hashes[0] = flipBase64(proof.hashes[0]!, 0);
  },
  body: (b) => {
    const entry = b.verificationMaterial.tlogEntries[0]!;
    entry.canonicalizedBody = flipBase64(entry.canonicalizedBody, -20);
  },
  "checkpoint signature": (b) => {
    const proof = b.verificationMaterial.tlogEntries[0]!.inclusionProof;
    const note = proof.checkpoint.envelope;
    const line = note.lastIndexOf("\u2014 ");
    const space = note.indexOf(" ", line + 2);
    const blob = note.slice(space + 1, -1);
    proof.checkpoint.envelope = `${note.slice(0, space + 1)}${flipBase64(blob, -1)}\n`;
  },
};

/** A copy of the bundle with one byte flipped where `mutation` says. */
async function mutate(path: string, name: string): Promise<string> {
  const bundle = JSON.parse(await Deno.readTextFile(path));
  MUTATIONS[name]!(bundle);
  const out = path.replace(/\.json$/, `.${name.replaceAll(" ", "-")}.json`);
  await Deno.writeTextFile(out, JSON.stringify(bundle));
  return out;
}

/**
 * The oracle accepts the bundle and refuses each mutation. (It reads the root from the
 * checkpoint, not the proof's `rootHash`, so flipping that field alone proves nothing there.)
 */
async function expectVerifies(
  env: ImageEnv,
  request: OracleRequest,
  mutations = ["checkpoint signature", "body"],
) {
  assert.equal(await oracle(env, request), "OK");
  assert.match(
    await oracle(env, { ...request, bundle: await mutate(request.bundle, "signature") }),
    /^FAIL/,
  );
  for (const name of mutations) {
    const answer = await oracle(env, { ...request, bundle: await mutate(request.bundle, name) });
    assert.match(answer, /^FAIL: TLOG_/, `${name}: ${answer}`);
  }
}

/** The stack's Rekor v2 signing config, written beside its other files. */
async function rekorV2Config(env: ImageEnv): Promise<string> {
  const path = `${env.dir}/signing_config_rekor_v2.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify(encodeSigningConfig(env.trust.signingConfigRekorV2)),
  );
  return path;
}

if (
  requireComponents(
    "sigstore-js 4.x verifies our Rekor v2 bundles",
    executable("node"),
    SIGSTORE_VERIFY_4,
  )
) {
  Deno.test("sigstore-js 4.x verifies keyless and key-signed Rekor v2 sign-blob bundles, and refuses flipped bytes", async () => {
    await using env = await openImageEnv("socket");
    const config = await rekorV2Config(env);
    const artifact = `${env.dir}/release.txt`;
    await Deno.writeTextFile(artifact, "a release logged in Rekor v2\n");
    const v2 = ["--signing-config", config, "--trusted-root", env.trustedRoot];
    const keyless = await env.run([
      "sign-blob",
      ...v2,
      "--identity-token",
      await env.idToken(),
      "--yes",
      "--bundle",
      "keyless.json",
      artifact,
    ]);
    assert.equal(keyless.code, 0, keyless.stderr);
    const keyed = await env.run([
      "sign-blob",
      ...v2,
      "--key",
      "cosign.key",
      "--bundle",
      "keyed.json",
      artifact,
    ]);
    assert.equal(keyed.code, 0, keyed.stderr);
    assert.equal(env.services.rekorV2.size, 2n);
    const keylessBundle = JSON.parse(await Deno.readTextFile(`${env.dir}/keyless.json`));
    assert.equal(keylessBundle.verificationMaterial.tlogEntries[0].kindVersion.version, "0.0.2");

    await expectVerifies(env, {
      artifact,
      bundle: `${env.dir}/keyless.json`,
      identity: TEST_IDENTITIES[0],
      issuer: env.url,
    });
    assert.match(
      await oracle(env, {
        artifact,
        bundle: `${env.dir}/keyless.json`,
        identity: "someone@dcosign.test",
        issuer: env.url,
      }),
      /^FAIL/,
    );
    await expectVerifies(env, {
      artifact,
      bundle: `${env.dir}/keyed.json`,
      publicKey: `${env.dir}/cosign.pub`,
    }, ["checkpoint signature", "body", "proof hash"]); // entry 1 of 2: its proof has a hash
  });

  Deno.test("sigstore-js 4.x verifies the bundle of a repeated RSA signature, whose Rekor v2 entry came back from a 409 rebuilt from tiles", async () => {
    await using env = await openImageEnv("socket");
    const config = await rekorV2Config(env);
    const artifact = `${env.dir}/twice.txt`;
    await Deno.writeTextFile(artifact, "signed twice, logged once\n");
    await Deno.writeTextFile(`${env.dir}/rsa.pem`, await rsaPrivateKeyPem());
    const imported = await env.run(["import-key-pair", "--key", "rsa.pem", "-o", "rsa"]);
    assert.equal(imported.code, 0, imported.stderr);
    const v2 = ["--signing-config", config, "--trusted-root", env.trustedRoot];
    // Another entry first, so that the repeated one's proof has a hash to flip.
    for (
      const [key, bundle] of [["cosign.key", "other.json"], ["rsa.key", "first.json"], [
        "rsa.key",
        "again.json",
      ]]
    ) {
      const signed = await env.run([
        "sign-blob",
        ...v2,
        "--key",
        key!,
        "--bundle",
        bundle!,
        artifact,
      ]);
      assert.equal(signed.code, 0, signed.stderr);
    }
    assert.equal(env.services.rekorV2.size, 2n, "the repeated signature was logged once");
    await expectVerifies(env, {
      artifact,
      bundle: `${env.dir}/again.json`,
      publicKey: `${env.dir}/rsa.pub`,
    }, ["checkpoint signature", "body", "proof hash"]);
  });

  Deno.test("sigstore-js 4.x verifies a Rekor v2 attest-blob bundle (the envelope logged as a hashedrekord over its PAE)", async () => {
    await using env = await openImageEnv("socket");
    const config = await rekorV2Config(env);
    const artifact = `${env.dir}/release.tar`;
    await Deno.writeTextFile(artifact, "an attested release\n");
    await Deno.writeTextFile(
      `${env.dir}/prov.json`,
      JSON.stringify({ builder: { id: "https://ci.example" }, buildType: "x" }),
    );
    const attested = await env.run([
      "attest-blob",
      "--type",
      "slsaprovenance",
      "--predicate",
      "prov.json",
      "--signing-config",
      config,
      "--trusted-root",
      env.trustedRoot,
      "--identity-token",
      await env.idToken(),
      "--yes",
      "--bundle",
      "att.json",
      artifact,
    ]);
    assert.equal(attested.code, 0, attested.stderr);
    const bundle = JSON.parse(await Deno.readTextFile(`${env.dir}/att.json`));
    assert.deepEqual(bundle.verificationMaterial.tlogEntries[0].kindVersion, {
      kind: "hashedrekord",
      version: "0.0.2",
    });
    await expectVerifies(env, {
      artifact,
      bundle: `${env.dir}/att.json`,
      identity: TEST_IDENTITIES[0],
      issuer: env.url,
    });
  });
}
