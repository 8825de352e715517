/**
 * Attestation policies: a typical Rego policy over an SLSA v0.2 provenance statement (predicate
 * type, trusted builder, build type, materials pinned by digest, subject digests, with `deny`
 * messages), parsed once and evaluated 10,000 times as `verify-attestation --policy` does
 * (`checkAttestationPolicy`), beside the same checks as a CUE policy (CUE v0.4 in wasm on its
 * worker thread), fewer runs in the same process; per-evaluation times printed side by side.
 *
 *   deno bench -A bench/policy_bench.ts
 */

import { checkAttestationPolicy, compileAttestationPolicies } from "../lib/policy/attestation.ts";
import { stopCueWorker } from "../lib/policy/cue.ts";

const REGO_RUNS = 10_000;
const CUE_RUNS = 20;

const STATEMENT = new TextEncoder().encode(JSON.stringify({
  _type: "https://in-toto.io/Statement/v0.1",
  predicateType: "https://slsa.dev/provenance/v0.2",
  subject: [
    { name: "registry.example/app", digest: { sha256: "ab".repeat(32) } },
    { name: "registry.example/app-debug", digest: { sha256: "cd".repeat(32) } },
  ],
  predicate: {
    builder: {
      id:
        "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0",
    },
    buildType: "https://github.com/slsa-framework/slsa-github-generator/container@v1",
    invocation: {
      configSource: {
        uri: "git+https://github.com/octo/app@refs/heads/main",
        digest: { sha1: "0f".repeat(20) },
        entryPoint: ".github/workflows/release.yml",
      },
      parameters: {},
      environment: { github_event_name: "push", github_run_id: "1234" },
    },
    metadata: {
      buildInvocationID: "1234-1",
      buildStartedOn: "2026-11-30T10:00:00Z",
      completeness: { parameters: true, environment: false, materials: false },
      reproducible: false,
    },
    materials: [
      { uri: "git+https://github.com/octo/app@refs/heads/main", digest: { sha1: "0f".repeat(20) } },
      { uri: "pkg:docker/golang@1.22", digest: { sha256: "ef".repeat(32) } },
    ],
  },
}));

const REGO = `package signature

import future.keywords.contains
import future.keywords.every
import future.keywords.if
import future.keywords.in

trusted_builders := {
  "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0",
  "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v1.9.0",
}

default allow = false

allow if count(deny) == 0

deny contains "not an SLSA v0.2 provenance" if {
  input.predicateType != "https://slsa.dev/provenance/v0.2"
}

deny contains msg if {
  not input.predicate.builder.id in trusted_builders
  msg := sprintf("builder %q is not trusted", [input.predicate.builder.id])
}

deny contains "not built by the SLSA generator" if {
  not startswith(input.predicate.buildType, "https://github.com/slsa-framework/slsa-github-generator/")
}

deny contains msg if {
  some m in input.predicate.materials
  count(m.digest) == 0
  msg := sprintf("material %s is not pinned", [m.uri])
}

deny contains msg if {
  some s in input.subject
  not regex.match("^[0-9a-f]{64}$", s.digest.sha256)
  msg := sprintf("subject %s has no sha256 digest", [s.name])
}

deny contains "not built from main" if {
  not endswith(input.predicate.invocation.configSource.uri, "@refs/heads/main")
}
`;

const CUE = `import "strings"

predicateType: "https://slsa.dev/provenance/v0.2"
subject: [...{name: string, digest: sha256: =~"^[0-9a-f]{64}$"}]
predicate: {
  builder: id: "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0" | "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v1.9.0"
  buildType: =~"^https://github.com/slsa-framework/slsa-github-generator/"
  materials: [...{uri: string, digest: {[string]: string}, _n: len(digest) & >0}]
  invocation: configSource: uri: string
  _main: strings.HasSuffix(invocation.configSource.uri, "@refs/heads/main") & true
}
`;

const rego = await compileAttestationPolicies([{
  name: "slsa.rego",
  language: "rego",
  source: REGO,
}]);
const cueStarted = performance.now();
const cue = await compileAttestationPolicies([{ name: "slsa.cue", language: "cue", source: CUE }]);
const cueCompileMs = performance.now() - cueStarted;

async function check(policies: typeof rego): Promise<void> {
  const decision = await checkAttestationPolicy(STATEMENT, policies);
  if (!decision.allowed) throw new Error(`the statement must pass: ${decision.messages}`);
}

// Both policies check the same things: an untrusted builder fails both.
const untrusted = JSON.parse(new TextDecoder().decode(STATEMENT));
untrusted.predicate.builder.id = "https://evil.example/builder";
for (const policies of [rego, cue]) {
  if ((await checkAttestationPolicy(untrusted, policies)).allowed) {
    throw new Error(`${policies.names} must refuse an untrusted builder`);
  }
}

// Warm both paths once (JIT, and the CUE worker's wasm instance).
await check(rego);
await check(cue);

let started = performance.now();
for (let i = 0; i < REGO_RUNS; i++) await check(rego);
const regoMs = (performance.now() - started) / REGO_RUNS;

started = performance.now();
for (let i = 0; i < CUE_RUNS; i++) await check(cue);
const cueMs = (performance.now() - started) / CUE_RUNS;

console.log(
  `per evaluation of one SLSA provenance statement: Rego ${(regoMs * 1000).toFixed(1)} µs ` +
    `(${REGO_RUNS} runs, parsed once) | CUE ${cueMs.toFixed(1)} ms (${CUE_RUNS} runs, ` +
    `compile + first wasm load ${cueCompileMs.toFixed(0)} ms) | CUE/Rego ${
      (cueMs / regoMs).toFixed(0)
    }x`,
);

Deno.bench({
  name: "Rego policy, one statement (parsed once)",
  group: "one statement",
  baseline: true,
  fn: async () => {
    await check(rego);
  },
});
Deno.bench({
  name: "CUE policy, one statement (wasm warm)",
  group: "one statement",
  n: 10,
  warmup: 1,
  fn: async () => {
    await check(cue);
  },
});

globalThis.addEventListener("unload", () => void stopCueWorker());
