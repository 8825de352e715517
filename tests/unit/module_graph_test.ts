/**
 * The direction of the dependency graph (DESIGN.md "Shape"): the library never reaches the
 * embedded servers or Hono. Every `lib/*.ts` file (and `mod.ts` once it exists) is walked with
 * `deno info --json`, npm dependencies included transitively.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
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
    if (/^(npm|jsr):\/?@?hono\b/.test(module.specifier)) found.push(module.specifier);
  }
  return found;
}

/** One temporary entry module importing every library entry point. */
async function libraryEntry(dir: string): Promise<{ path: string; count: number }> {
  const entries = [...Deno.readDirSync(join(REPO_ROOT, "lib"))]
    .filter((e) => e.isFile && e.name.endsWith(".ts"))
    .map((e) => join(REPO_ROOT, "lib", e.name));
  const root = join(REPO_ROOT, "mod.ts");
  if (exists(root)) entries.push(root);
  const path = join(dir, "entry.ts");
  await Deno.writeTextFile(
    path,
    entries.map((file) => `import ${JSON.stringify(pathToFileURL(file).href)};\n`).join(""),
  );
  return { path, count: entries.length };
}

Deno.test("module graph: no lib/*.ts file (nor mod.ts) imports server/ or Hono", async () => {
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
