import assert from "node:assert/strict";
import { decryptPrivateKey } from "../../lib/keys/key_file.ts";
import { PublicKey, verifySignature } from "../../lib/keys/public_key.ts";
import { utf8 } from "../../lib/util/bytes.ts";
import { dcosign } from "../_cli.ts";
import { INTEROP, interopPath, requireComponents, tempDir } from "../_support.ts";

Deno.test("generate-key-pair writes an encrypted key (0600) and its public key", async () => {
  await using dir = await tempDir();
  const result = await dcosign(["generate-key-pair"], {
    cwd: dir.path,
    env: { COSIGN_PASSWORD: "pw" },
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /Private key written to cosign.key/);
  const keyFile = await Deno.readTextFile(`${dir.path}/cosign.key`);
  assert.match(keyFile, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
  assert.equal((await Deno.stat(`${dir.path}/cosign.key`)).mode! & 0o777, 0o600);
  const key = await decryptPrivateKey(keyFile, "pw");
  const pub = PublicKey.fromPem(await Deno.readTextFile(`${dir.path}/cosign.pub`));
  assert.ok(pub.equals(key.publicKey));
  assert.equal(pub.kind, "ecdsa-p256");
  const signature = await key.sign(utf8("hello"));
  assert.ok(await verifySignature(pub, utf8("hello"), signature));
});

Deno.test("generate-key-pair takes the password from stdin when there is no terminal", async () => {
  await using dir = await tempDir();
  const result = await dcosign(["generate-key-pair", "--output-key-prefix", "k"], {
    cwd: dir.path,
    stdin: "from-stdin",
  });
  assert.equal(result.code, 0, result.stderr);
  await decryptPrivateKey(await Deno.readTextFile(`${dir.path}/k.key`), "from-stdin");
});

Deno.test("generate-key-pair asks twice on a terminal and refuses mismatched passwords", async () => {
  await using dir = await tempDir();
  const mismatch = await dcosign(["generate-key-pair"], { cwd: dir.path, prompts: ["a", "b"] });
  assert.equal(mismatch.code, 1);
  assert.match(mismatch.stderr, /Passwords do not match/);
  const ok = await dcosign(["generate-key-pair"], { cwd: dir.path, prompts: ["a", "a"] });
  assert.equal(ok.code, 0, ok.stderr);
});

Deno.test("generate-key-pair never overwrites an existing key without consent", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/cosign.key`, "precious");
  const result = await dcosign(["generate-key-pair"], {
    cwd: dir.path,
    env: { COSIGN_PASSWORD: "" },
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /already exists/);
  assert.equal(await Deno.readTextFile(`${dir.path}/cosign.key`), "precious");
});

Deno.test("public-key prints the public key; a wrong password fails with one line", async () => {
  await using dir = await tempDir();
  const env = { COSIGN_PASSWORD: "right" };
  assert.equal((await dcosign(["generate-key-pair"], { cwd: dir.path, env })).code, 0);
  const ok = await dcosign(["public-key", "--key", "cosign.key"], { cwd: dir.path, env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, await Deno.readTextFile(`${dir.path}/cosign.pub`));
  const wrong = await dcosign(["public-key", "--key", "cosign.key"], {
    cwd: dir.path,
    env: { COSIGN_PASSWORD: "wrong" },
  });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /wrong password/);
  assert.equal(wrong.stderr.trim().split("\n").length, 1);
});

Deno.test("public-key refuses a truncated key file and a missing file", async () => {
  await using dir = await tempDir();
  const env = { COSIGN_PASSWORD: "pw" };
  assert.equal((await dcosign(["generate-key-pair"], { cwd: dir.path, env })).code, 0);
  const text = await Deno.readTextFile(`${dir.path}/cosign.key`);
  await Deno.writeTextFile(`${dir.path}/cosign.key`, text.slice(0, text.length / 2));
  const truncated = await dcosign(["public-key", "--key", "cosign.key"], { cwd: dir.path, env });
  assert.equal(truncated.code, 1);
  assert.match(truncated.stderr, /KEY_MALFORMED/);
  const missing = await dcosign(["public-key", "--key", "nope.key"], { cwd: dir.path, env });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Cannot read key "nope.key"/);
});

Deno.test("public-key reads env:// references and refuses KMS references clearly", async () => {
  await using dir = await tempDir();
  const env = { COSIGN_PASSWORD: "pw" };
  assert.equal((await dcosign(["generate-key-pair"], { cwd: dir.path, env })).code, 0);
  const keyText = await Deno.readTextFile(`${dir.path}/cosign.key`);
  const viaEnv = await dcosign(["public-key", "--key", "env://MY_KEY"], {
    env: { ...env, MY_KEY: keyText },
  });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  const kms = await dcosign(["public-key", "--key", "awskms:///alias/x"], { env });
  assert.equal(kms.code, 1);
  assert.match(kms.stderr, /Unsupported key reference/);
});

if (requireComponents("import-key-pair with cosign's import fixtures", INTEROP)) {
  Deno.test("import-key-pair imports valid keys and refuses invalid ones with cosign's reasons", async () => {
    await using dir = await tempDir();
    const env = { COSIGN_PASSWORD: "pw" };
    for (const name of ["validrsa", "validecp256", "validecp384", "ed25519key"]) {
      const result = await dcosign([
        "import-key-pair",
        "--key",
        interopPath(`fixtures/cosign/keys/${name}.pem`),
        "-o",
        name,
      ], { cwd: dir.path, env });
      assert.equal(result.code, 0, `${name}: ${result.stderr}`);
      await decryptPrivateKey(await Deno.readTextFile(`${dir.path}/${name}.key`), "pw");
    }
    const refusals: Record<string, RegExp> = {
      invalidrsasmallkey: /key size not supported: 1024/,
      invalidecp224: /P-224 not allowed/,
      invalidkey: /invalid pem block/i,
    };
    for (const [name, reason] of Object.entries(refusals)) {
      const result = await dcosign([
        "import-key-pair",
        "--key",
        interopPath(`fixtures/cosign/keys/${name}.pem`),
      ], { cwd: dir.path, env });
      assert.equal(result.code, 1, name);
      assert.match(result.stderr, reason);
    }
  });
}
