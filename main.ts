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

if (import.meta.main) {
  const controller = new AbortController();
  const interrupt = () => controller.abort(new DOMException("Interrupted", "AbortError"));
  Deno.addSignalListener("SIGINT", interrupt);
  let code = 1;
  try {
    code = await runCli(Deno.args, processContext(controller.signal));
  } catch (error) {
    // Nothing may crash as success (SECURITY.md rule 10): report and exit 1.
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    code = 1;
  }
  Deno.exit(code);
}
