/**
 * Hostile policies through the CLI (`verify-attestation --policy` on the embedded stack, and
 * `policy eval`): unbounded recursion, a comprehension over a huge range, a regular expression
 * with catastrophic backtracking, a 10 MB policy file. Each run ends in bounded time (well under
 * the bound asserted, which only guards against a hang) and memory (the process's resident set
 * grows by less than the bound asserted), with one line on stderr and a failing exit code.
 */

import assert from "node:assert/strict";
import { type ImageEnv, openImageEnv } from "./_image_env.ts";

/** Generous: each case takes well under a second; this only catches a hang. */
const TIME_BOUND_MS = 15_000;

/** Resident memory growth allowed for one hostile run. */
const MEMORY_BOUND_BYTES = 256 << 20;

interface Hostile {
  readonly name: string;
  readonly file: string;
  readonly source: string;
  /** What the one error line says. */
  readonly expect: RegExp;
}

const HOSTILE: readonly Hostile[] = [
  {
    name: "unbounded recursion between rules",
    file: "recursion.rego",
    source: "package signature\n\nallow { p }\n\np { q }\n\nq { p }\n",
    expect: /rego_recursion_error: rule data\.signature\.p is recursive.*\[POLICY_COMPILE_ERROR\]$/,
  },
  {
    name: "a comprehension over a huge range",
    file: "range.rego",
    source: "package signature\n\nallow {\n" +
      "  count([[i, j] | some i, j; numbers.range(1, 100000)[i]; numbers.range(1, 100000)[j]]) > 0\n" +
      "}\n",
    expect: /eval_cancel_error: evaluation exceeded the step limit.*\[POLICY_EVAL_LIMIT\]$/,
  },
  {
    name: "a regular expression with catastrophic backtracking (RE2 semantics: linear time)",
    file: "regex.rego",
    source: "package signature\n\ndefault allow = false\n\nallow {\n" +
      '  a := concat("", [s | numbers.range(1, 5000)[_]; s := "a"])\n' +
      '  regex.match("^(a+)+$", a)\n' +
      '  regex.match("^(a|aa)+$", a)\n' +
      '  not regex.match("^(a+)+$", concat("", [a, "!"]))\n' +
      '  not regex.match("^(a|a?)+$", concat("", [a, "!"]))\n' +
      '  input.predicate.builder.id == "not this one"\n' +
      "}\n",
    expect: /1 validation error occurred: expression value, false, is not true.*\[POLICY_DENIED\]$/,
  },
  {
    name: "a 10 MB policy file",
    file: "huge.rego",
    source: `package signature\n\nallow { true }\n# ${"x".repeat(10 << 20)}\n`,
    expect:
      /Cannot read policy "huge\.rego": larger than the limit of 1048576 bytes \[CLI_USAGE\]$/,
  },
];

async function attestedImage(env: ImageEnv): Promise<string> {
  const image = await env.push("hostile/app");
  await Deno.writeTextFile(
    `${env.dir}/predicate.json`,
    '{"builder": {"id": "x"}, "buildType": "y"}',
  );
  const attested = await env.run([
    "attest",
    "--key",
    "cosign.key",
    "--rekor-url",
    env.url,
    "--type",
    "slsaprovenance",
    "--predicate",
    "predicate.json",
    image.reference,
  ]);
  assert.equal(attested.code, 0, attested.stderr);
  return image.reference;
}

Deno.test("hostile policies through verify-attestation --policy fail in bounded time and memory, with one line", async () => {
  await using env = await openImageEnv("in-process");
  const image = await attestedImage(env);
  for (const hostile of HOSTILE) {
    await Deno.writeTextFile(`${env.dir}/${hostile.file}`, hostile.source);
    const rss = Deno.memoryUsage().rss;
    const started = performance.now();
    const result = await env.run([
      "verify-attestation",
      "--key",
      "cosign.pub",
      "--trusted-root",
      env.trustedRoot,
      "--type",
      "slsaprovenance",
      "--policy",
      hostile.file,
      image,
    ]);
    const elapsed = performance.now() - started;
    const grown = Deno.memoryUsage().rss - rss;
    assert.equal(result.code, 1, `${hostile.name}: ${result.stderr}`);
    assert.equal(result.stdout, "", hostile.name);
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `${hostile.name}: ${result.stderr}`);
    assert.match(lines[0]!, hostile.expect, hostile.name);
    assert.ok(elapsed < TIME_BOUND_MS, `${hostile.name}: ${elapsed} ms`);
    assert.ok(
      grown < MEMORY_BOUND_BYTES,
      `${hostile.name}: resident memory grew ${grown >> 20} MiB`,
    );
  }
});

Deno.test("hostile policies through policy eval fail (or answer) in bounded time, with one line", async () => {
  await using env = await openImageEnv("in-process");
  for (const hostile of HOSTILE) {
    await Deno.writeTextFile(`${env.dir}/${hostile.file}`, hostile.source);
    const started = performance.now();
    const result = await env.run([
      "policy",
      "eval",
      "--v0-compatible",
      "--policy",
      hostile.file,
      "data.signature.allow",
    ]);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < TIME_BOUND_MS, `${hostile.name}: ${elapsed} ms`);
    if (hostile.file === "regex.rego") {
      // Nothing hostile happens to a linear-time matcher: the query evaluates (to false).
      assert.equal(result.code, 0, result.stderr);
      const value = JSON.parse(result.stdout).result[0].expressions[0].value;
      assert.equal(value, false);
      continue;
    }
    assert.equal(result.code, 1, hostile.name);
    assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
    assert.match(result.stderr.trimEnd(), hostile.expect, hostile.name);
  }
});
