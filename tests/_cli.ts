/**
 * Run the dcosign CLI in-process with captured output, or as a real subprocess.
 *
 * @module
 */

import { runCli } from "../cli/app.ts";
import { type CliContext, fileReader } from "../cli/context.ts";
import { REPO_ROOT } from "./_support.ts";

/** The outcome of one CLI run. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of an in-process run. */
export interface RunOptions {
  /** Environment variables (nothing is inherited from the test process). */
  env?: Record<string, string>;
  cwd?: string;
  stdin?: string | Uint8Array;
  fetch?: typeof fetch;
  now?: () => Date;
  /** Answers to terminal prompts, in order (makes stdin a terminal). */
  prompts?: string[];
}

/** Run `dcosign ARGV...` in this process with an injected context. */
export async function dcosign(argv: string[], options: RunOptions = {}): Promise<CliResult> {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const env = { HOME: "/nonexistent-home", PATH: Deno.env.get("PATH") ?? "", ...options.env };
  const prompts = options.prompts ? [...options.prompts] : undefined;
  const stdin = typeof options.stdin === "string"
    ? new TextEncoder().encode(options.stdin)
    : options.stdin ?? new Uint8Array();
  const cwd = options.cwd ?? Deno.cwd();
  const readStdin = () => Promise.resolve(stdin);
  const ctx: CliContext = {
    env: (name) => env[name as keyof typeof env],
    environment: () => ({ ...env }),
    cwd,
    stdout: { write: (data) => void out.push(data.slice()) },
    stderr: { write: (data) => void err.push(data.slice()) },
    readStdin,
    readFile: fileReader(cwd, readStdin),
    isTerminal: { stdin: prompts !== undefined, stdout: false, stderr: false },
    ...(prompts ? { prompt: () => Promise.resolve(prompts.shift() ?? "") } : {}),
    fetch: options.fetch ?? globalThis.fetch,
    now: options.now ?? (() => new Date()),
    signal: new AbortController().signal,
  };
  const code = await runCli(argv, ctx);
  const decode = (chunks: Uint8Array[]) => new TextDecoder().decode(concatChunks(chunks));
  return { code, stdout: decode(out), stderr: decode(err) };
}

function concatChunks(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}

/** Run `deno run -A main.ts ARGV...` as a subprocess. */
export async function dcosignProcess(
  argv: string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: string } = {},
): Promise<CliResult> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO_ROOT}main.ts`, ...argv],
    cwd: options.cwd ?? REPO_ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = command.spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}
