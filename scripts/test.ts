/**
 * `deno task test`: the whole test suite, as the README and CI run it.
 *
 * Installs the Node-side interop oracles (sigstore-js 3.x in tests/interop/node, 4.x in
 * tests/interop/node4) when Node is present, runs every test under tests/ (JUnit report:
 * .test-report/junit.xml), then the documentation examples of the public API (`deno test
 * --doc`, report: .test-report/junit-doc.xml), and ends with one line summing both:
 * `N passed, N failed`.
 *
 * The examples that run are those of `mod.ts`, `server/mod.ts` and every file that declares a
 * function or class they export (found with `deno doc --json`), so a new export's examples run
 * without editing a list here. `tests/unit/doc_lint_test.ts` checks that each has one.
 *
 * Usage: deno task test [-- deno test args, e.g. tests/unit/]; with arguments only those tests
 * run, without the documentation examples.
 *
 * @module
 */

import { relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const report = `${root}.test-report/junit.xml`;
const docReport = `${root}.test-report/junit-doc.xml`;
/** The entry points whose public API must be documented with runnable examples. */
const ENTRY_POINTS = ["mod.ts", "server/mod.ts"];

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

// The Node oracles (sigstore-js verifies our bundles): install each once, from its lock file.
// tests/interop/node is sigstore-js 3.x; tests/interop/node4 is @sigstore/verify 4.x (Rekor v2),
// whose packages declare Node >= 22 but run on Node 20: npm is told not to enforce that.
const oracles = [
  { dir: `${root}tests/interop/node`, args: [] as string[] },
  { dir: `${root}tests/interop/node4`, args: ["--engine-strict=false"] },
];
for (const oracle of oracles) {
  try {
    Deno.statSync(`${oracle.dir}/package.json`);
  } catch {
    continue; // no oracle package in this checkout
  }
  let installed = false;
  try {
    Deno.statSync(`${oracle.dir}/node_modules/@sigstore/verify/package.json`);
    installed = true;
  } catch {
    // not installed yet
  }
  if (!installed && await hasCommand("npm")) {
    const name = relative(root, oracle.dir);
    console.log(`Installing the sigstore-js oracle (${name}) ...`);
    const code = await run(
      "npm",
      ["ci", "--no-audit", "--no-fund", "--loglevel=error", ...oracle.args],
      { cwd: oracle.dir },
    );
    if (code !== 0) console.log(`npm ci for ${name} failed: its suite will say so`);
  }
}

/**
 * The files whose documentation examples run: the entry points, and every file declaring a
 * function or class they export (types are documented, but need no example).
 */
async function docTestFiles(): Promise<string[]> {
  const { success, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...ENTRY_POINTS],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!success) throw new Error("deno doc --json failed");
  const doc: unknown = JSON.parse(new TextDecoder().decode(stdout));
  const files = new Set(ENTRY_POINTS);
  const nodes = (doc as { nodes?: Record<string, { symbols?: unknown[] }> }).nodes ?? {};
  for (const node of Object.values(nodes)) {
    for (const symbol of node.symbols ?? []) {
      const declarations = (symbol as { declarations?: unknown[] }).declarations ?? [];
      for (const declaration of declarations) {
        const { kind, location } = declaration as {
          kind?: string;
          location?: { filename?: string };
        };
        if ((kind === "function" || kind === "class") && location?.filename?.startsWith("file:")) {
          files.add(relative(root, fileURLToPath(location.filename)));
        }
      }
    }
  }
  return [...files].sort();
}

/** Passed and failed test cases of a JUnit report (skipped ones count as neither). */
async function countReport(path: string): Promise<{ passed: number; failed: number }> {
  const xml = await Deno.readTextFile(path);
  const cases = [...xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)];
  let passed = 0;
  let failed = 0;
  for (const match of cases) {
    const body = match[2] ?? "";
    if (/<failure\b|<error\b/.test(body)) failed++;
    else if (!/<skipped\b/.test(body)) passed++;
  }
  return { passed, failed };
}

await Deno.mkdir(`${root}.test-report`, { recursive: true });
// A report from an earlier run must never be counted as this run's.
for (const path of [report, docReport]) {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
const withDocs = Deno.args.length === 0;
const extra = withDocs ? ["tests/"] : Deno.args;
let code = await run(Deno.execPath(), [
  "test",
  "-A",
  "--parallel",
  `--junit-path=${report}`,
  ...extra,
]);
if (withDocs) {
  console.log("Running the documentation examples (deno test --doc) ...");
  let docCode: number;
  try {
    docCode = await run(Deno.execPath(), [
      "test",
      "-A",
      "--doc",
      "--parallel",
      `--junit-path=${docReport}`,
      ...await docTestFiles(),
    ]);
  } catch (error) {
    console.log(`Cannot list the documented files: ${(error as Error).message}`);
    docCode = 1;
  }
  if (code === 0) code = docCode;
}

let passed = 0;
let failed = 0;
const missing: string[] = [];
for (const path of withDocs ? [report, docReport] : [report]) {
  try {
    const counts = await countReport(path);
    passed += counts.passed;
    failed += counts.failed;
  } catch {
    // deno test writes no report when type checking fails: that is a failure, never a pass.
    failed++;
    missing.push(relative(root, path));
  }
}
if (code !== 0 && failed === 0) failed = 1;
const note = missing.length > 0 ? ` (no JUnit report: ${missing.join(", ")})` : "";
console.log(`${passed} passed, ${failed} failed${note}`);
Deno.exit(code);
