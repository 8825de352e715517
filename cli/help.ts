/**
 * `--help` text: a command's description, usage, examples and flags (with their types, choices,
 * repetition and defaults), or the list of commands, rendered from the command table's data.
 *
 * @module
 */

import type { FlagSpec } from "./args.ts";
import { type CommandSpec, GLOBAL_FLAGS } from "./spec.ts";

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
