/**
 * `deno task test`: the whole test suite, as the README and CI run it.
 *
 * Installs the Node-side interop oracle (sigstore-js, tests/interop/node) when Node is present,
 * runs every test under tests/ plus the documentation examples, writes a JUnit report to
 * .test-report/junit.xml, and ends with one line: `N passed, N failed`.
 *
 * Usage: deno task test [-- deno test args, e.g. tests/unit/]
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const report = `${root}.test-report/junit.xml`;

async function run(cmd: string, args: string[], options: { cwd?: string } = {}) {
  const child = new Deno.Command(cmd, {
    args,
    cwd: options.cwd ?? root,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}

async function hasCommand(cmd: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(cmd, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return success;
  } catch {
    return false;
  }
}

// The Node oracle (sigstore-js verifies our bundles): install it once, from its lock file.
const oracle = `${root}tests/interop/node`;
try {
  Deno.statSync(`${oracle}/package.json`);
  let installed = false;
  try {
    Deno.statSync(`${oracle}/node_modules/@sigstore/verify/package.json`);
    installed = true;
  } catch {
    // not installed yet
  }
  if (!installed && await hasCommand("npm")) {
    console.log("Installing the sigstore-js oracle (tests/interop/node) ...");
    const code = await run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: oracle,
    });
    if (code !== 0) console.log("npm ci for the sigstore-js oracle failed: its suite will say so");
  }
} catch {
  // no oracle package in this checkout
}

await Deno.mkdir(`${root}.test-report`, { recursive: true });
const extra = Deno.args.length > 0 ? Deno.args : ["tests/"];
const code = await run(Deno.execPath(), [
  "test",
  "-A",
  "--parallel",
  `--junit-path=${report}`,
  ...extra,
]);

let summary = "0 passed, 0 failed";
try {
  const xml = await Deno.readTextFile(report);
  const cases = [...xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)];
  let passed = 0;
  let failed = 0;
  for (const match of cases) {
    const body = match[2] ?? "";
    if (/<failure\b|<error\b/.test(body)) failed++;
    else if (!/<skipped\b/.test(body)) passed++;
  }
  summary = `${passed} passed, ${failed} failed`;
} catch {
  summary = "0 passed, 1 failed (no JUnit report was written)";
}
console.log(summary);
Deno.exit(code);
