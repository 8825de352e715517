import assert from "node:assert/strict";
import { closestNames, editDistance } from "../../../cli/suggest.ts";
import {
  COSIGN_ONLY_COMMANDS,
  COSIGN_ONLY_FLAGS,
  COSIGN_ONLY_NOTES,
} from "../../../cli/cosign_gaps.ts";
import { COMMANDS } from "../../../cli/commands.ts";
import { type CommandSpec, GLOBAL_FLAGS } from "../../../cli/spec.ts";
import { dcosign } from "../../_cli.ts";

function findPath(path: string): CommandSpec | undefined {
  let level: readonly CommandSpec[] = COMMANDS;
  let found: CommandSpec | undefined;
  for (const name of path.split(" ")) {
    found = level.find((c) => c.name === name || c.aliases?.includes(name));
    if (!found) return undefined;
    level = found.subcommands ?? [];
  }
  return found;
}

Deno.test("editDistance() counts insertions, deletions and substitutions", () => {
  assert.equal(editDistance("verify", "verify"), 0);
  assert.equal(editDistance("verfy", "verify"), 1);
  assert.equal(editDistance("sing", "sign"), 2);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("kitten", "sitting"), 3);
});

Deno.test("closestNames() keeps names within 2 edits or starting with the word, closest first", () => {
  const names = ["sign", "sign-blob", "signature", "verify", "verify-blob"];
  assert.deepEqual(closestNames("verfy", names), ["verify"]);
  assert.deepEqual(closestNames("sig", names), ["sign", "sign-blob", "signature"]);
  assert.deepEqual(closestNames("zzzzzz", names), []);
  assert.deepEqual(closestNames("x".repeat(100), names), []);
});

Deno.test("every cosign-only command in the gap table is absent from dcosign's command table", () => {
  for (const path of COSIGN_ONLY_COMMANDS) {
    assert.equal(
      findPath(path),
      undefined,
      `"${path}" is a dcosign command: drop it from the table`,
    );
  }
});

Deno.test("every cosign-only flag in the gap table names a dcosign command that lacks it", () => {
  const globals = new Set(GLOBAL_FLAGS.map((f) => f.name));
  for (const [path, flags] of Object.entries(COSIGN_ONLY_FLAGS)) {
    const command = findPath(path);
    assert.ok(command, `"${path}" is not a dcosign command`);
    const names = new Set((command.flags ?? []).flatMap((f) => [f.name, ...(f.aliases ?? [])]));
    for (const flag of flags) {
      assert.ok(!names.has(flag) && !globals.has(flag), `"${path}" has --${flag}: drop it`);
    }
  }
  for (const key of Object.keys(COSIGN_ONLY_NOTES)) {
    const used = COSIGN_ONLY_COMMANDS.includes(key) ||
      Object.values(COSIGN_ONLY_FLAGS).some((flags) => flags.includes(key));
    assert.ok(used, `the note for "${key}" belongs to nothing in the table`);
  }
});

Deno.test("a typo'd command gets the closest commands, at the top and in a group", async () => {
  const top = await dcosign(["verfy", "reg/app:1"]);
  assert.equal(top.code, 1);
  assert.match(top.stderr, /Unknown command "verfy" for "dcosign": did you mean "verify"\?/);
  const group = await dcosign(["download", "sig", "reg/app:1"]);
  assert.match(
    group.stderr,
    /Unknown command "sig" for "dcosign download": did you mean "signature"\?/,
  );
  const none = await dcosign(["qqqqqqq"]);
  assert.match(none.stderr, /Unknown command "qqqqqqq" for "dcosign": run "dcosign --help"/);
});

Deno.test("a typo'd flag gets the closest flags of that command", async () => {
  const result = await dcosign(["verify", "--certificate-identiy", "x", "reg/app:1"]);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /Unknown flag --certificate-identiy for "dcosign verify": did you mean --certificate-identity\?/,
  );
  const global = await dcosign(["version", "--verbos"]);
  assert.match(global.stderr, /did you mean --verbose\?/);
});

Deno.test("a cosign command or flag dcosign lacks is named as not supported by dcosign", async () => {
  const command = await dcosign(["bundle", "create", "--artifact", "a"]);
  assert.equal(command.code, 1);
  assert.match(command.stderr, /Command "cosign bundle" is not supported by dcosign/);
  const nested = await dcosign(["piv-tool", "reset"]);
  assert.match(nested.stderr, /"cosign piv-tool" is not supported by dcosign \(hardware keys/);
  const flag = await dcosign(["verify-attestation", "--sk", "reg/app:1"]);
  assert.match(
    flag.stderr,
    /Flag --sk of "cosign verify-attestation" is not supported by dcosign \(hardware keys/,
  );
  assert.doesNotMatch(flag.stderr, /Unknown/);
});
