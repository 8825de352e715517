/**
 * The dcosign command-line entry point: `deno run -A main.ts COMMAND ...`.
 *
 * The only module that calls `Deno.exit`. Everything else lives in `cli/` (argv to library calls)
 * and `lib/` (the library).
 *
 * @module
 */

import { runCli } from "./cli/app.ts";
import { processContext } from "./cli/context.ts";

/** Run the CLI on `args` in this process and return its exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const controller = new AbortController();
  const interrupt = () => controller.abort(new DOMException("Interrupted", "AbortError"));
  Deno.addSignalListener("SIGINT", interrupt);
  try {
    return await runCli(args, processContext(controller.signal));
  } catch (error) {
    // Nothing may crash as success (SECURITY.md rule 10): report and exit 1.
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", interrupt);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
