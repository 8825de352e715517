/**
 * What a command is, as plain data: its help, flags and arguments (`CommandSpec`), the input its
 * implementation receives (`CommandInput`), and the flags every command takes. Command tables
 * and implementations import these types; nothing here imports a command.
 *
 * @module
 */

import type { Flags, FlagSpec } from "./args.ts";
import type { CliContext } from "./context.ts";
import type { Output } from "./output.ts";

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
  /** Run `fn` when the command has ended, however it ends (closing HTTP clients). */
  readonly defer: (fn: () => void) => void;
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
