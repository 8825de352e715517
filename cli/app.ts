/**
 * The CLI dispatcher: finds the command in argv, parses its flags, prints help, runs it with the
 * global timeout, and maps every failure to one line on stderr and an exit code (the codes are
 * `exit_codes.ts`'s, the help text `help.ts`'s, the command types `spec.ts`'s).
 *
 * @module
 */

import { CosignError } from "../lib/errors.ts";
import { exitCodeFor } from "./exit_codes.ts";
import { renderHelp } from "./help.ts";
import { type CommandSpec, GLOBAL_FLAGS } from "./spec.ts";
import { type FlagSpec, parseDuration, parseFlags, UnknownFlagError } from "./args.ts";
import type { CliContext } from "./context.ts";
import { resolvePath, withClockOverride } from "./context.ts";
import { Output } from "./output.ts";
import { COMMANDS } from "./commands.ts";
import { VERSION } from "./tools/version.ts";

/** What argv names: the command path, its arguments and flags, and a word that matched no command. */
interface Located {
  readonly path: CommandSpec[];
  /** Everything but the command names, in order: flags (wherever they were) and arguments. */
  readonly rest: string[];
  /** The first word that is no command where one was expected (unknown, or an argument). */
  readonly unmatched?: string;
  /** `dcosign help COMMAND...`. */
  readonly help: boolean;
}

/** Every flag of the commands in `level` and below. */
function subtreeFlags(level: readonly CommandSpec[]): FlagSpec[] {
  return level.flatMap((c) => [...(c.flags ?? []), ...subtreeFlags(c.subcommands ?? [])]);
}

/**
 * Whether a flag typed before or between command names takes the next word as its value, so that
 * the word is not read as a command: by the type it has in the global flags, the commands found
 * so far and the commands below (a switch only if it is one everywhere); a flag declared nowhere
 * takes a value, as cobra assumes.
 */
function takesValue(
  token: string,
  path: readonly CommandSpec[],
  level: readonly CommandSpec[],
): boolean {
  const specs = [...GLOBAL_FLAGS, ...path.flatMap((c) => c.flags ?? []), ...subtreeFlags(level)]
    .filter((s) =>
      token === `--${s.name}` || s.aliases?.some((a) => token === `--${a}`) ||
      (s.short !== undefined && token === `-${s.short}`)
    );
  return specs.length === 0 || specs.some((s) => s.type !== "boolean");
}

/**
 * Find the command in argv the way cobra does: flags may come anywhere, before the command name
 * (`dcosign -d verify`, `dcosign --output-file F verify`, `dcosign -t 30s verify`) or between
 * command names (`dcosign download -d signature`).
 */
function findCommand(argv: readonly string[]): Located {
  const path: CommandSpec[] = [];
  const rest: string[] = [];
  let level: readonly CommandSpec[] = COMMANDS;
  let help = false;
  for (let index = 0; index < argv.length; index++) {
    const token = argv[index]!;
    if (token === "--") {
      rest.push(...argv.slice(index));
      break;
    }
    if (token.startsWith("-") && token !== "-") {
      rest.push(token);
      if (!token.includes("=") && takesValue(token, path, level) && index + 1 < argv.length) {
        rest.push(argv[++index]!);
      }
      continue;
    }
    if (path.length === 0 && !help && token === "help") {
      help = true;
      continue;
    }
    const next = level.find((c) => c.name === token || c.aliases?.includes(token));
    if (!next) {
      rest.push(...argv.slice(index));
      return { path, rest, unmatched: token, help };
    }
    path.push(next);
    level = next.subcommands ?? [];
    if (level.length === 0) {
      rest.push(...argv.slice(index + 1));
      break;
    }
  }
  return { path, rest, help };
}

/** Run the CLI for `argv` (without the program name) and return the exit code. */
export async function runCli(argv: readonly string[], given: CliContext): Promise<number> {
  const verbose = argv.includes("-d") || argv.includes("--verbose");
  let ctx = given;
  let out = new Output(ctx, { verbose });
  try {
    const clock = withClockOverride(given);
    ctx = clock.ctx;
    if (clock.warning) out.warn(clock.warning);
    const located = findCommand(argv);
    const { path, unmatched } = located;
    const rest = located.help ? [...located.rest, "--help"] : located.rest;
    const command = path.at(-1);
    const names = path.map((c) => c.name);
    // A word where a command was expected and none matched: say what was meant, or that it is
    // cosign's and not dcosign's (the suggestions load only on this path).
    if (unmatched !== undefined && !command?.load) {
      const { unknownCommandMessage } = await import("./suggest.ts");
      throw new CosignError(
        "CLI_USAGE",
        unknownCommandMessage(names, unmatched, command?.subcommands ?? COMMANDS),
      );
    }
    if (!command) {
      if (rest.includes("--version")) {
        out.line(VERSION);
        return 0;
      }
      const flag = rest.find((t) => t.startsWith("-") && !isGlobalFlag(t));
      if (flag !== undefined && flag !== "--help" && flag !== "-h") {
        const { unknownFlagMessage } = await import("./suggest.ts");
        throw new CosignError("CLI_USAGE", unknownFlagMessage([], flag, []));
      }
      out.result(renderHelp([], COMMANDS));
      return 0;
    }
    const specs = [...(command.flags ?? []), ...GLOBAL_FLAGS];
    let parsed: ReturnType<typeof parseFlags>;
    try {
      parsed = parseFlags(specs, rest);
    } catch (error) {
      if (!(error instanceof UnknownFlagError)) throw error;
      const { unknownFlagMessage } = await import("./suggest.ts");
      throw new CosignError("CLI_USAGE", unknownFlagMessage(names, error.flag, specs), {
        cause: error,
      });
    }
    const { flags, args } = parsed;
    if (flags.boolean("help") || (!command.load && command.subcommands)) {
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
        `"dcosign ${names.join(" ")}" takes ${expected} argument${expected === "1" ? "" : "s"} (${
          command.usage ?? "none"
        }), got ${args.length}: see --help`,
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
    const deferred: (() => void)[] = [];
    let code: number;
    try {
      code = await run({
        ctx: runCtx,
        flags,
        args,
        out,
        command: names.join(" "),
        signal,
        defer: (fn) => void deferred.push(fn),
      }) ?? 0;
    } finally {
      for (const fn of deferred.reverse()) {
        try {
          fn();
        } catch {
          // closing what is already closed
        }
      }
    }
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

/** `--name`, `--name=value` or `-x` of a global flag. */
function isGlobalFlag(token: string): boolean {
  const key = token.split("=", 1)[0]!;
  return GLOBAL_FLAGS.some((s) => key === `--${s.name}` || key === `-${s.short}`);
}

function timeoutAware(error: unknown): unknown {
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return new CosignError("CLI_TIMEOUT", "The command timed out: raise --timeout", {
      cause: error,
    });
  }
  return error;
}
