/**
 * Cold start: a fresh `deno run` of `dcosign version` and `dcosign verify --help` beside a
 * `deno run` of an empty module, in the same run (target: within 2x of the empty run).
 *
 *   deno bench -A bench/cold_start_bench.ts
 */

import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const empty = await Deno.makeTempFile({ suffix: ".ts" });

async function run(args: string[]): Promise<void> {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: root,
    stdout: "null",
    stderr: "null",
  }).output();
  if (code !== 0) throw new Error(`deno run ${args.join(" ")} exited ${code}`);
}

Deno.bench({
  name: "deno run of an empty module",
  group: "cold start",
  baseline: true,
  n: 30,
  async fn() {
    await run([empty]);
  },
});
Deno.bench({
  name: "dcosign version",
  group: "cold start",
  n: 30,
  async fn() {
    await run([`${root}main.ts`, "version"]);
  },
});
Deno.bench({
  name: "dcosign verify --help",
  group: "cold start",
  n: 30,
  async fn() {
    await run([`${root}main.ts`, "verify", "--help"]);
  },
});

globalThis.addEventListener("unload", () => Deno.removeSync(empty));
