/**
 * `deno task demo`: the story of dcosign on the embedded stack, told by running the real CLI.
 *
 * It starts `dcosign serve` (registry, Rekor, Fulcio, OIDC issuer, TSA, TUF), trusts it through
 * TUF (`dcosign initialize`, so no later command names a trusted root, a signing config or a
 * service URL), builds and pushes a small image, then: signs it with a key (recorded in the transparency log) and verifies it
 * offline; signs it keyless with the stack's OIDC identity and verifies that identity; attests
 * its provenance and verifies the attestation; signs and verifies a blob; and shows tampering
 * and the wrong identity being caught. Every step states what it expects; the demo exits 0 only
 * if each step behaved as shown.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { buildExampleImage } from "../lib/oci/example_image.ts";
import { RegistryClient } from "../lib/oci/client.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const work = await Deno.makeTempDir({ prefix: "dcosign-demo-" });
const color = Deno.stdout.isTerminal() && Deno.env.get("NO_COLOR") === undefined;
const paint = (code: number, text: string) => color ? `\x1b[${code}m${text}\x1b[0m` : text;
const encoder = new TextEncoder();
const say = (text: string) => Deno.stdout.writeSync(encoder.encode(`${text}\n`));

let failures = 0;
/** Values never printed whole (the identity token): each is shown as its name. */
const secrets = new Map<string, string>();
const hide = (text: string) =>
  [...secrets].reduce((shown, [value, name]) => shown.replaceAll(value, name), text);

/** Run `dcosign ARGS` in the work directory; check its exit code against `expect`. */
async function dcosign(
  title: string,
  args: string[],
  expect: { code: number; stdout?: RegExp; stderr?: RegExp; shown?: string[] },
): Promise<{ stdout: string; stderr: string }> {
  say(`\n${paint(1, `▶ ${title}`)}`);
  say(paint(2, `  $ dcosign ${hide((expect.shown ?? args).join(" "))}`));
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}main.ts`, ...args],
    cwd: work,
    // A TUF cache of the demo's own: `initialize` below trusts the stack there.
    env: { COSIGN_PASSWORD: "demo-password", NO_COLOR: "1", TUF_ROOT: `${work}/tuf` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  const err = new TextDecoder().decode(stderr);
  for (const line of hide(err).trim().split("\n").filter(Boolean)) say(`  ${line}`);
  for (const line of hide(out).trim().split("\n").filter(Boolean)) {
    say(`  ${line.length > 160 ? `${line.slice(0, 157)}...` : line}`);
  }
  const ok = code === expect.code && (!expect.stdout || expect.stdout.test(out)) &&
    (!expect.stderr || expect.stderr.test(err));
  if (ok) {
    say(paint(32, `  ✔ exit ${code}, as expected`));
  } else {
    failures++;
    say(
      paint(
        31,
        `  ✘ expected exit ${expect.code}${
          expect.stderr ? ` and ${expect.stderr}` : ""
        }, got ${code}`,
      ),
    );
  }
  return { stdout: out, stderr: err };
}

say(paint(1, "dcosign demo: sign and verify a container image, with a key and keyless, offline"));
const readyFile = `${work}/ready.json`;
const serve = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    `${root}main.ts`,
    "serve",
    "--data-dir",
    `${work}/stack`,
    "--ready-file",
    readyFile,
  ],
  stdout: "null",
  stderr: "piped",
}).spawn();
try {
  let ready: Record<string, string> | undefined;
  for (let i = 0; i < 300 && !ready; i++) {
    try {
      ready = JSON.parse(await Deno.readTextFile(readyFile));
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  if (!ready) throw new Error("dcosign serve did not become ready");
  const url = `http://${ready.registry}`;
  say(`\nThe embedded stack is up at ${url}: registry, Rekor, Fulcio, OIDC issuer, TSA and TUF.`);
  say(`Its TUF repository: ${ready.tufMirror}, first root ${ready.tufRoot}`);

  // 0. Trust, as cosign users trust the public instance: through TUF, once.
  await dcosign(
    "Trust the stack through TUF: later commands need no --trusted-root, --signing-config or URL flag",
    ["initialize", "--mirror", ready.tufMirror!, "--root", ready.tufRoot!],
    {
      code: 0,
      stderr: /trusted_root\.json, signing_config\.v0\.2\.json/,
      shown: ["initialize", "--mirror", "$tufMirror", "--root", "$tufRoot"],
    },
  );

  const image = await buildExampleImage(new RegistryClient(), `${ready.registry}/demo/hello`);
  say(`Pushed a small image: ${image.reference} (${image.digest})`);

  // 1. Keys.
  await dcosign("Generate a key pair (encrypted with COSIGN_PASSWORD)", ["generate-key-pair"], {
    code: 0,
  });
  await dcosign(
    "Sign the image with the key; the signing config's transparency log records it",
    ["sign", "--key", "cosign.key", "-a", "stage=demo", image.reference],
    { code: 0, stderr: /tlog entry created with index/ },
  );
  await dcosign(
    "Verify it with the public key: signature, claims and the log entry, checked offline",
    [
      "verify",
      "--key",
      "cosign.pub",
      "-a",
      "stage=demo",
      image.reference,
    ],
    { code: 0, stdout: /docker-manifest-digest/, stderr: /transparency log was verified offline/ },
  );

  // 2. Keyless.
  const token = ready.idToken!;
  secrets.set(token, "$TOKEN");
  await dcosign(
    "Sign keyless: the stack's OIDC token buys a 10-minute Fulcio certificate for a fresh key",
    [
      "sign",
      "--identity-token",
      token,
      "--yes",
      image.reference,
    ],
    {
      code: 0,
      stderr: /Successfully verified the certificate for "signer@dcosign.test"/,
      shown: [
        "sign",
        "--identity-token",
        "$TOKEN",
        "--yes",
        image.reference,
      ],
    },
  );
  await dcosign(
    "Verify it by who signed: the certificate identity and the OIDC issuer",
    [
      "verify",
      "--certificate-identity",
      "signer@dcosign.test",
      "--certificate-oidc-issuer",
      url,
      image.reference,
    ],
    { code: 0, stderr: /identity and OIDC issuer matched/ },
  );

  // 3. An attestation.
  await Deno.writeTextFile(
    `${work}/provenance.json`,
    JSON.stringify({
      builder: { id: "https://ci.example/builder@v1" },
      buildType: "https://ci.example/build/v1",
      invocation: {
        configSource: { uri: "git+https://git.example/app", digest: { sha1: "1".repeat(40) } },
      },
    }),
  );
  await dcosign(
    "Attest the image's SLSA provenance (keyless, a DSSE envelope in a Sigstore bundle)",
    [
      "attest",
      "--type",
      "slsaprovenance",
      "--predicate",
      "provenance.json",
      "--identity-token",
      token,
      "--yes",
      image.reference,
    ],
    { code: 0 },
  );
  const identity = [
    "--certificate-identity",
    "signer@dcosign.test",
    "--certificate-oidc-issuer",
    url,
  ];
  await dcosign(
    "Verify the provenance attestation",
    [
      "verify-attestation",
      "--type",
      "slsaprovenance",
      ...identity,
      image.reference,
    ],
    { code: 0, stdout: /slsa\.dev\/provenance|payload/ },
  );
  await dcosign(
    "Ask for an SBOM attestation that does not exist: it fails, never passes vacuously",
    [
      "verify-attestation",
      "--type",
      "spdx",
      ...identity,
      image.reference,
    ],
    { code: 1, stderr: /No attestation of type "https:\/\/spdx\.dev\/Document"/ },
  );

  // 4. A blob.
  await Deno.writeTextFile(`${work}/release.txt`, "release 1.0\n");
  await dcosign(
    "Sign a file with the key: a Sigstore bundle, logged",
    [
      "sign-blob",
      "--key",
      "cosign.key",
      "--bundle",
      "release.sigstore.json",
      "release.txt",
    ],
    { code: 0 },
  );
  await dcosign(
    "Verify the file against its bundle",
    [
      "verify-blob",
      "--key",
      "cosign.pub",
      "--bundle",
      "release.sigstore.json",
      "release.txt",
    ],
    { code: 0, stderr: /Verified OK/ },
  );

  // 5. What gets caught.
  await dcosign("An attacker makes their own key ...", [
    "generate-key-pair",
    "--output-key-prefix",
    "attacker",
  ], { code: 0 });
  const tampered = await buildExampleImage(
    new RegistryClient(),
    `${ready.registry}/demo/hello:evil`,
    {
      message: "not what you think",
    },
  );
  await dcosign(
    "... and signs a different image under our repository",
    ["sign", "--key", "attacker.key", tampered.reference],
    { code: 0 },
  );
  await dcosign(
    "Verifying it with our key fails: no matching signature (exit 12)",
    ["verify", "--key", "cosign.pub", tampered.reference],
    { code: 12, stderr: /does not verify with the given key/ },
  );
  await dcosign(
    "A keyless signature checked against the wrong identity fails too",
    [
      "verify",
      "--certificate-identity",
      "someone-else@dcosign.test",
      "--certificate-oidc-issuer",
      url,
      image.reference,
    ],
    { code: 12, stderr: /does not match the expected identity/ },
  );
  await Deno.writeTextFile(`${work}/release.txt`, "release 1.0 (edited)\n");
  await dcosign(
    "An edited file no longer matches its bundle",
    [
      "verify-blob",
      "--key",
      "cosign.pub",
      "--bundle",
      "release.sigstore.json",
      "release.txt",
    ],
    { code: 1 },
  );
} catch (error) {
  failures++;
  say(paint(31, `\nThe demo stopped: ${error instanceof Error ? error.message : String(error)}`));
} finally {
  serve.kill("SIGTERM");
  await serve.status;
  await serve.stderr.cancel();
  await Deno.remove(work, { recursive: true }).catch(() => {});
}

if (failures > 0) {
  say(paint(31, `\n${failures} step(s) did not behave as shown`));
  Deno.exit(1);
}
say(paint(32, "\nEvery step behaved as shown."));
