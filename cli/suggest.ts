/**
 * What to say about a command or flag the table does not have: the closest names ("did you
 * mean"), or that it is cosign's and not supported by dcosign (`cosign_gaps.ts`), so a
 * cosign user never gets a bare "Unknown". Loaded only on that error path.
 *
 * Closeness is the Levenshtein distance, as cobra's suggestions use it (cobra's
 * `SuggestionsMinimumDistance` is 2), plus prefixes (`download sig` -> `signature`).
 *
 * @module
 */

import type { FlagSpec } from "./args.ts";
import { COSIGN_ONLY_COMMANDS, COSIGN_ONLY_FLAGS, COSIGN_ONLY_NOTES } from "./cosign_gaps.ts";
import { type CommandSpec, GLOBAL_FLAGS } from "./spec.ts";

/** Longest word compared: longer input is never close to a command or flag name. */
const MAX_WORD = 64;

/** The Levenshtein distance between `a` and `b` (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The candidates close to `word`, closest first: at most `maxDistance` edits away (default 2),
 * or starting with `word` when it has at least 3 characters.
 */
export function closestNames(
  word: string,
  candidates: Iterable<string>,
  maxDistance = 2,
): string[] {
  if (word.length === 0 || word.length > MAX_WORD) return [];
  const lower = word.toLowerCase();
  const scored: [string, number][] = [];
  for (const candidate of new Set(candidates)) {
    const distance = editDistance(lower, candidate.toLowerCase());
    const prefix = lower.length >= 3 && candidate.toLowerCase().startsWith(lower);
    if (distance <= maxDistance || prefix) scored.push([candidate, prefix ? 0.5 : distance]);
  }
  scored.sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]));
  return scored.slice(0, 3).map(([name]) => name);
}

function quoted(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(" or ");
}

function note(key: string): string {
  const text = COSIGN_ONLY_NOTES[key];
  return text === undefined ? "" : ` (${text})`;
}

/**
 * The message for `word` where a command of `dcosign PATH` was expected (`path` the names of
 * the parent commands, `level` the commands there).
 */
export function unknownCommandMessage(
  path: readonly string[],
  word: string,
  level: readonly CommandSpec[],
): string {
  const full = [...path, word].join(" ");
  const where = ["dcosign", ...path].join(" ");
  if (COSIGN_ONLY_COMMANDS.includes(full)) {
    return `Command "cosign ${full}" is not supported by dcosign${
      note(COSIGN_ONLY_NOTES[full] === undefined ? path[0] ?? word : full)
    }: run "${where} --help" for the commands it has`;
  }
  const names = level.filter((c) => !c.hidden).flatMap((c) => [c.name, ...(c.aliases ?? [])]);
  const close = closestNames(word, names);
  return `Unknown command "${word}" for "${where}": ${
    close.length > 0
      ? `did you mean ${quoted(close)}?`
      : `run "${where} --help" for the list of commands`
  }`;
}

/**
 * The message for `flag` (as typed, `--name` or `-x`) given to `dcosign PATH`, whose flags are
 * `specs` (global flags included).
 */
export function unknownFlagMessage(
  path: readonly string[],
  flag: string,
  specs: readonly FlagSpec[],
): string {
  const command = path.join(" ");
  const name = flag.replace(/^--?/, "");
  const where = ["dcosign", ...path].join(" ");
  if (flag.startsWith("--") && (COSIGN_ONLY_FLAGS[command] ?? []).includes(name)) {
    return `Flag ${flag} of "cosign ${command}" is not supported by dcosign${
      note(name)
    }: run "${where} --help" for the flags it has`;
  }
  const long = [...specs, ...GLOBAL_FLAGS].filter((s) => !s.hidden).flatMap((s) => [
    s.name,
    ...(s.aliases ?? []),
  ]);
  const close = flag.startsWith("--") ? closestNames(name, long) : [];
  return `Unknown flag ${flag} for "${where}": ${
    close.length > 0
      ? `did you mean ${close.map((c) => `--${c}`).join(" or ")}?`
      : `run "${where} --help" for its flags`
  }`;
}
