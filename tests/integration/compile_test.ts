/**
 * `deno task compile` (scripts/compile.ts): honours `DENORT_BIN`, and without a runtime fails
 * with one line saying what is missing (this machine cannot download denort).
 */

import assert from "node:assert/strict";
import { REPO_ROOT, tempDir } from "../_support.ts";

async function compile(args: string[], env: Record<string, string>) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO_ROOT}scripts/compile.ts`, ...args],
    cwd: REPO_ROOT,
    // An unreachable proxy: the denort download fails fast even where the network is open.
    env: {
      NO_COLOR: "1",
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      ...env,
    },
    clearEnv: false,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, stdout: decode(stdout), stderr: decode(stderr) };
}

Deno.test("compile without a denort runtime fails with one line naming DENORT_BIN", async () => {
  await using out = await tempDir();
  const result = await compile(["--target", "x86_64-unknown-linux-gnu", "--out", out.path], {
    DENORT_BIN: "",
  });
  assert.equal(result.code, 1);
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, result.stderr);
  assert.match(
    lines[0]!,
    /^Error: Cannot compile for x86_64-unknown-linux-gnu: no denort runtime.*DENORT_BIN/,
  );
});

Deno.test("compile refuses a DENORT_BIN that is not a file, and unknown targets", async () => {
  const missing = await compile(["--target", "x86_64-unknown-linux-gnu"], {
    DENORT_BIN: "/nonexistent/denort",
  });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /DENORT_BIN="\/nonexistent\/denort" is not a readable file/);
  const target = await compile(["--target", "sparc-sun-solaris"], { DENORT_BIN: "" });
  assert.equal(target.code, 1);
  assert.match(target.stderr, /Unknown target "sparc-sun-solaris"/);
});

Deno.test("compile uses the runtime DENORT_BIN names and stamps the build", async () => {
  await using out = await tempDir();
  // The deno binary stands in for denort: it proves the runtime is taken from DENORT_BIN.
  const result = await compile(["--target", "x86_64-unknown-linux-gnu", "--out", out.path], {
    DENORT_BIN: Deno.execPath(),
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /Built .*dcosign-x86_64-unknown-linux-gnu \(0\.1\.0 x86_64-unknown-linux-gnu \d{4}-\d{2}-\d{2}\)/,
  );
  const info = await Deno.stat(`${out.path}/dcosign-x86_64-unknown-linux-gnu`);
  assert.ok(info.size > 1_000_000);
});
