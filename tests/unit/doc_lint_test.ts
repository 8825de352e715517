/**
 * The public API stays documented: `deno doc --lint` is clean for both entry points (every
 * exported symbol and field has a doc comment, no public signature names an unexported type),
 * and every function and class they export shows an example. The examples themselves run in
 * `deno task test` (`deno test --doc`, see scripts/test.ts).
 */

import assert from "node:assert/strict";
import { REPO_ROOT } from "../_support.ts";

const ENTRY_POINTS = ["mod.ts", "server/mod.ts"];

async function runDeno(
  args: string[],
): Promise<{ success: boolean; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    success: output.success,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** One exported function or class, where it is declared, and the code blocks of its examples. */
interface DocumentedSymbol {
  readonly name: string;
  readonly kind: string;
  readonly file: string;
  readonly examples: readonly string[];
}

/** Functions and classes exported from the entry points, from `deno doc --json`. */
async function exportedCallables(): Promise<DocumentedSymbol[]> {
  const result = await runDeno(["doc", "--json", ...ENTRY_POINTS]);
  assert.ok(result.success, `deno doc --json failed:\n${result.stderr}`);
  const doc = JSON.parse(result.stdout) as {
    nodes: Record<string, {
      symbols: {
        name: string;
        declarations: {
          kind: string;
          location: { filename: string };
          jsDoc?: { tags?: { kind: string; doc?: string }[] };
        }[];
      }[];
    }>;
  };
  const found = new Map<string, DocumentedSymbol>();
  for (const node of Object.values(doc.nodes)) {
    for (const symbol of node.symbols) {
      for (const declaration of symbol.declarations) {
        if (declaration.kind !== "function" && declaration.kind !== "class") continue;
        const file = declaration.location.filename.replace(`file://${REPO_ROOT}`, "");
        const examples = (declaration.jsDoc?.tags ?? [])
          .filter((tag) => tag.kind === "example")
          .map((tag) => tag.doc ?? "");
        // The same symbol re-exported by both entry points is one symbol.
        found.set(`${file}#${symbol.name}`, {
          name: symbol.name,
          kind: declaration.kind,
          file,
          examples,
        });
      }
    }
  }
  return [...found.values()];
}

Deno.test("deno doc --lint reports no problem for mod.ts and server/mod.ts", async () => {
  const result = await runDeno(["doc", "--lint", ...ENTRY_POINTS]);
  const problems = `${result.stdout}\n${result.stderr}`
    .split("\n")
    .filter((line) => /^(error|warning)\[/.test(line));
  assert.deepEqual(problems, [], `${result.stdout}${result.stderr}`);
  assert.ok(result.success, `deno doc --lint failed:\n${result.stderr}`);
});

Deno.test("every function and class exported from mod.ts and server/mod.ts has an @example", async () => {
  const symbols = await exportedCallables();
  // The API this test guards must be there at all: an empty list would pass vacuously.
  for (const name of ["sign", "verify", "signBlob", "verifyBlob", "RegistryClient", "startStack"]) {
    assert.ok(symbols.some((symbol) => symbol.name === name), `"${name}" is not exported`);
  }
  const missing = symbols
    .filter((symbol) => !symbol.examples.some((example) => /```(ts|typescript)\b/.test(example)))
    .map((symbol) => `${symbol.kind} ${symbol.name} (${symbol.file})`);
  assert.deepEqual(missing, []);
});

Deno.test("an exported symbol's example that does not run says why in its first line", async () => {
  const unexplained: string[] = [];
  for (const symbol of await exportedCallables()) {
    for (const example of symbol.examples) {
      for (const block of example.matchAll(/```(?:ts|typescript) ignore\n([^\n]*)/g)) {
        if (!/^\/\/ Not run: \S/.test(block[1] ?? "")) unexplained.push(symbol.name);
      }
    }
  }
  assert.deepEqual(unexplained, []);
});
