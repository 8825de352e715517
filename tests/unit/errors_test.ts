/**
 * Error codes are a closed set: `ErrorCode` lists every code, an unknown code does not compile,
 * and every code listed is raised (or mapped) somewhere in the product's source.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CosignError, type ErrorCode } from "../../lib/errors.ts";
import { REPO_ROOT } from "../_support.ts";

function listedCodes(): string[] {
  const source = Deno.readTextFileSync(join(REPO_ROOT, "lib", "errors.ts"));
  const union = source.slice(source.indexOf("export type ErrorCode ="));
  const body = union.slice(0, union.indexOf(";"));
  return [...body.matchAll(/\| "([A-Z0-9_]+)"/g)].map((m) => m[1]!);
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

Deno.test("ErrorCode is closed: a misspelt code does not compile", () => {
  // @ts-expect-error: "VERIFY_TLOG_MISING" is not an ErrorCode
  const misspelt = new CosignError("VERIFY_TLOG_MISING", "typo");
  const known: ErrorCode = "VERIFY_TLOG_MISSING";
  assert.equal(new CosignError(known, "ok").code, "VERIFY_TLOG_MISSING");
  assert.equal(misspelt.code, "VERIFY_TLOG_MISING");
});

Deno.test("every code ErrorCode lists is raised somewhere in lib/, server/ or cli/", () => {
  const codes = listedCodes();
  assert.ok(codes.length > 100, `found only ${codes.length} codes in lib/errors.ts`);
  assert.equal(new Set(codes).size, codes.length, "a code is listed twice");
  let text = "";
  for (const dir of ["lib", "server", "cli"]) {
    for (const file of sourceFiles(join(REPO_ROOT, dir))) {
      if (file.endsWith(join("lib", "errors.ts"))) continue;
      // Leave out the lines of code unions: a code only declared is not raised.
      text += Deno.readTextFileSync(file).split("\n")
        .filter((line) => !/^\s*\| "[A-Z0-9_]+"/.test(line) && !/type \w+ = "/.test(line))
        .join("\n");
    }
  }
  const unused = codes.filter((code) => !text.includes(`"${code}"`));
  assert.deepEqual(unused, [], "codes listed in ErrorCode that nothing raises");
});
