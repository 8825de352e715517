/**
 * `deno task compile`: single-file binaries of the CLI for the release targets.
 *
 *   deno task compile [--target TARGET]... [--out DIR]
 *
 * Targets default to all five below. `deno compile` needs a `denort` runtime for each target,
 * which Deno downloads from dl.deno.land; set `DENORT_BIN` to a local denort binary (of Deno
 * 2.9.6, for the one target you pass) where that download is impossible. Without either, this
 * fails with one line saying what is missing. Each binary carries a build stamp that
 * `dcosign version` prints.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { VERSION } from "../cli/tools/version.ts";

/** The release targets (`deno compile --target` names). */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** What the binary may do: network, files, environment, docker credential helpers. */
const PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
];

/**
 * Modules the binary loads that no import names: the CUE worker thread (started with
 * `new Worker(new URL(...))` when a `.cue` policy is given), and with it the CUE wasm package.
 */
const INCLUDES = [
  "--include",
  "lib/policy/_cue_worker.ts",
  "--include",
  "server/rekor/_prepare_worker.ts",
];

function fail(message: string): never {
  console.error(`Error: ${message}`);
  Deno.exit(1);
}

function parseArgs(args: string[]): { targets: string[]; out: string } {
  const targets: string[] = [];
  let out = "dist";
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.includes("=") ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => inline ?? args[++i] ?? fail(`${flag} needs a value`);
    if (flag === "--target") targets.push(value());
    else if (flag === "--out") out = value();
    else fail(`Unknown argument "${arg}": usage: deno task compile [--target T]... [--out DIR]`);
  }
  for (const target of targets) {
    if (!(TARGETS as readonly string[]).includes(target)) {
      fail(`Unknown target "${target}": expected one of ${TARGETS.join(", ")}`);
    }
  }
  return { targets: targets.length ? targets : [...TARGETS], out };
}

const root = fileURLToPath(new URL("../", import.meta.url));
const { targets, out } = parseArgs(Deno.args);
const denort = Deno.env.get("DENORT_BIN") || undefined;
if (denort !== undefined) {
  try {
    if (!Deno.statSync(denort).isFile) throw new Error("not a file");
  } catch {
    fail(`DENORT_BIN="${denort}" is not a readable file: point it at a denort binary`);
  }
  if (targets.length > 1) {
    fail("DENORT_BIN is a runtime for one platform: pass the matching --target");
  }
}

// An empty DENORT_BIN means unset: deno itself would take "" as a path.
const childEnv = { ...Deno.env.toObject(), NO_COLOR: "1" };
if (denort === undefined) delete (childEnv as Record<string, string>).DENORT_BIN;

await Deno.mkdir(out, { recursive: true });
const stampDir = await Deno.makeTempDir({ prefix: "dcosign-compile-" });
try {
  for (const target of targets) {
    // The entry sets the build stamp, then loads the CLI (a dynamic import, so it runs after).
    const stamp = `${VERSION} ${target} ${new Date().toISOString().slice(0, 10)}`;
    const entry = `${stampDir}/dcosign_${target}.ts`;
    await Deno.writeTextFile(
      entry,
      `(globalThis as { DCOSIGN_BUILD?: string }).DCOSIGN_BUILD = ${JSON.stringify(stamp)};\n` +
        `const { main } = await import(${
          JSON.stringify(new URL("main.ts", `file://${root}`).href)
        });\n` +
        `Deno.exit(await main(Deno.args));\n`,
    );
    const output = `${out}/dcosign-${target}${target.includes("windows") ? ".exe" : ""}`;
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      // Workers are loaded by URL at run time (the CUE runtime, the embedded log's proposal
      // checks): include them in the binary.
      args: [
        "compile",
        ...PERMISSIONS,
        ...INCLUDES,
        "--target",
        target,
        "--output",
        output,
        entry,
      ],
      cwd: root,
      stdout: "null",
      stderr: "piped",
      env: childEnv,
      clearEnv: true,
    }).output();
    if (code !== 0) {
      const text = new TextDecoder().decode(stderr);
      if (/denort|dl\.deno\.land|Setting up base binary/i.test(text) && denort === undefined) {
        fail(
          `Cannot compile for ${target}: no denort runtime (deno compile downloads it from ` +
            `dl.deno.land, which is unreachable here): set DENORT_BIN to a Deno ` +
            `${Deno.version.deno} denort binary for ${target}`,
        );
      }
      fail(`deno compile for ${target} failed: ${text.trim().split("\n").slice(0, 3).join(" ")}`);
    }
    console.log(`Built ${output} (${stamp})`);
  }
} finally {
  await Deno.remove(stampDir, { recursive: true });
}
