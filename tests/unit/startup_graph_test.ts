/**
 * Cold start stays cheap: what `main.ts` loads before a command runs (its static imports,
 * leaving out the commands' dynamic imports) is the CLI shell only: no npm package and no
 * library module but the error classes. Loading a command's code happens on demand.
 */

import assert from "node:assert/strict";
import { REPO_ROOT } from "../_support.ts";

interface Dependency {
  readonly code?: { readonly specifier?: string };
  readonly type?: { readonly specifier?: string };
  readonly isDynamic?: boolean;
}

interface Module {
  readonly specifier: string;
  readonly dependencies?: readonly Dependency[];
}

Deno.test("main.ts statically loads only the CLI shell (no npm packages, no library code)", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: REPO_ROOT,
    stdout: "piped",
  }).output();
  const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: Module[] };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const root = new URL("main.ts", `file://${REPO_ROOT}`).href;
  const loaded = new Set<string>();
  const pending = [root];
  while (pending.length > 0) {
    const specifier = pending.pop()!;
    if (loaded.has(specifier)) continue;
    loaded.add(specifier);
    for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
      // Dynamic imports load on demand; type-only imports never load.
      const target = dependency.isDynamic ? undefined : dependency.code?.specifier;
      if (target) pending.push(target);
    }
  }
  const library = new URL("lib/", `file://${REPO_ROOT}`).href;
  const unexpected = [...loaded].filter((s) =>
    !s.startsWith("file:") || (s.startsWith(library) && !s.endsWith("/lib/errors.ts"))
  );
  assert.deepEqual(unexpected, []);
  // About a dozen shell modules and one command table per family (eleven families).
  assert.ok(loaded.size < 24, `main.ts loads ${loaded.size} modules at start`);
});
