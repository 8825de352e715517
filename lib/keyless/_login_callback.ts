/**
 * The loopback end of the interactive login (RFC 8252 section 7.3): a one-shot listener for the
 * authorization redirect that checks the `state` (SECURITY.md row 24) before it takes a code, and
 * the system browser opener. Private to `interactive_login.ts`.
 *
 * @module
 */

import { CosignError, errorMessage } from "../errors.ts";

/** The loopback listener's address from `--oidc-redirect-url`. */
function parseRedirect(
  text: string,
): { hostname: string; host: string; port: number; path: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new TypeError(`Invalid redirect URL "${text}"`, { cause });
  }
  const loopback: Record<string, string> = {
    "localhost": "127.0.0.1",
    "127.0.0.1": "127.0.0.1",
    "[::1]": "::1",
  };
  const hostname = loopback[url.hostname];
  if (url.protocol !== "http:" || hostname === undefined || url.search || url.hash) {
    throw new TypeError(
      `Invalid redirect URL "${text}": it must be http://localhost, 127.0.0.1 or [::1] without a query`,
    );
  }
  return { hostname, host: url.hostname, port: Number(url.port || "0"), path: url.pathname };
}

/** One redirect awaited on the loopback listener. */
export interface Callback {
  /** The redirect URI to send, with the port actually listened on. */
  readonly redirectUri: string;
  /** Settles with the code of the first redirect, or the reason there is none. */
  readonly code: Promise<string>;
  /** Stop listening (in-flight answers finish first). */
  close(): Promise<void>;
}

/**
 * Listen on the redirect URL's loopback host and port (0 picks one) for one redirect carrying
 * `state`; the first redirect settles `code` (a wrong state rejects with `OIDC_STATE_MISMATCH`),
 * as do the timeout (`OIDC_LOGIN_TIMEOUT`) and `signal`. `close()` stops listening.
 */
export function listenForCallback(
  redirectUrl: string,
  state: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Callback {
  const { hostname, host, port, path } = parseRedirect(redirectUrl);
  let settle: { resolve: (code: string) => void; reject: (error: Error) => void } | undefined;
  const code = new Promise<string>((resolve, reject) => settle = { resolve, reject });
  code.catch(() => {}); // observed by the caller; never an unhandled rejection
  const timer = setTimeout(
    () =>
      finish(
        new CosignError(
          "OIDC_LOGIN_TIMEOUT",
          `No login redirect arrived within ${Math.round(timeoutMs / 1000)} seconds`,
        ),
      ),
    timeoutMs,
  );
  const onAbort = () => finish(new CosignError("OIDC_LOGIN_FAILED", "The login was aborted"));
  signal?.addEventListener("abort", onAbort, { once: true });
  function finish(error: Error | undefined, value?: string): void {
    const pending = settle;
    settle = undefined;
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    if (!pending) return;
    if (error) pending.reject(error);
    else pending.resolve(value!);
  }
  const page = (status: number, text: string) =>
    new Response(`<!doctype html><title>dcosign</title><p>${text}</p>\n`, {
      status,
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  const handler = (request: Request): Response => {
    const url = new URL(request.url);
    if (url.pathname !== path) return page(404, "Not found.");
    if (!settle) return page(410, "This login has already finished.");
    const params = url.searchParams;
    // SECURITY.md row 24: an answer without our state is someone else's login.
    if (params.get("state") !== state) {
      finish(
        new CosignError(
          "OIDC_STATE_MISMATCH",
          "The login redirect carried a state that does not match the request: refusing it",
        ),
      );
      return page(400, "Login refused: the state does not match.");
    }
    const error = params.get("error");
    if (error !== null) {
      const description = params.get("error_description") ?? "";
      finish(
        new CosignError(
          "OIDC_LOGIN_FAILED",
          `The issuer refused the login: "${error.slice(0, 100)}" ${description.slice(0, 200)}`
            .trim(),
        ),
      );
      return page(400, "Login failed.");
    }
    const value = params.get("code");
    if (!value) {
      finish(new CosignError("OIDC_LOGIN_FAILED", "The login redirect carried no code"));
      return page(400, "Login failed: no code.");
    }
    finish(undefined, value);
    return page(200, "Login complete. You may close this window.");
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port, onListen() {} }, handler);
  } catch (error) {
    finish(new CosignError("OIDC_LOGIN_FAILED", "Cannot listen for the login redirect"));
    throw new CosignError(
      "OIDC_LOGIN_FAILED",
      `Cannot listen for the login redirect on "${host}:${port}": ${errorMessage(error)}`,
      { cause: error },
    );
  }
  const redirectUri = `http://${host}:${server.addr.port}${path}`;
  return {
    redirectUri,
    code,
    close: async () => {
      finish(new CosignError("OIDC_LOGIN_FAILED", "The login was abandoned"));
      await server.shutdown();
    },
  };
}

/**
 * Open the system browser (`xdg-open`, `open`, or the Windows URL handler). Resolves false when
 * there is no display or the opener failed, so the caller prints the URL instead.
 */
export async function openSystemBrowser(url: string): Promise<boolean> {
  const os = Deno.build.os;
  let command: [string, ...string[]];
  if (os === "darwin") command = ["open", url];
  else if (os === "windows") command = ["rundll32", "url.dll,FileProtocolHandler", url];
  else {
    const env = (name: string) => {
      try {
        return Deno.env.get(name);
      } catch {
        return undefined;
      }
    };
    if (!env("DISPLAY") && !env("WAYLAND_DISPLAY")) return false;
    command = ["xdg-open", url];
  }
  try {
    const [program, ...args] = command;
    const output = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return output.success;
  } catch {
    return false;
  }
}
