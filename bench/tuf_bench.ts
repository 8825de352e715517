/**
 * Trust through TUF at cold start: a fresh `dcosign verify-blob` process verifying a
 * public-good bundle (sigstore-conformance `happy-path-v0.3`) with the trusted root read from a
 * warm TUF cache (no flag), beside the same with `--trusted-root FILE`, in one run (target:
 * under 1.2x). The cache is initialized once from the real public-good TUF repository
 * (../shared/interop/tuf/sigstore-public-good) served on 127.0.0.1, which is then shut down:
 * a verify that asked the network would fail. Both sides run at the corpus's valid date
 * through the `DCOSIGN_NOW` test hook.
 *
 *   deno bench -A bench/tuf_bench.ts
 */

import { fileURLToPath } from "node:url";
import { serveStaticMirror } from "../tests/integration/_tuf_static.ts";
import { interopPath } from "../tests/_support.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const cases = interopPath("conformance/test/assets/bundle-verify");
const productionRoot = interopPath("conformance/extra/production-trusted_root.json");
const tufRoot = await Deno.makeTempDir({ prefix: "dcosign-bench-tuf-" });
const env = { TUF_ROOT: tufRoot, DCOSIGN_NOW: "2026-08-25T00:00:00Z", NO_COLOR: "1" };

async function dcosign(args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}main.ts`, ...args],
    cwd: root,
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`dcosign ${args[0]} exited ${code}: ${new TextDecoder().decode(stderr)}`);
  }
}

{
  await using mirror = serveStaticMirror(interopPath("tuf/sigstore-public-good"));
  await dcosign([
    "initialize",
    "--mirror",
    mirror.url,
    "--root",
    interopPath("tuf/sigstore-public-good/1.root.json"),
  ]);
}

const verify = [
  "verify-blob",
  "--bundle",
  `${cases}/happy-path-v0.3/bundle.sigstore.json`,
  "--certificate-identity",
  "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
  "--certificate-oidc-issuer",
  "https://token.actions.githubusercontent.com",
];

Deno.bench({
  name: "verify-blob --trusted-root FILE",
  group: "cold verify-blob",
  baseline: true,
  n: 30,
  async fn() {
    await dcosign([...verify, "--trusted-root", productionRoot, `${cases}/a.txt`]);
  },
});
Deno.bench({
  name: "verify-blob, trusted root from the warm TUF cache",
  group: "cold verify-blob",
  n: 30,
  async fn() {
    await dcosign([...verify, `${cases}/a.txt`]);
  },
});

globalThis.addEventListener("unload", () => Deno.removeSync(tufRoot, { recursive: true }));
