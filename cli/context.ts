/**
 * What a command may touch of the outside world, injected so the whole CLI runs in-process in
 * tests: environment, working directory, standard streams, terminal detection, network and
 * clock. `main.ts` builds the real one; tests build one over buffers.
 *
 * @module
 */

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
  /** All of standard input (read once, on demand). */
  readonly readStdin: () => Promise<Uint8Array>;
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

/** Resolve `path` against the context's working directory. */
export function resolvePath(ctx: CliContext, path: string): string {
  return path.startsWith("/") ? path : `${ctx.cwd.replace(/\/$/, "")}/${path}`;
}

/** Read all of a readable stream into bytes. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    length += chunk.length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** The real process context (used by `main.ts`). */
export function processContext(signal: AbortSignal): CliContext {
  const stdinIsTerminal = Deno.stdin.isTerminal();
  return {
    env: (name) => Deno.env.get(name),
    environment: () => Deno.env.toObject(),
    cwd: Deno.cwd(),
    stdout: { write: (data) => writeFully(Deno.stdout, data) },
    stderr: { write: (data) => writeFully(Deno.stderr, data) },
    readStdin: () => readAll(Deno.stdin.readable),
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
