/**
 * `policy test DIR|FILE`: run OPA's YAML test cases (`lib/policy/opa_cases.ts`) found in a
 * folder and its subfolders, one line per case (`ok`, `FAIL` with the reason, a file that
 * cannot be read or parsed is a `FAIL` too, `skip` with the reason an `--exceptions` file gives)
 * and a summary line; a failure exits 1. Exception entries that matched nothing are warned about.
 *
 * @module
 */

import { CosignError, errorMessage } from "../../lib/errors.ts";
import { OpaCaseExceptions, parseOpaCaseExceptions } from "../../lib/policy/opa_case_exceptions.ts";
import { parseOpaCases, runOpaCase } from "../../lib/policy/opa_cases.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { resolvePath } from "../context.ts";

/** Largest exceptions file. */
const MAX_EXCEPTIONS_FILE_BYTES = 1 << 20;

/** Largest case file. */
const MAX_CASE_FILE_BYTES = 4 << 20;

/** Most case files in one run. */
const MAX_CASE_FILES = 10_000;

/** Most folder levels walked. */
const MAX_DEPTH = 32;

/** A case file: the path to read and its name relative to the corpus root (for exceptions). */
interface CaseFile {
  readonly path: string;
  readonly relative: string;
}

/** The case files under `root` (sorted), or `root` itself when it is a file. */
async function caseFiles(root: string, absolute: string): Promise<CaseFile[]> {
  const info = await Deno.stat(absolute).catch((error) => {
    throw new CosignError("CLI_USAGE", `Cannot read "${root}": ${errorMessage(error)}`, {
      cause: error,
    });
  });
  if (!info.isDirectory) return [{ path: root, relative: root.slice(root.lastIndexOf("/") + 1) }];
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
  return found.map((relative) => ({ path: `${root.replace(/\/$/, "")}/${relative}`, relative }));
}

/** The `--exceptions` file, or none (every file in the run's syntax, nothing skipped). */
async function readExceptions(input: CommandInput): Promise<OpaCaseExceptions> {
  const path = input.flags.string("exceptions");
  if (path === undefined) return new OpaCaseExceptions();
  const bytes = await input.ctx.readFile(path, {
    maxBytes: MAX_EXCEPTIONS_FILE_BYTES,
    what: "exceptions file",
  });
  try {
    return parseOpaCaseExceptions(new TextDecoder().decode(bytes), {
      maxBytes: MAX_EXCEPTIONS_FILE_BYTES,
    });
  } catch (error) {
    throw new CosignError(
      "CLI_USAGE",
      `Cannot read the exceptions file "${path}": ${errorMessage(error)}`,
      { cause: error },
    );
  }
}

/** `policy test`: run every case, report each, exit 1 on any failure. */
export const policyTest: CommandRun = async (input) => {
  const { ctx, flags, out } = input;
  const root = input.args[0]!;
  const quiet = flags.boolean("quiet");
  const syntax = flags.boolean("v0-compatible") ? "v0" : "v1";
  const exceptions = await readExceptions(input);
  const files = await caseFiles(root, resolvePath(ctx, root));
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const { path: file, relative } of files) {
    let cases;
    try {
      const bytes = await ctx.readFile(file, { maxBytes: MAX_CASE_FILE_BYTES, what: "case file" });
      cases = parseOpaCases(new TextDecoder().decode(bytes), { maxBytes: MAX_CASE_FILE_BYTES });
    } catch (error) {
      failed++;
      out.line(`FAIL ${file}: ${errorMessage(error)}`);
      continue;
    }
    const fileSyntax = exceptions.syntaxOf(relative, syntax);
    for (const c of cases) {
      input.signal.throwIfAborted();
      const skip = exceptions.skipOf(relative, c.note);
      const outcome = runOpaCase(c, {
        syntax: fileSyntax,
        now: ctx.now(),
        ...(skip === undefined ? {} : { skip }),
      });
      if (outcome.status === "pass") {
        passed++;
        if (!quiet) out.line(`ok   ${file} ${outcome.note}`);
      } else if (outcome.status === "skip") {
        // Printed even with --quiet: a skipped case is never silent.
        skipped++;
        out.line(`skip ${file} ${outcome.note}: ${outcome.reason}`);
      } else {
        failed++;
        out.line(`FAIL ${file} ${outcome.note}: ${outcome.reason}`);
      }
    }
  }
  const total = passed + failed + skipped;
  out.line(
    `${files.length} file${files.length === 1 ? "" : "s"}, ${total} cases: ` +
      `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`,
  );
  const unused = exceptions.unused();
  for (const entry of unused.v0) out.warn(`Exception v0 "${entry}" matched no case file`);
  for (const entry of unused.skip) out.warn(`Exception skip "${entry}" matched no case`);
  if (files.length === 0) throw new CosignError("CLI_USAGE", `No case files (*.yaml) in "${root}"`);
  if (failed > 0) {
    throw new CosignError("POLICY_TEST_FAILED", `${failed} of ${total} cases failed`);
  }
};
