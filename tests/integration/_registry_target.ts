/**
 * The embedded registry as a test target, reached either in-process (`app.fetch` injected as
 * `fetch`) or over a real socket (`startStack` on port 0), so one scenario runs both ways.
 *
 * @module
 */

import {
  type BasicCredentials,
  createStackApp,
  openStackServices,
  startStack,
} from "../../server/mod.ts";
import type { FetchLike } from "../registry/_oci_layout.ts";

/** How a scenario reaches the registry. */
export type TargetMode = "in-process" | "socket";

/** Both modes. */
export const MODES: readonly TargetMode[] = ["in-process", "socket"];

/** A registry under test. */
export interface RegistryTarget extends AsyncDisposable {
  readonly mode: TargetMode;
  /** Base URL, without a trailing slash. */
  readonly base: string;
  readonly fetch: FetchLike;
}

/** Options of `openTarget`. */
export interface TargetOptions {
  readonly registryAuth?: BasicCredentials;
  readonly dataDir?: string;
}

/** Open the embedded stack in `mode`. */
export async function openTarget(
  mode: TargetMode,
  options: TargetOptions = {},
): Promise<RegistryTarget> {
  if (mode === "socket") {
    const stack = await startStack({ ...options, port: 0 });
    return {
      mode,
      base: stack.url,
      fetch: (input, init) => fetch(input, init),
      [Symbol.asyncDispose]: () => stack.close(),
    };
  }
  const services = await openStackServices(options);
  const app = createStackApp(services, options);
  return {
    mode,
    base: "http://registry.test",
    fetch: async (input, init) => await app.fetch(new Request(input, init)),
    [Symbol.asyncDispose]: () => services.close(),
  };
}

/** The OCI error codes of an error response (the body is consumed). */
export async function errorCodes(res: Response): Promise<string[]> {
  const body = await res.json() as { errors?: { code?: unknown }[] };
  return (body.errors ?? []).map((e) => String(e.code));
}
