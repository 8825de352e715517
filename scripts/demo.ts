/**
 * `deno task demo`: the story of dcosign on the embedded stack, told by running the real CLI.
 *
 * It starts `dcosign serve` (registry, transparency log, CA, OIDC issuer, TSA as they exist),
 * builds and pushes a small image, then signs and verifies it, and shows a tampered signature
 * being caught. Every step states what it expects; the demo exits 0 only if each step behaved
 * as shown.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { RegistryClient } from "../lib/oci.ts";
import { buildExampleImage } from "../lib/_example_image.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const work = await Deno.makeTempDir({ prefix: "dcosign-demo-" });
const color = Deno.stdout.isTerminal() && Deno.env.get("NO_COLOR") === undefined;
const paint = (code: number, text: string) => color ? `\x1b[${code}m${text}\x1b[0m` : text;
const encoder = new TextEncoder();
const say = (text: string) => Deno.stdout.writeSync(encoder.encode(`${text}\n`));

let failures = 0;

/** Run `dcosign ARGS` in the work directory; check its exit code against `expect`. */
async function dcosign(
  title: string,
  args: string[],
  expect: { code: number; stdout?: RegExp; stderr?: RegExp },
): Promise<{ stdout: string; stderr: string }> {
  say(`\n${paint(1, `▶ ${title}`)}`);
  say(paint(2, `  $ dcosign ${args.join(" ")}`));
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}main.ts`, ...args],
    cwd: work,
    env: { COSIGN_PASSWORD: "demo-password", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  const err = new TextDecoder().decode(stderr);
  for (const line of err.trim().split("\n").filter(Boolean)) say(`  ${line}`);
  for (const line of out.trim().split("\n").filter(Boolean)) {
    say(`  ${line.length > 160 ? `${line.slice(0, 157)}...` : line}`);
  }
  const ok = code === expect.code && (!expect.stdout || expect.stdout.test(out)) &&
    (!expect.stderr || expect.stderr.test(err));
  if (ok) {
    say(paint(32, `  ✔ exit ${code}, as expected`));
  } else {
    failures++;
    say(paint(31, `  ✘ expected exit ${expect.code}, got ${code}`));
  }
  return { stdout: out, stderr: err };
}

say(paint(1, "dcosign demo: sign and verify a container image, offline"));
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
  let ready: { registry: string } | undefined;
  for (let i = 0; i < 200 && !ready; i++) {
    try {
      ready = JSON.parse(await Deno.readTextFile(readyFile));
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  if (!ready) throw new Error("dcosign serve did not become ready");
  say(`\nThe embedded stack is up: registry at ${ready.registry}`);

  const image = await buildExampleImage(new RegistryClient(), `${ready.registry}/demo/hello`);
  say(`Pushed a small image: ${image.reference} (${image.digest})`);

  await dcosign("Generate a key pair (encrypted with COSIGN_PASSWORD)", ["generate-key-pair"], {
    code: 0,
  });
  await dcosign(
    "Sign the image with the key (legacy .sig tag, no transparency log)",
    [
      "sign",
      "--key",
      "cosign.key",
      "--tlog-upload=false",
      "--new-bundle-format=false",
      "-a",
      "stage=demo",
      image.reference,
    ],
    { code: 0, stderr: /Pushing signature/ },
  );
  await dcosign(
    "Sign it again, as cosign v3 does by default: a Sigstore bundle stored as an OCI referrer",
    ["sign", "--key", "cosign.key", "--tlog-upload=false", image.reference],
    { code: 0, stderr: /Pushing signature/ },
  );
  await dcosign(
    "Verify both signatures with the public key",
    ["verify", "--key", "cosign.pub", "--insecure-ignore-tlog", "-o", "json", image.reference],
    { code: 0, stdout: /docker-manifest-digest/ },
  );
  await dcosign("An attacker signs with their own key ...", [
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
    "... and pushes a different image with their signature",
    [
      "sign",
      "--key",
      "attacker.key",
      "--tlog-upload=false",
      "--new-bundle-format=false",
      tampered.reference,
    ],
    { code: 0 },
  );
  await dcosign(
    "Verifying it with our key fails: no matching signature (exit 12)",
    ["verify", "--key", "cosign.pub", "--insecure-ignore-tlog", tampered.reference],
    { code: 12, stderr: /does not verify with the given key/ },
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
