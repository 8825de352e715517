/**
 * A signing environment for CLI tests: the embedded stack (in-process or over a socket), a
 * pushed test image, a key pair, and a runner for `dcosign` against them.
 *
 * @module
 */

import { encodeTrustedRoot } from "../../lib/trust/trusted_root.ts";
import { encodeSigningConfig } from "../../lib/trust/signing_config.ts";
import {
  bindStack,
  createStackApp,
  openStackServices,
  type Stack,
  type StackServices,
  type StackTrust,
  startStack,
} from "../../server/mod.ts";
import { type CliResult, dcosign } from "../_cli.ts";
import { tempDir } from "../_support.ts";
import { type OciLayout, pushLayout, writeOciLayout } from "../registry/_oci_layout.ts";

/** How the CLI reaches the registry. */
export type Mode = "in-process" | "socket";

/** An image environment for one test. */
export interface ImageEnv extends AsyncDisposable {
  readonly mode: Mode;
  /** The registry as the CLI names it (`host:port`). */
  readonly registry: string;
  /** A working directory holding `cosign.key` / `cosign.pub` (password `pw`). */
  readonly dir: string;
  /** The fetch the CLI uses. */
  readonly fetch: typeof fetch;
  /** The running stack (socket mode). */
  readonly stack?: Stack;
  /** The stack's services (both modes). */
  readonly services: StackServices;
  /** Base URL of the stack's services (Rekor, Fulcio, OIDC, TSA). */
  readonly url: string;
  /** Paths (in `dir`) of the stack's trusted_root.json and signing_config.json. */
  readonly trustedRoot: string;
  readonly signingConfig: string;
  readonly trust: StackTrust;
  /** A fresh one-hour identity token for the default identity (`signer@dcosign.test`). */
  idToken(identity?: string): Promise<string>;
  /** Push a fresh random image; returns `registry/repo:tag` and its digest. */
  push(repository: string, options?: { multiArch?: boolean; tag?: string }): Promise<PushedImage>;
  /** Run dcosign with the environment's cwd, fetch and COSIGN_PASSWORD. */
  run(argv: string[], env?: Record<string, string>): Promise<CliResult>;
}

/** An image pushed for a test. */
export interface PushedImage {
  readonly reference: string;
  readonly digest: string;
  readonly byDigest: string;
  readonly layout: OciLayout;
}

/** Identities the test stacks' OIDC issuer logs in as: an email (default) and a workflow. */
export const TEST_IDENTITIES = [
  "signer@dcosign.test",
  "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
] as const;

/** Open the stack, write a key pair, and return the environment. */
export async function openImageEnv(mode: Mode): Promise<ImageEnv> {
  const dir = await tempDir();
  let registry: string;
  let clientFetch: typeof fetch;
  let close: () => Promise<void>;
  let stack: Stack | undefined;
  let services: StackServices;
  let trust: StackTrust;
  if (mode === "socket") {
    stack = await startStack({ port: 0, identities: TEST_IDENTITIES });
    registry = stack.registryHost;
    services = stack.services;
    trust = stack.trust;
    clientFetch = globalThis.fetch;
    close = () => stack!.close();
  } else {
    services = await openStackServices({ identities: TEST_IDENTITIES });
    const app = createStackApp(services);
    registry = "localhost:5999";
    trust = bindStack(services, `http://${registry}`);
    clientFetch = async (input, init) => await app.fetch(new Request(input, init));
    close = () => services.close();
  }
  const url = `http://${registry}`;
  const trustedRoot = `${dir.path}/trusted_root.json`;
  const signingConfig = `${dir.path}/signing_config.json`;
  await Deno.writeTextFile(trustedRoot, JSON.stringify(encodeTrustedRoot(trust.trustedRoot)));
  await Deno.writeTextFile(
    signingConfig,
    JSON.stringify(encodeSigningConfig(trust.signingConfig)),
  );
  const run = (argv: string[], env: Record<string, string> = {}) =>
    dcosign(argv, { cwd: dir.path, fetch: clientFetch, env: { COSIGN_PASSWORD: "pw", ...env } });
  const generated = await run(["generate-key-pair"]);
  if (generated.code !== 0) throw new Error(`generate-key-pair failed: ${generated.stderr}`);
  let count = 0;
  return {
    mode,
    registry,
    dir: dir.path,
    fetch: clientFetch,
    ...(stack ? { stack } : {}),
    services,
    url,
    trustedRoot,
    signingConfig,
    trust,
    idToken: (identity) => services.oidc.mintToken(identity),
    async push(repository, options = {}) {
      const layout = await writeOciLayout(`${dir.path}/layout-${count++}`, {
        ...(options.multiArch ? { multiArch: true } : {}),
        tag: options.tag ?? "v1",
      });
      const digest = await pushLayout(layout, `http://${registry}`, repository, {
        fetch: clientFetch,
      });
      return {
        reference: `${registry}/${repository}:${layout.tag}`,
        digest,
        byDigest: `${registry}/${repository}@${digest}`,
        layout,
      };
    },
    run,
    async [Symbol.asyncDispose]() {
      await close();
      await dir[Symbol.asyncDispose]();
    },
  };
}
