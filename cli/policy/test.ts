/**
 * `policy test DIR|FILE`: run OPA's YAML test cases (`lib/policy/opa_cases.ts`) found in a
 * folder and its subfolders, one line per case (`ok` or `FAIL` with the reason, a file that
 * cannot be read or parsed is a `FAIL` too) and a summary line; a failure exits 1.
 *
 * @module
 */

import { CosignError, errorMessage } from "../../lib/errors.ts";
import { parseOpaCases, runOpaCase } from "../../lib/policy/opa_cases.ts";
import type { CommandRun } from "../spec.ts";
import { resolvePath } from "../context.ts";

/** Largest case file. */
const MAX_CASE_FILE_BYTES = 4 << 20;

/** Most case files in one run. */
const MAX_CASE_FILES = 10_000;

/** Most folder levels walked. */
const MAX_DEPTH = 32;

/** The case files under `root` (relative paths, sorted), or `root` itself when it is a file. */
async function caseFiles(root: string, absolute: string): Promise<string[]> {
  const info = await Deno.stat(absolute).catch((error) => {
    throw new CosignError("CLI_USAGE", `Cannot read "${root}": ${errorMessage(error)}`, {
      cause: error,
    });
  });
  if (!info.isDirectory) return [root];
  const found: string[] = [];
  const walk = async (dir: string, relative: string, depth: number) => {
    if (depth > MAX_DEPTH) {
      throw new CosignError("CLI_USAGE", `"${root}" nests folders deeper than ${MAX_DEPTH}`);
    }
    const entries = [];
    for await (const entry of Deno.readDir(dir)) entries.push(entry);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory) await walk(`${dir}/${entry.name}`, path, depth + 1);
      else if (entry.isFile && /\.ya?ml$/.test(entry.name)) {
        if (found.length >= MAX_CASE_FILES) {
          throw new CosignError("CLI_USAGE", `More than ${MAX_CASE_FILES} case files in "${root}"`);
        }
        found.push(path);
      }
    }
  };
  await walk(absolute, "", 0);
  return found.map((path) => `${root.replace(/\/$/, "")}/${path}`);
}

/** `policy test`: run every case, report each, exit 1 on any failure. */
export const policyTest: CommandRun = async (input) => {
  const { ctx, flags, out } = input;
  const root = input.args[0]!;
  const quiet = flags.boolean("quiet");
  const syntax = flags.boolean("v0-compatible") ? "v0" : "v1";
  const files = await caseFiles(root, resolvePath(ctx, root));
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    let cases;
    try {
      const bytes = await ctx.readFile(file, { maxBytes: MAX_CASE_FILE_BYTES, what: "case file" });
      cases = parseOpaCases(new TextDecoder().decode(bytes), { maxBytes: MAX_CASE_FILE_BYTES });
    } catch (error) {
      failed++;
      out.line(`FAIL ${file}: ${errorMessage(error)}`);
      continue;
    }
    for (const c of cases) {
      input.signal.throwIfAborted();
      const outcome = runOpaCase(c, { syntax, now: ctx.now() });
      if (outcome.pass) {
        passed++;
        if (!quiet) out.line(`ok   ${file} ${outcome.note}`);
      } else {
        failed++;
        out.line(`FAIL ${file} ${outcome.note}: ${outcome.reason}`);
      }
    }
  }
  out.line(
    `${files.length} file${files.length === 1 ? "" : "s"}, ${passed + failed} cases: ` +
      `${passed} passed, ${failed} failed`,
  );
  if (files.length === 0) throw new CosignError("CLI_USAGE", `No case files (*.yaml) in "${root}"`);
  if (failed > 0) {
    throw new CosignError("POLICY_TEST_FAILED", `${failed} of ${passed + failed} cases failed`);
  }
};
