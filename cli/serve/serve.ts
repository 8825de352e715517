/**
 * `serve`: the embedded Sigstore stack (DESIGN.md "The embedded stack").
 *
 * @module
 */

import { CosignError } from "../../lib/errors.ts";
import type { CommandRun } from "../spec.ts";
import { resolvePath } from "../context.ts";

/** Run the stack until SIGINT/SIGTERM. */
export const serve: CommandRun = async ({ flags, ctx, out, signal: _timeout }) => {
  const { startStack } = await import("../../server/mod.ts");
  const port = flags.integer("port") ?? 0;
  if (port < 0 || port > 65535) throw new CosignError("CLI_USAGE", `Invalid --port ${port}`);
  const auth = flags.string("basic-auth");
  let registryAuth: { username: string; password: string } | undefined;
  if (auth !== undefined) {
    const colon = auth.indexOf(":");
    if (colon <= 0) {
      throw new CosignError("CLI_USAGE", "--basic-auth takes USER:PASSWORD");
    }
    registryAuth = { username: auth.slice(0, colon), password: auth.slice(colon + 1) };
  }
  const dataDir = flags.string("data-dir");
  const readyFile = flags.string("ready-file");
  const stack = await startStack({
    host: flags.string("host") ?? "127.0.0.1",
    port,
    ...(dataDir ? { dataDir: resolvePath(ctx, dataDir) } : {}),
    ...(readyFile ? { readyFile: resolvePath(ctx, readyFile) } : {}),
    ...(registryAuth ? { registryAuth } : {}),
    ...(flags.list("identity").length > 0 ? { identities: flags.list("identity") } : {}),
  });
  out.info(`dcosign serve: listening on ${stack.url} (registry ${stack.registryHost})`);
  out.info(
    `TUF mirror: ${stack.ready.tufMirror}${
      stack.ready.tufRoot ? ` (root ${stack.ready.tufRoot})` : ""
    }`,
  );
  if (readyFile) out.info(`Ready file: ${readyFile}`);
  out.info("Stop with Ctrl-C (SIGINT) or SIGTERM");
  // `serve` runs until a signal: the global --timeout does not apply.
  const stop = () => void stack.close();
  ctx.signal.addEventListener("abort", stop, { once: true });
  Deno.addSignalListener("SIGTERM", stop);
  try {
    await stack.finished;
  } finally {
    Deno.removeSignalListener("SIGTERM", stop);
    ctx.signal.removeEventListener("abort", stop);
  }
};
