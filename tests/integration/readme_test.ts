/**
 * The README's "A first signature, offline" runs as written: its shell block is taken from the
 * README and run by bash (`set -e`, aliases expanded as in the interactive shell it is pasted
 * into) in a fresh copy of the repository's sources, with nothing but Node, npm (`npx` fetches the
 * pinned Deno) and the commands the block names. Only `DCOSIGN_PORT` is set, to a free port, so
 * the documented fixed port cannot collide with another run on the same machine.
 */

import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { executable, REPO_ROOT, requireComponents, tempDir } from "../_support.ts";
import { freePort } from "../registry/_docker_registry.ts";

const SECTION = "## A first signature, offline";
/** What a fresh clone needs to run the CLI and the scripts the block uses. */
const SOURCES = ["main.ts", "mod.ts", "deno.json", "deno.lock", "lib", "cli", "server", "scripts"];
const TIMEOUT_MS = 240_000;

/** The first `sh` block of the README section. */
function readmeBlock(): string {
  const readme = Deno.readTextFileSync(join(REPO_ROOT, "README.md"));
  const start = readme.indexOf(SECTION);
  assert.ok(start >= 0, `README.md has no "${SECTION}" section`);
  const match = /```sh\n([\s\S]*?)```/.exec(readme.slice(start));
  assert.ok(match, `"${SECTION}" has no sh block`);
  return match[1]!;
}

if (
  requireComponents(
    "README first signature",
    executable("bash"),
    executable("node"),
    executable("npx"),
  )
) {
  Deno.test("the README's 'A first signature, offline' block runs verbatim in a fresh copy", async () => {
    const block = readmeBlock();
    // The steps the section promises are there (a test of a block that lost them proves little).
    for (
      const step of [
        /alias dcosign="npx --yes deno@/,
        /until \[ -f stack\/ready\.json \]/,
        /scripts\/example_image\.ts/,
        /--port "\$\{DCOSIGN_PORT:-\d+\}"/,
      ]
    ) assert.match(block, step);
    await using dir = await tempDir("dcosign-readme-");
    const clone = join(dir.path, "dcosign");
    for (const entry of SOURCES) {
      cpSync(join(REPO_ROOT, entry), join(clone, entry), { recursive: true });
    }
    await Deno.writeTextFile(join(dir.path, "block.sh"), block);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let output: Deno.CommandOutput;
    try {
      output = await new Deno.Command("bash", {
        args: ["-e", "-O", "expand_aliases", join(dir.path, "block.sh")],
        cwd: clone,
        env: {
          PATH: Deno.env.get("PATH") ?? "",
          HOME: Deno.env.get("HOME") ?? dir.path,
          NO_COLOR: "1",
          DCOSIGN_PORT: String(freePort()),
        },
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: controller.signal,
      }).output();
    } finally {
      clearTimeout(timer);
      // The stack this run started, if the block stopped before its `kill` line.
      await stopStack(join(clone, "stack", "ready.json"));
    }
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, `${stdout}\n${stderr}`);
    assert.match(stdout, /Pushed 127\.0\.0\.1:\d+\/app:1 \(sha256:[0-9a-f]{64}\)/);
    assert.match(stderr, /tlog entry created with index/);
    assert.equal(
      stderr.match(/The following checks were performed/g)?.length,
      2,
      "both verifications ran",
    );
    assert.match(stderr, /The signatures were verified against the specified public key/);
    assert.match(stderr, /The certificate identity and OIDC issuer matched the policy/);
    // The `kill` line stopped the stack cleanly: it removes its ready file on the way out.
    assert.equal(await exists(join(clone, "stack", "ready.json")), false);
  });
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** SIGTERM the stack named by a ready file (this test's own), and wait for it to go. */
async function stopStack(readyFile: string): Promise<void> {
  let pid: unknown;
  try {
    pid = JSON.parse(await Deno.readTextFile(readyFile)).pid;
  } catch {
    return; // never started, or already stopped
  }
  if (typeof pid !== "number" || !Number.isInteger(pid) || pid <= 1) return;
  try {
    Deno.kill(pid, "SIGTERM");
  } catch {
    return; // already gone
  }
  for (let i = 0; i < 100 && await exists(readyFile); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
