/**
 * The shape of the module graph (DESIGN.md "Shape", README "Hacking"):
 *
 * - the library never reaches the embedded servers, the CLI or Hono: every `lib/**.ts` file and
 *   `mod.ts` are walked with `deno info --json`, npm dependencies included transitively;
 * - no import cycle among the project's files (static imports, type-only ones included);
 * - a `_`-prefixed file or folder is imported only from inside the folder that holds it (tests and
 *   benchmarks may reach in);
 * - `lib/` has at most 10 files of its own and no folder holds more than 20 files.
 */

import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { exists, REPO_ROOT, tempDir } from "../_support.ts";

interface GraphModule {
  readonly specifier: string;
  readonly kind?: string;
  readonly npmPackage?: string;
}

interface Graph {
  readonly modules: readonly GraphModule[];
  readonly npmPackages?: Readonly<Record<string, { readonly dependencies?: readonly string[] }>>;
}

const SERVER_DIR = pathToFileURL(join(REPO_ROOT, "server")).href + "/";
const CLI_DIR = pathToFileURL(join(REPO_ROOT, "cli")).href + "/";

/** Modules and npm packages of `entry`'s graph that the library must never reach. */
async function forbiddenIn(entry: string): Promise<string[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, `deno info failed: ${new TextDecoder().decode(output.stderr)}`);
  const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as Graph;
  const found: string[] = [];
  // npmPackages lists the whole lockfile snapshot, so follow dependencies from the packages
  // the graph actually imports.
  const pending = graph.modules.flatMap((m) => m.npmPackage === undefined ? [] : [m.npmPackage]);
  const seen = new Set<string>();
  while (pending.length > 0) {
    const id = pending.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    pending.push(...(graph.npmPackages?.[id]?.dependencies ?? []));
  }
  for (const id of seen) if (/^(hono|@hono\/[^@]+)@/.test(id)) found.push(`npm package ${id}`);
  for (const module of graph.modules) {
    if (module.specifier.startsWith(SERVER_DIR)) found.push(module.specifier);
    if (module.specifier.startsWith(CLI_DIR)) found.push(module.specifier);
    if (/^(npm|jsr):\/?@?hono\b/.test(module.specifier)) found.push(module.specifier);
  }
  return found;
}

function* tsFiles(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && entry.name !== "node_modules") yield* tsFiles(path);
    else if (entry.isFile && entry.name.endsWith(".ts")) yield path;
  }
}

/** One temporary entry module importing every library module. */
async function libraryEntry(dir: string): Promise<{ path: string; count: number }> {
  const entries = [...tsFiles(join(REPO_ROOT, "lib"))];
  const root = join(REPO_ROOT, "mod.ts");
  if (exists(root)) entries.push(root);
  const path = join(dir, "entry.ts");
  await Deno.writeTextFile(
    path,
    entries.map((file) => `import ${JSON.stringify(pathToFileURL(file).href)};\n`).join(""),
  );
  return { path, count: entries.length };
}

Deno.test("module graph: no lib/ file (nor mod.ts) imports server/, cli/ or Hono", async () => {
  await using dir = await tempDir();
  const entry = await libraryEntry(dir.path);
  assert.ok(entry.count > 0, "found no library files to check");
  assert.deepEqual(await forbiddenIn(entry.path), []);
});

Deno.test("module graph: the check flags server/ and Hono (server/mod.ts reaches both)", async () => {
  const found = await forbiddenIn(join(REPO_ROOT, "server", "mod.ts"));
  assert.ok(found.some((f) => f.startsWith(SERVER_DIR)), `server modules not flagged: ${found}`);
  assert.ok(found.some((f) => f.includes("hono")), `hono not flagged: ${found}`);
});

/** The project's static imports (type-only ones included), from its sources, relative paths. */
function staticImports(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const roots = ["lib", "server", "cli", "scripts", "bench", "tests"].map((d) =>
    join(REPO_ROOT, d)
  );
  const files = [
    ...roots.flatMap((root) => [...tsFiles(root)]),
    join(REPO_ROOT, "main.ts"),
    join(REPO_ROOT, "mod.ts"),
  ]
    .filter((file) => !file.includes(`${join("tests", "interop", "node")}`));
  const pattern =
    /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?["'](\.{1,2}\/[^"']+)["']/gm;
  for (const file of files) {
    const source = Deno.readTextFileSync(file);
    const targets = [...source.matchAll(pattern)].map((m) =>
      relative(REPO_ROOT, join(dirname(file), m[1]!))
    );
    graph.set(relative(REPO_ROOT, file), targets);
  }
  return graph;
}

/** The strongly connected components of more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

Deno.test("module graph: no import cycle among the project's files", () => {
  const graph = staticImports();
  assert.ok(graph.size > 200, `found only ${graph.size} files`);
  assert.deepEqual(cycles(graph), []);
});

Deno.test("module graph: the cycle check finds a cycle", () => {
  const graph = new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", ["a.ts"]], ["d.ts", [
    "a.ts",
  ]]]);
  assert.deepEqual(cycles(graph), [["a.ts", "b.ts", "c.ts"]]);
});

/** Where a path's first `_` segment sits: the folder allowed to import it, or undefined. */
function privateOwner(path: string): string | undefined {
  const parts = path.split("/");
  const at = parts.findIndex((part) => part.startsWith("_"));
  return at < 0 ? undefined : parts.slice(0, at).join("/");
}

Deno.test("module graph: _ files are imported only from inside their own folder", () => {
  assert.equal(privateOwner("lib/oci/_auth.ts"), "lib/oci");
  assert.equal(privateOwner("server/_deps.ts"), "server");
  assert.equal(privateOwner("lib/oci/client.ts"), undefined);
  const violations: string[] = [];
  for (const [file, targets] of staticImports()) {
    if (file.startsWith("tests/") || file.startsWith("bench/")) continue;
    for (const target of targets) {
      const owner = privateOwner(target);
      if (owner !== undefined && !file.startsWith(`${owner}/`)) {
        violations.push(`${file} -> ${target}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

Deno.test("module graph: lib/ has at most 10 files of its own, no folder more than 20", () => {
  const own = [...Deno.readDirSync(join(REPO_ROOT, "lib"))].filter((e) => e.isFile);
  assert.ok(own.length <= 10, `lib/ holds ${own.length} files: ${own.map((e) => e.name)}`);
  const crowded: string[] = [];
  const walk = (dir: string) => {
    const entries = [...Deno.readDirSync(dir)];
    const files = entries.filter((e) => e.isFile && e.name.endsWith(".ts"));
    if (files.length > 20) crowded.push(`${relative(REPO_ROOT, dir)} (${files.length})`);
    for (const e of entries) if (e.isDirectory) walk(join(dir, e.name));
  };
  for (const top of ["lib", "server", "cli"]) walk(join(REPO_ROOT, top));
  assert.deepEqual(crowded, []);
});
