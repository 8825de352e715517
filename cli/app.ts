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
import { parseDuration, parseFlags } from "./args.ts";
import type { CliContext } from "./context.ts";
import { resolvePath, withClockOverride } from "./context.ts";
import { Output } from "./output.ts";
import { COMMANDS } from "./commands.ts";
import { VERSION } from "./tools/version.ts";

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
export async function runCli(argv: readonly string[], given: CliContext): Promise<number> {
  const verbose = argv.includes("-d") || argv.includes("--verbose");
  let ctx = given;
  let out = new Output(ctx, { verbose });
  try {
    const clock = withClockOverride(given);
    ctx = clock.ctx;
    if (clock.warning) out.warn(clock.warning);
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
