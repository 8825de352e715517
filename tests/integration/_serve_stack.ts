/**
 * Runs `serveStack` in a subprocess for the crash and signal tests, with the `StackOptions`
 * given as JSON in the first argument: the same code path `dcosign serve` uses, until SIGINT or
 * SIGTERM.
 *
 * @module
 */

import { serveStack, type StackOptions } from "../../server/mod.ts";

const options = JSON.parse(Deno.args[0] ?? "{}") as StackOptions;
await serveStack(options);
