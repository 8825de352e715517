/**
 * The messages between `cue.ts` (the caller's thread) and `_cue_worker.ts` (the worker thread
 * that runs the CUE wasm): one request, one reply, matched by `id`.
 *
 * @module
 */

/** A file the worker writes to its in-memory file system before running CUE. */
export interface CueRequestFile {
  /** A plain file name (`policy-0.cue`); the worker puts it in a directory of its own. */
  readonly name: string;
  readonly text: string;
}

/** Run the `cue` command line once: `cue <command> <flags...> <files...>`. */
export interface CueRequest {
  readonly id: number;
  readonly command: "vet" | "version";
  readonly flags: readonly string[];
  readonly files: readonly CueRequestFile[];
}

/** What one run printed and its exit code; `error` when the wasm itself failed. */
export type CueReply =
  | {
    readonly id: number;
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
  }
  | { readonly id: number; readonly error: string };

/** The directory the worker writes request `id`'s files to. */
export function requestDirectory(id: number): string {
  return `/dcosign-cue/${id}`;
}
