/**
 * Field problems in the words Kubernetes users know: knative's `apis.FieldError`, which
 * policy-controller uses both to reject an invalid ClusterImagePolicy and to deny a workload
 * (`invalid value: X: spec.mode`, `missing field(s): spec.images`,
 * `failed policy: P: spec.containers[0].image`). Keeping the same texts lets the `# ERROR:` lines
 * of policy-controller's invalid examples, and the strings its e2e scripts grep for, match ours.
 *
 * A problem has a message, the field paths it concerns, optional details, and a level: warnings
 * (a `warn` mode policy) are reported but admit. `formatProblems` merges problems with the same
 * message and details into one line with their paths sorted, as knative's `Error()` does.
 *
 * @module
 */

/** One problem with one or more fields. */
export interface FieldProblem {
  /** What is wrong, for example `invalid value: garbage`. */
  readonly message: string;
  /** The fields it concerns, full paths from the document root (`spec.authorities[0].key`). */
  readonly paths: readonly string[];
  /** More detail, shown on its own line. */
  readonly details?: string;
  /** `warning` problems are reported but do not deny. */
  readonly level: "error" | "warning";
  /** Print the path first, as the API server's schema errors do (`path: Invalid value: ...`). */
  readonly pathFirst?: boolean;
}

/** A set of problems, built bottom-up and given their place with `via`. */
export class FieldErrors {
  readonly #problems: FieldProblem[] = [];

  /** The problems collected, in order. */
  get problems(): readonly FieldProblem[] {
    return this.#problems;
  }

  /** True when there is at least one problem of level `error`. */
  get hasErrors(): boolean {
    return this.#problems.some((p) => p.level === "error");
  }

  /** Add a problem whose paths are relative to `prefix` (the empty string: the root). */
  add(problem: FieldProblem, prefix = ""): this {
    this.#problems.push({ ...problem, paths: problem.paths.map((p) => joinPath(prefix, p)) });
    return this;
  }

  /** Add every problem of `other`, under `prefix`. */
  merge(other: FieldErrors, prefix = ""): this {
    for (const problem of other.problems) this.add(problem, prefix);
    return this;
  }
}

/** A path under a parent: `spec` + `images[0]` = `spec.images[0]`; an empty part is omitted. */
export function joinPath(parent: string, child: string): string {
  if (parent === "") return child;
  if (child === "") return parent;
  return child.startsWith("[") ? `${parent}${child}` : `${parent}.${child}`;
}

/** `name[index]`. */
export function indexPath(name: string, index: number): string {
  return `${name}[${index}]`;
}

/** knative `ErrMissingField`: `missing field(s): a, b`. */
export function missingField(...paths: string[]): FieldProblem {
  return { message: "missing field(s)", paths, level: "error" };
}

/** knative `ErrDisallowedFields`: `must not set the field(s): a`. */
export function disallowedFields(...paths: string[]): FieldProblem {
  return { message: "must not set the field(s)", paths, level: "error" };
}

/** knative `ErrMultipleOneOf`: `expected exactly one, got both: a, b`. */
export function multipleOneOf(...paths: string[]): FieldProblem {
  return { message: "expected exactly one, got both", paths, level: "error" };
}

/** knative `ErrMissingOneOf`: `expected exactly one, got neither: a, b`. */
export function missingOneOf(...paths: string[]): FieldProblem {
  return { message: "expected exactly one, got neither", paths, level: "error" };
}

/** knative `ErrInvalidValue`: `invalid value: <value>: <path>` and optional details. */
export function invalidValue(value: unknown, path: string, details?: string): FieldProblem {
  return {
    message: `invalid value: ${typeof value === "string" ? value : JSON.stringify(value)}`,
    paths: [path],
    ...(details !== undefined ? { details } : {}),
    level: "error",
  };
}

/**
 * The API server's schema error for a field (`field.Invalid`): `path: Invalid value: "x": why`.
 * policy-controller users see it for a keyless authority without identities.
 */
export function schemaInvalid(path: string, value: unknown, detail: string): FieldProblem {
  return {
    message: `Invalid value: ${JSON.stringify(value ?? null)}: ${detail}`,
    paths: [path],
    level: "error",
    pathFirst: true,
  };
}

/** knative `ErrGeneric`: a free message about some fields. */
export function genericProblem(message: string, paths: string[], details?: string): FieldProblem {
  return { message, paths, ...(details !== undefined ? { details } : {}), level: "error" };
}

/** The same problem as a warning. */
export function asWarning(problem: FieldProblem): FieldProblem {
  return { ...problem, level: "warning" };
}

/** knative's text of one problem: `message: path, path` and the details on the next line. */
export function formatProblem(problem: FieldProblem): string {
  const head = problem.paths.length === 0
    ? problem.message
    : problem.pathFirst
    ? `${problem.paths.join(", ")}: ${problem.message}`
    : `${problem.message}: ${problem.paths.join(", ")}`;
  return problem.details === undefined || problem.details === ""
    ? head
    : `${head}\n${problem.details}`;
}

/**
 * The problems as knative prints them: those with the same message, details and level merged
 * (paths sorted, each once), one per line, sorted by message as knative sorts them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatProblems } from "@dcosign/dcosign";
 *
 * const lines = formatProblems([
 *   { message: "missing field(s)", paths: ["spec.images"], level: "error" },
 *   { message: "missing field(s)", paths: ["spec.authorities"], level: "error" },
 * ]);
 * assert.deepEqual(lines, ["missing field(s): spec.authorities, spec.images"]);
 * ```
 */
export function formatProblems(problems: readonly FieldProblem[]): string[] {
  const merged = new Map<string, { problem: FieldProblem; paths: Set<string> }>();
  for (const problem of problems) {
    const key = JSON.stringify([problem.message, problem.details ?? "", problem.level]);
    const entry = merged.get(key);
    if (entry) { for (const path of problem.paths) entry.paths.add(path); }
    else merged.set(key, { problem, paths: new Set(problem.paths) });
  }
  return [...merged.values()]
    .map(({ problem, paths }) => ({ ...problem, paths: [...paths].sort() }))
    .sort((a, b) => a.message < b.message ? -1 : a.message > b.message ? 1 : 0)
    .map(formatProblem);
}
