/**
 * What a command may touch of the outside world, injected so the whole CLI runs in-process in
 * tests: environment, working directory, standard streams, terminal detection, network and
 * clock. `main.ts` builds the real one; tests build one over buffers.
 *
 * @module
 */

import type { Bytes } from "../lib/util/bytes.ts";
import { CosignError, type ErrorCode, errorMessage } from "../lib/errors.ts";

/** A sink for bytes (stdout, stderr). */
export interface Sink {
  write(data: Uint8Array): void;
}

/** The environment of one CLI invocation. */
export interface CliContext {
  /** An environment variable, or undefined. */
  readonly env: (name: string) => string | undefined;
  /** The whole environment (for `env` and subprocesses). */
  readonly environment: () => Record<string, string>;
  readonly cwd: string;
  readonly stdout: Sink;
  readonly stderr: Sink;
  /**
   * All of standard input (read once, on demand), at most `maxBytes`: more is a `RangeError`
   * raised as soon as the budget is passed, not after reading it all.
   */
  readonly readStdin: (maxBytes: number) => Promise<Uint8Array>;
  /**
   * Read a file the user named, `-` meaning standard input: the one way commands read their
   * inputs, bounded whatever the path is (a regular file, a FIFO, `/dev/zero`), failing with one
   * line that names `what` (SECURITY.md rule 4). Build it with `fileReader`.
   */
  readonly readFile: (path: string, options: ReadFileOptions) => Promise<Bytes>;
  /** Which standard streams are terminals. */
  readonly isTerminal: {
    readonly stdin: boolean;
    readonly stdout: boolean;
    readonly stderr: boolean;
  };
  /** Ask the user on the terminal; `hidden` for passwords. Undefined when there is no TTY. */
  readonly prompt?: (question: string, options?: { hidden?: boolean }) => Promise<string>;
  readonly fetch: typeof fetch;
  readonly now: () => Date;
  /** Aborted on timeout or interrupt. */
  readonly signal: AbortSignal;
}

/**
 * The test hook `DCOSIGN_NOW`: an RFC 3339 time every clock read of the command returns
 * (TUF expiry, certificate and key windows, signing times), so tests and benchmarks can run
 * the real CLI, in-process or as a process, against recorded data whose validity has passed
 * (the Sigstore TUF corpus is valid on 2026-08-25). Not for production: a run with it set
 * warns once. Anyone who can set it could as well set `SIGSTORE_ROOT_FILE`, so it grants no
 * power the environment did not already have.
 */
export const CLOCK_OVERRIDE_VARIABLE = "DCOSIGN_NOW";

/**
 * `ctx` with the `DCOSIGN_NOW` clock when the variable is set, and the warning to print; a
 * value that is not an RFC 3339 time is a `CLI_USAGE` error.
 */
export function withClockOverride(ctx: CliContext): { ctx: CliContext; warning?: string } {
  let text: string | undefined;
  try {
    text = ctx.env(CLOCK_OVERRIDE_VARIABLE);
  } catch {
    return { ctx }; // no --allow-env: the hook cannot be set
  }
  if (text === undefined || text === "") return { ctx };
  const fixed = new Date(text);
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(text) ||
    Number.isNaN(fixed.getTime())
  ) {
    throw new CosignError(
      "CLI_USAGE",
      `Invalid ${CLOCK_OVERRIDE_VARIABLE} "${text}": expected an RFC 3339 time such as 2026-08-25T00:00:00Z`,
    );
  }
  return {
    ctx: { ...ctx, now: () => new Date(fixed.getTime()) },
    warning: `${CLOCK_OVERRIDE_VARIABLE} is set: the clock reads "${fixed.toISOString()}" ` +
      "for this run (a test hook; unset it for real use)",
  };
}

/** Resolve `path` against the context's working directory. */
export function resolvePath(ctx: Pick<CliContext, "cwd">, path: string): string {
  return path.startsWith("/") ? path : `${ctx.cwd.replace(/\/$/, "")}/${path}`;
}

/** How `CliContext.readFile` reads a file. */
export interface ReadFileOptions {
  /** The most bytes read; a longer input fails as soon as it passes this. */
  readonly maxBytes: number;
  /** What the file is, for the message: `predicate`, `--bundle`, `key`... */
  readonly what: string;
  /** The code of the error a failure raises (default `CLI_USAGE`). */
  readonly code?: ErrorCode;
}

/** The `readFile` of a context with this working directory and standard input. */
export function fileReader(
  cwd: string,
  readStdin: (maxBytes: number) => Promise<Uint8Array>,
): CliContext["readFile"] {
  return async (path, { maxBytes, what, code = "CLI_USAGE" }) => {
    try {
      if (path === "-") {
        const bytes = await readStdin(maxBytes);
        if (bytes.length > maxBytes) throw tooLarge(maxBytes);
        return Uint8Array.from(bytes);
      }
      return await readPathBounded(resolvePath({ cwd }, path), maxBytes);
    } catch (error) {
      const where = path === "-" ? "from standard input" : `"${path}"`;
      throw new CosignError(code, `Cannot read ${what} ${where}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  };
}

function tooLarge(maxBytes: number): RangeError {
  return new RangeError(`larger than the limit of ${maxBytes} bytes`);
}

/**
 * Read at most `maxBytes` of `path`. A regular file's size is checked before reading; anything
 * else (a FIFO, a device, a file growing while read) is read in chunks against the budget.
 */
async function readPathBounded(path: string, maxBytes: number): Promise<Bytes> {
  using file = await Deno.open(path, { read: true });
  const info = await file.stat();
  if (info.isDirectory) throw new TypeError("it is a directory");
  if (info.isFile && info.size > maxBytes) throw tooLarge(maxBytes);
  // Plain reads, not `file.readable`: a one-shot command would otherwise load and start the
  // web streams machinery for one small file (~2 ms of its start-up, bench/cold_start_bench.ts).
  const chunks: Uint8Array[] = [];
  let length = 0;
  // A regular file fits in one buffer (one byte more, to see a file that grew); else 64 KiB.
  const chunkSize = info.isFile ? Math.min(info.size, maxBytes) + 1 : 1 << 16;
  while (true) {
    const chunk = new Uint8Array(chunkSize);
    const read = await file.read(chunk);
    if (read === null) break;
    length += read;
    if (length > maxBytes) throw tooLarge(maxBytes);
    chunks.push(read === chunk.length ? chunk : chunk.subarray(0, read));
  }
  return chunks.length === 1 ? chunks[0] as Bytes : joinChunks(chunks, length);
}

/**
 * `chunks` one after another. (lib/util/bytes.ts has `concatAll`, but that module would bring
 * its hashing into every command's start-up: tests/unit/startup_graph_test.ts.)
 */
function joinChunks(chunks: readonly Uint8Array[], length: number): Bytes {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * Read all of a readable stream into bytes, at most `maxBytes` (default: no limit); past it the
 * stream is cancelled and a `RangeError` raised.
 */
export async function readAll(
  stream: ReadableStream<Uint8Array>,
  maxBytes = Infinity,
): Promise<Bytes> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = stream.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.length;
      if (length > maxBytes) {
        await reader.cancel();
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return joinChunks(chunks, length);
}

/** The real process context (used by `main.ts`). */
export function processContext(signal: AbortSignal): CliContext {
  const stdinIsTerminal = Deno.stdin.isTerminal();
  const readStdin = (maxBytes: number) => readAll(Deno.stdin.readable, maxBytes);
  const cwd = Deno.cwd();
  return {
    env: (name) => Deno.env.get(name),
    environment: () => Deno.env.toObject(),
    cwd,
    stdout: { write: (data) => writeFully(Deno.stdout, data) },
    stderr: { write: (data) => writeFully(Deno.stderr, data) },
    readStdin,
    readFile: fileReader(cwd, readStdin),
    isTerminal: {
      stdin: stdinIsTerminal,
      stdout: Deno.stdout.isTerminal(),
      stderr: Deno.stderr.isTerminal(),
    },
    ...(stdinIsTerminal ? { prompt: promptTerminal } : {}),
    fetch: globalThis.fetch,
    now: () => new Date(),
    signal,
  };
}

function writeFully(target: { writeSync(data: Uint8Array): number }, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.length) offset += target.writeSync(data.subarray(offset));
}

async function promptTerminal(question: string, options: { hidden?: boolean } = {}) {
  const encoder = new TextEncoder();
  writeFully(Deno.stderr, encoder.encode(question));
  if (options.hidden) Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  const buffer = new Uint8Array(1);
  try {
    while (true) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) break;
      const byte = buffer[0]!;
      if (byte === 3) throw new Error("Interrupted");
      if (byte === 13 || byte === 10) break;
      if (byte === 127 || byte === 8) {
        bytes.pop();
        continue;
      }
      bytes.push(byte);
    }
  } finally {
    if (options.hidden) {
      Deno.stdin.setRaw(false);
      writeFully(Deno.stderr, encoder.encode("\n"));
    }
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}
