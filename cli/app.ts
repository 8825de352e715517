/**
 * The CLI dispatcher: finds the command in argv, parses its flags, prints help, runs it with the
 * global timeout, and maps every failure to one line on stderr and an exit code. Errors become
 * exit codes here and nowhere else.
 *
 * @module
 */

import { CosignError, type ErrorCode } from "../lib/errors.ts";
import { type Flags, type FlagSpec, parseDuration, parseFlags } from "./_args.ts";
import type { CliContext } from "./context.ts";
import { resolvePath } from "./context.ts";
import { Output } from "./output.ts";
import { COMMANDS, VERSION } from "./commands.ts";

/** What a command implementation receives. */
export interface CommandInput {
  readonly ctx: CliContext;
  readonly flags: Flags;
  readonly args: string[];
  readonly out: Output;
  /** The full command path, for example `download signature`. */
  readonly command: string;
  /** Aborted on `--timeout`. */
  readonly signal: AbortSignal;
}

/** A command implementation; returns the exit code (default 0). */
export type CommandRun = (input: CommandInput) => Promise<number | void>;

/** A command: help text and flags as plain data, the implementation loaded on demand. */
export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** Positional arguments in help, for example `IMAGE...`. */
  readonly usage?: string;
  readonly description?: string;
  readonly examples?: readonly string[];
  readonly args?: { readonly min: number; readonly max?: number };
  readonly flags?: readonly FlagSpec[];
  readonly hidden?: boolean;
  readonly aliases?: readonly string[];
  readonly subcommands?: readonly CommandSpec[];
  readonly load?: () => Promise<CommandRun>;
}

/** Flags every command takes (cosign-spec.md section 10.1). */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  {
    name: "output-file",
    type: "string",
    value: "FILE",
    description: "Write the command's output to FILE instead of stdout",
  },
  {
    name: "timeout",
    short: "t",
    type: "string",
    value: "DURATION",
    default: "3m",
    description: "Time limit for the whole command (for example 30s, 3m, 1h)",
  },
  {
    name: "verbose",
    short: "d",
    type: "boolean",
    description: "Show the cause chain of errors and every HTTP exchange (credentials redacted)",
  },
  { name: "help", short: "h", type: "boolean", description: "Show help for the command" },
];

/**
 * Exit codes of cosign's legacy verification path (cosign-spec.md section 9.3); every other
 * failure exits 1.
 */
const EXIT_CODES: Partial<Record<ErrorCode, number>> = {
  VERIFY_NO_SIGNATURES: 10,
  VERIFY_IMAGE_TAG_NOT_FOUND: 11,
  VERIFY_NO_MATCHING_SIGNATURE: 12,
  VERIFY_NO_CERTIFICATE: 13,
};

/** The exit code for a failure. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CosignError) return EXIT_CODES[error.code] ?? 1;
  return 1;
}

function findCommand(argv: readonly string[]): { path: CommandSpec[]; rest: string[] } {
  const path: CommandSpec[] = [];
  let level: readonly CommandSpec[] = COMMANDS;
  let index = 0;
  for (; index < argv.length; index++) {
    const token = argv[index]!;
    const next = level.find((c) => c.name === token || c.aliases?.includes(token));
    if (!next) break;
    path.push(next);
    level = next.subcommands ?? [];
    if (level.length === 0) {
      index++;
      break;
    }
  }
  return { path, rest: argv.slice(index) };
}

/** Run the CLI for `argv` (without the program name) and return the exit code. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const verbose = argv.includes("-d") || argv.includes("--verbose");
  let out = new Output(ctx, { verbose });
  try {
    let { path, rest } = findCommand(argv);
    if (path.length === 0 && rest[0] === "help") {
      ({ path, rest } = findCommand(rest.slice(1)));
      rest = [...rest, "--help"];
    }
    const command = path.at(-1);
    if (!command) {
      if (rest.length === 0 || rest[0] === "--help" || rest[0] === "-h") {
        out.result(renderHelp([], COMMANDS));
        return 0;
      }
      if (rest[0] === "--version") {
        out.line(VERSION);
        return 0;
      }
      throw new CosignError(
        "CLI_USAGE",
        `Unknown command "${rest[0]}": run "dcosign --help" for the list of commands`,
      );
    }
    const { flags, args } = parseFlags([...(command.flags ?? []), ...GLOBAL_FLAGS], rest);
    if (flags.boolean("help") || (!command.load && command.subcommands)) {
      if (!flags.boolean("help") && args.length > 0) {
        throw new CosignError(
          "CLI_USAGE",
          `Unknown command "${args[0]}" for "dcosign ${path.map((c) => c.name).join(" ")}"`,
        );
      }
      out.result(renderHelp(path, command.subcommands ?? []));
      return 0;
    }
    const min = command.args?.min ?? 0;
    const max = command.args?.max ?? Infinity;
    if (args.length < min || args.length > max) {
      const expected = min === max
        ? `${min}`
        : max === Infinity
        ? `at least ${min}`
        : `${min} to ${max}`;
      throw new CosignError(
        "CLI_USAGE",
        `"dcosign ${path.map((c) => c.name).join(" ")}" takes ${expected} argument${
          expected === "1" ? "" : "s"
        } (${command.usage ?? "none"}), got ${args.length}: see --help`,
      );
    }
    const outputFile = flags.string("output-file");
    out = new Output(ctx, { verbose, outputFile: outputFile !== undefined });
    const timeoutMs = parseDuration(flags.string("timeout") ?? "3m");
    const signal = timeoutMs > 0
      ? AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)])
      : ctx.signal;
    const run = await command.load!();
    const runCtx = verbose
      ? { ...ctx, fetch: (await import("./http_log.ts")).loggingFetch(ctx.fetch, out) }
      : ctx;
    const code = await run({
      ctx: runCtx,
      flags,
      args,
      out,
      command: path.map((c) => c.name).join(" "),
      signal,
    }) ?? 0;
    if (outputFile !== undefined) {
      const bytes = out.captured();
      const total = bytes.reduce((n, b) => n + b.length, 0);
      const all = new Uint8Array(total);
      let offset = 0;
      for (const b of bytes) {
        all.set(b, offset);
        offset += b.length;
      }
      await Deno.writeFile(resolvePath(ctx, outputFile), all);
    }
    return code;
  } catch (error) {
    out.error(timeoutAware(error));
    return exitCodeFor(error);
  }
}

function timeoutAware(error: unknown): unknown {
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return new CosignError("CLI_TIMEOUT", "The command timed out: raise --timeout", {
      cause: error,
    });
  }
  return error;
}

function flagLine(spec: FlagSpec): [string, string] {
  const short = spec.short ? `-${spec.short}, ` : "    ";
  const value = spec.type === "boolean"
    ? ""
    : ` ${spec.value ?? (spec.type === "list" ? "VALUE" : spec.type.toUpperCase())}`;
  const repeat = spec.type === "list" ? " (repeatable)" : "";
  const def = spec.default !== undefined && spec.default !== false
    ? ` (default ${JSON.stringify(spec.default)})`
    : "";
  const choices = spec.choices ? ` [${spec.choices.join("|")}]` : "";
  return [`  ${short}--${spec.name}${value}`, `${spec.description}${choices}${repeat}${def}`];
}

function table(rows: [string, string][]): string {
  const width = Math.min(40, Math.max(...rows.map(([left]) => left.length)) + 2);
  return rows.map(([left, right]) =>
    left.length + 2 > width ? `${left}\n${" ".repeat(width)}${right}` : left.padEnd(width) + right
  ).join("\n");
}

/** Help text of a command path (or of the root). */
export function renderHelp(path: readonly CommandSpec[], subcommands: readonly CommandSpec[]) {
  const command = path.at(-1);
  const name = ["dcosign", ...path.map((c) => c.name)].join(" ");
  const parts: string[] = [];
  parts.push(
    command
      ? (command.description ?? command.summary)
      : "dcosign: sign and verify container images, blobs and attestations (Sigstore Cosign for Deno)",
  );
  const visible = subcommands.filter((c) => !c.hidden);
  if (visible.length > 0) {
    parts.push(`Usage:\n  ${name} COMMAND [flags]`);
    parts.push(`Commands:\n${table(visible.map((c) => [`  ${c.name}`, c.summary]))}`);
  }
  if (command?.load) {
    parts.push(`Usage:\n  ${name} [flags]${command.usage ? ` ${command.usage}` : ""}`);
  }
  if (command?.examples?.length) {
    parts.push(`Examples:\n${command.examples.map((e) => `  ${e}`).join("\n")}`);
  }
  const flags = (command?.flags ?? []).filter((f) => !f.hidden);
  if (flags.length > 0) parts.push(`Flags:\n${table(flags.map(flagLine))}`);
  parts.push(`Global flags:\n${table(GLOBAL_FLAGS.map(flagLine))}`);
  if (visible.length > 0) parts.push(`Run "${name} COMMAND --help" for a command's flags.`);
  return `${parts.join("\n\n")}\n`;
}
