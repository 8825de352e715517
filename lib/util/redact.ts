/**
 * Redaction for logs (`--verbose`): credentials never reach a log line, whichever client made the
 * request (registry, Rekor, Fulcio, TSA, OIDC). Headers that carry credentials become `REDACTED`;
 * so do URL user info and query values with secret-looking names (signed blob URLs, tokens).
 *
 * @module
 */

const SECRET_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-registry-auth",
]);
const SECRET_PARAM_RE = /sig|token|key|credential|secret|password|auth/i;

/** Headers as a plain object with credentials replaced by `REDACTED`. */
export function redactHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? "REDACTED" : value;
  });
  return out;
}

/** A URL with secret-looking query values (signed blob URLs, tokens) replaced by `REDACTED`. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (parsed.username !== "" || parsed.password !== "") {
    parsed.username = "REDACTED";
    parsed.password = "";
  }
  for (const name of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAM_RE.test(name)) parsed.searchParams.set(name, "REDACTED");
  }
  return parsed.toString();
}
