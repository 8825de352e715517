/**
 * The commands about dcosign itself, as plain data: `env`, `completion` and `version`
 * (cosign-spec.md section 10.3). Implementations load on demand.
 *
 * @module
 */

import type { CommandSpec } from "../spec.ts";
import { OUTPUT_FLAG } from "../options/flags.ts";

/** The tool commands, in help order. */
export const TOOL_COMMANDS: readonly CommandSpec[] = [
  {
    name: "env",
    summary: "Print the environment variables dcosign reads, with their values",
    description:
      "Print the environment variables that change dcosign's behaviour, with descriptions and\n" +
      "current values; secrets are masked unless --show-sensitive-values.",
    args: { min: 0, max: 0 },
    examples: ["dcosign env", "dcosign env --show-descriptions=false -o json"],
    flags: [
      {
        name: "show-descriptions",
        type: "boolean",
        default: true,
        description: "Print what each variable does",
      },
      {
        name: "show-sensitive-values",
        type: "boolean",
        description: "Print secret values instead of ******",
      },
      OUTPUT_FLAG,
    ],
    load: async () => (await import("./env.ts")).env,
  },
  {
    name: "completion",
    summary: "Print a shell completion script (bash, zsh, fish)",
    usage: "bash|zsh|fish",
    description: "Print a completion script for the shell, generated from the command table.",
    args: { min: 1, max: 1 },
    examples: [
      "source <(dcosign completion bash)",
      "dcosign completion fish > ~/.config/fish/completions/dcosign.fish",
    ],
    load: async () => (await import("./completion.ts")).completion,
  },
  {
    name: "version",
    summary: "Print the version",
    args: { min: 0, max: 0 },
    flags: [{ name: "json", type: "boolean", description: "Print JSON" }],
    load: async () => (await import("./version.ts")).version,
  },
];
