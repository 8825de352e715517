/**
 * Exceptions for a corpus of OPA YAML cases (`dcosign policy test --exceptions FILE`): OPA picks
 * the Rego syntax by folder and cannot skip a case, so a corpus that mixes syntaxes or holds
 * cases known to be wrong is run with a file that says which files are Rego v0 and which cases
 * are skipped, each with its reason. A YAML map:
 *
 * - `v0`: files, or folders ending in `/`, relative to the corpus root, whose modules are
 *   Rego v0 (the others keep the run's syntax);
 * - `skip`: `file` (every case of it) or `file#note` (one case), relative to the corpus root, to
 *   the reason the case is not run. A skip without a reason is refused.
 *
 * Entries that matched nothing are listed by {@link OpaCaseExceptions.unused}, so that a stale
 * file is noticed rather than trusted.
 *
 * @module
 */

import { parseYaml } from "../util/yaml.ts";
import type { RegoSyntax } from "./rego/mod.ts";

/** Options of {@link parseOpaCaseExceptions}. */
export interface ParseOpaCaseExceptionsOptions {
  /** Largest file, in UTF-16 code units (default 1 MiB). */
  readonly maxBytes?: number;
  /** Most entries in `v0` and in `skip` (default 10,000 each). */
  readonly maxEntries?: number;
}

/** The entries of an exceptions file that matched no case. */
export interface UnusedOpaCaseExceptions {
  readonly v0: string[];
  readonly skip: string[];
}

/** Which files of a corpus are Rego v0 and which cases are skipped (see the module doc). */
export class OpaCaseExceptions {
  readonly #v0: readonly string[];
  readonly #skip: ReadonlyMap<string, string>;
  readonly #used = new Set<string>();

  /**
   * @param v0 files, or folders ending in `/`, written in Rego v0
   * @param skip `file` or `file#note` to the reason the case is skipped
   */
  constructor(v0: readonly string[] = [], skip: ReadonlyMap<string, string> = new Map()) {
    this.#v0 = [...v0];
    this.#skip = new Map(skip);
  }

  /**
   * The syntax of a case file's modules: `"v0"` when the file or a folder holding it is listed,
   * else `fallback`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { OpaCaseExceptions } from "./opa_case_exceptions.ts";
   *
   * const exceptions = new OpaCaseExceptions(["all/"]);
   * assert.equal(exceptions.syntaxOf("all/test-all-0027.yaml", "v1"), "v0");
   * assert.equal(exceptions.syntaxOf("any/test-any-0034.yaml", "v1"), "v1");
   * ```
   */
  syntaxOf(file: string, fallback: RegoSyntax): RegoSyntax {
    const entry = this.#v0.find((e) => e === file || (e.endsWith("/") && file.startsWith(e)));
    if (entry === undefined) return fallback;
    this.#used.add(`v0\0${entry}`);
    return "v0";
  }

  /** Why a case is skipped (its `file#note` entry, else its file's), or `undefined`. */
  skipOf(file: string, note: string): string | undefined {
    for (const key of [`${file}#${note}`, file]) {
      const reason = this.#skip.get(key);
      if (reason !== undefined) {
        this.#used.add(`skip\0${key}`);
        return reason;
      }
    }
    return undefined;
  }

  /** The entries no {@link syntaxOf} or {@link skipOf} call has matched so far. */
  unused(): UnusedOpaCaseExceptions {
    return {
      v0: this.#v0.filter((e) => !this.#used.has(`v0\0${e}`)),
      skip: [...this.#skip.keys()].filter((k) => !this.#used.has(`skip\0${k}`)),
    };
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === "object" && !Array.isArray(x);
}

function checkPath(path: string, where: string): void {
  if (path === "" || path.startsWith("/") || path.split("/").includes("..")) {
    throw new SyntaxError(`${where}: "${path}" is not a path relative to the corpus root`);
  }
}

/**
 * Parse an exceptions file (the module doc gives the format). Throws `SyntaxError` for YAML that
 * does not parse or does not have that shape, `RangeError` past the size caps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOpaCaseExceptions } from "./opa_case_exceptions.ts";
 *
 * const exceptions = parseOpaCaseExceptions(`
 * v0: [all/]
 * skip:
 *   "time/test-time-0947.yaml#time/time caching": needs OPA's test-only built-in test.sleep
 * `);
 * assert.match(exceptions.skipOf("time/test-time-0947.yaml", "time/time caching") ?? "", /sleep/);
 * assert.deepEqual(exceptions.unused(), { v0: ["all/"], skip: [] });
 * ```
 */
export function parseOpaCaseExceptions(
  text: string,
  options: ParseOpaCaseExceptionsOptions = {},
): OpaCaseExceptions {
  const doc = parseYaml(text, { maxBytes: options.maxBytes ?? 1 << 20 }) ?? {};
  if (!isRecord(doc)) throw new SyntaxError("An exceptions file is a map (v0, skip)");
  const unknown = Object.keys(doc).filter((k) => k !== "v0" && k !== "skip");
  if (unknown.length > 0) {
    throw new SyntaxError(`Unknown key "${unknown[0]}" in the exceptions file (v0, skip)`);
  }
  const max = options.maxEntries ?? 10_000;
  const v0 = doc.v0 ?? [];
  if (!Array.isArray(v0) || v0.some((e) => typeof e !== "string")) {
    throw new SyntaxError('"v0" is not a list of paths');
  }
  if (v0.length > max) throw new RangeError(`More than ${max} entries in "v0"`);
  for (const path of v0 as string[]) checkPath(path, '"v0"');
  const skipDoc = doc.skip ?? {};
  if (!isRecord(skipDoc)) throw new SyntaxError('"skip" is not a map of cases to reasons');
  const skip = Object.entries(skipDoc);
  if (skip.length > max) throw new RangeError(`More than ${max} entries in "skip"`);
  for (const [key, reason] of skip) {
    if (typeof reason !== "string" || reason.trim() === "") {
      throw new SyntaxError(`"skip": "${key}" has no reason`);
    }
    checkPath(key.split("#")[0] ?? "", '"skip"');
  }
  return new OpaCaseExceptions(v0 as string[], new Map(skip as [string, string][]));
}
