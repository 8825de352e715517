/**
 * Cold start: fresh `deno run`s of `dcosign version` (target: <= 2x) and of a one-shot
 * `dcosign verify-blob` of a small file with a keyless bundle (Fulcio certificate, SCT, Rekor
 * entry with SET and inclusion proof; target: <= 4x), each paired round by round with a
 * `deno run` of an empty module (bench/_paired.ts). The bundle is made once at start on the
 * embedded stack and written with its trusted root to a temporary directory.
 *
 *   deno run -A bench/cold_start_bench.ts     (or deno bench -A bench/cold_start_bench.ts)
 */

import { fileURLToPath } from "node:url";
import { keylessIdentity } from "../lib/sign/witnesses.ts";
import { transparencyLogWitness } from "../lib/sign/witnesses.ts";
import { signBlob } from "../lib/sign/blob.ts";
import { serializeBundle } from "../lib/bundle/serialize.ts";
import { encodeTrustedRoot } from "../lib/trust/trusted_root.ts";
import { startStack } from "../server/mod.ts";
import { pairedRuns, printResult, timeRatioRow } from "./_paired.ts";

const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 15);
const root = fileURLToPath(new URL("../", import.meta.url));
const dir = await Deno.makeTempDir({ prefix: "dcosign-cold-start-" });
const empty = `${dir}/empty.ts`;
await Deno.writeTextFile(empty, "");

// One keyless bundle over a small file, as `sign-blob --bundle` writes it.
const stack = await startStack({ port: 0 });
const artifact = new TextEncoder().encode("hello, cold start\n");
await Deno.writeFile(`${dir}/artifact.txt`, artifact);
{
  const trustedRoot = stack.trust.trustedRoot;
  const { identity } = await keylessIdentity({
    token: stack.ready.idToken!,
    fulcioUrl: stack.url,
    trustedRoot,
  });
  const signed = await signBlob({ kind: "bytes", bytes: artifact }, {
    identity,
    services: { log: transparencyLogWitness(stack.url) },
  });
  await Deno.writeTextFile(`${dir}/bundle.json`, serializeBundle(signed.bundle));
  await Deno.writeTextFile(
    `${dir}/trusted_root.json`,
    JSON.stringify(encodeTrustedRoot(trustedRoot)),
  );
}
const verifyBlobArgs = [
  "verify-blob",
  "--bundle",
  `${dir}/bundle.json`,
  "--trusted-root",
  `${dir}/trusted_root.json`,
  "--certificate-identity",
  stack.ready.identity!,
  "--certificate-oidc-issuer",
  stack.ready.issuer!,
  `${dir}/artifact.txt`,
];
await stack.close();

async function run(args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: root,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `deno run ${args.join(" ")} exited ${code}: ${new TextDecoder().decode(stderr)}`,
    );
  }
}

const main = `${root}main.ts`;
const emptyRun = () => run([empty]);
try {
  const version = await pairedRuns(emptyRun, () => run([main, "version"]), { rounds: ROUNDS });
  const verifyBlob = await pairedRuns(emptyRun, () => run([main, ...verifyBlobArgs]), {
    rounds: ROUNDS,
  });
  printResult(timeRatioRow("cold start: dcosign version", "empty deno run", version, 2));
  printResult(
    timeRatioRow(
      "cold start: verify-blob (keyless bundle, small file)",
      "empty deno run",
      verifyBlob,
      4,
    ),
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
