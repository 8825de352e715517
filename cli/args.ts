/**
 * Command-line flags the way cosign (Go's pflag) reads them: `--flag value`, `--flag=value`,
 * `-f value`, booleans as `--flag` or `--flag=false`, repeatable list flags, `--` ending flags.
 *
 * A small declarative parser instead of a framework: command tables stay plain data (cheap to
 * load for `--help` and shell completion), and cosign's `--tlog-upload=false` style works.
 *
 * @module
 */

import { CosignError } from "../lib/errors.ts";

/** The kinds of value a flag takes. */
export type FlagType = "boolean" | "string" | "list" | "integer";

/** One flag of a command. */
export interface FlagSpec {
  /** Long name without dashes, for example `certificate-identity`. */
  readonly name: string;
  /** One-letter alias, for example `a`. */
  readonly short?: string;
  readonly type: FlagType;
  readonly description: string;
  /** Default shown in help and used when absent. */
  readonly default?: string | boolean | number;
  /** Other long names accepted (cosign's `--cert` for `--certificate`). */
  readonly aliases?: readonly string[];
  /** Placeholder in help, for example `FILE`. */
  readonly value?: string;
  /** Allowed values. */
  readonly choices?: readonly string[];
  /** Kept for compatibility; hidden from help. */
  readonly hidden?: boolean;
}

/** Parsed flag values with typed accessors. */
export class Flags {
  readonly #values: Map<string, string | boolean | number | string[]>;
  readonly #specs: Map<string, FlagSpec>;

  constructor(
    specs: readonly FlagSpec[],
    values: Map<string, string | boolean | number | string[]>,
  ) {
    this.#specs = new Map(specs.map((s) => [s.name, s]));
    this.#values = values;
  }

  #spec(name: string, type: FlagType): FlagSpec {
    const spec = this.#specs.get(name);
    if (!spec || spec.type !== type) throw new TypeError(`No ${type} flag "--${name}" declared`);
    return spec;
  }

  /** Whether the command declares the flag (shared option builders serve several commands). */
  declares(name: string): boolean {
    return this.#specs.has(name);
  }

  /** Whether the user gave the flag explicitly. */
  has(name: string): boolean {
    return this.#values.has(name);
  }

  /** A string flag, or its default, or undefined. */
  string(name: string): string | undefined {
    const spec = this.#spec(name, "string");
    const value = this.#values.get(name) ?? spec.default;
    return value === undefined ? undefined : String(value);
  }

  /** A boolean flag (default false unless declared otherwise). */
  boolean(name: string): boolean {
    const spec = this.#spec(name, "boolean");
    const value = this.#values.get(name) ?? spec.default ?? false;
    return value === true;
  }

  /** A list flag: every occurrence, in order. */
  list(name: string): string[] {
    this.#spec(name, "list");
    const value = this.#values.get(name);
    return Array.isArray(value) ? [...value] : [];
  }

  /** An integer flag, or its default, or undefined. */
  integer(name: string): number | undefined {
    const spec = this.#spec(name, "integer");
    const value = this.#values.get(name) ?? spec.default;
    return value === undefined ? undefined : Number(value);
  }
}

function usageError(message: string): CosignError {
  return new CosignError("CLI_USAGE", message);
}

/**
 * A flag the command does not declare. The dispatcher turns it into a "did you mean" or "not
 * supported by dcosign" message (`cli/suggest.ts`).
 */
export class UnknownFlagError extends CosignError {
  /** The flag as typed, without any `=value`: `--keyy`, `-x`. */
  readonly flag: string;

  /** An unknown `flag` (as typed, without `=value`). */
  constructor(flag: string) {
    super("CLI_USAGE", `Unknown flag: ${flag}`);
    this.name = "UnknownFlagError";
    this.flag = flag;
  }
}

function parseBoolean(name: string, text: string): boolean {
  if (/^(true|1|t|yes)$/i.test(text)) return true;
  if (/^(false|0|f|no)$/i.test(text)) return false;
  throw usageError(`Invalid value "${text}" for flag --${name}: expected true or false`);
}

/**
 * Split argv into flag values and positional arguments against `specs`. Unknown flags, missing
 * values and bad values raise `CLI_USAGE`.
 */
export function parseFlags(
  specs: readonly FlagSpec[],
  argv: readonly string[],
): { flags: Flags; args: string[] } {
  const byName = new Map<string, FlagSpec>();
  for (const spec of specs) {
    byName.set(`--${spec.name}`, spec);
    for (const alias of spec.aliases ?? []) byName.set(`--${alias}`, spec);
    if (spec.short) byName.set(`-${spec.short}`, spec);
  }
  const values = new Map<string, string | boolean | number | string[]>();
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith("-") || token === "-") {
      args.push(token);
      continue;
    }
    const eq = token.indexOf("=");
    const key = eq > 0 ? token.slice(0, eq) : token;
    const spec = byName.get(key);
    if (!spec) throw new UnknownFlagError(key);
    let text: string | undefined = eq > 0 ? token.slice(eq + 1) : undefined;
    if (spec.type === "boolean") {
      values.set(spec.name, text === undefined ? true : parseBoolean(spec.name, text));
      continue;
    }
    if (text === undefined) {
      text = argv[++i];
      if (text === undefined) throw usageError(`Flag needs an argument: ${key}`);
    }
    if (spec.choices && !spec.choices.includes(text)) {
      throw usageError(
        `Invalid value "${text}" for flag --${spec.name}: expected one of ${
          spec.choices.join(", ")
        }`,
      );
    }
    if (spec.type === "list") {
      const list = values.get(spec.name);
      values.set(spec.name, [...(Array.isArray(list) ? list : []), text]);
    } else if (spec.type === "integer") {
      if (!/^-?\d+$/.test(text)) {
        throw usageError(`Invalid value "${text}" for flag --${spec.name}: expected an integer`);
      }
      values.set(spec.name, Number(text));
    } else {
      values.set(spec.name, text);
    }
  }
  return { flags: new Flags(specs, values), args };
}

/** Parse a Go-style duration (`3m`, `90s`, `1h30m`, `500ms`) to milliseconds. */
export function parseDuration(text: string): number {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  if (rest === "0") return 0;
  while (rest.length > 0) {
    const match = rest.match(/^(\d+(?:\.\d+)?)(ms|s|m|h)/);
    if (!match) throw usageError(`Invalid duration "${text}": use a form like 3m, 90s or 1h30m`);
    total += Number(match[1]) * unit[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return total;
}
