/**
 * The search index of the embedded Rekor (`POST /api/v1/index/retrieve`): entries by artifact
 * hash and by x509 key or certificate content, joined with `and`/`or`. It takes key content only
 * and never fetches a URL (SECURITY.md row 13, rekor GHSA-4c4x-jm2x-pf9j).
 *
 * @module
 */

import { Hono } from "../_deps.ts";
import { fromBase64, fromUtf8 } from "../../lib/util/bytes.ts";
import { decodePem } from "../../lib/util/pem.ts";
import { asObject, HttpError, json, readBody } from "./_http.ts";
import type { RouteWrapper } from "../_routes.ts";
import type { TransparencyLog } from "./transparency_log.ts";

/** `POST /api/v1/index/retrieve`. */
export function indexRoutes(log: TransparencyLog, route: RouteWrapper): Hono {
  const app = new Hono();
  app.post(
    "/api/v1/index/retrieve",
    route(async (c) => {
      const query = asObject(await readBody(c), "Request");
      const operator = query.operator ?? "or";
      if (operator !== "and" && operator !== "or") {
        throw new HttpError(400, 'operator must be "and" or "or"');
      }
      if (query.email !== undefined) {
        throw new HttpError(422, "Search by email is not supported by this log");
      }
      const terms: { hash?: string; publicKey?: Uint8Array } = {};
      if (query.hash !== undefined) {
        if (typeof query.hash !== "string") throw new HttpError(400, "hash must be a string");
        terms.hash = query.hash.toLowerCase();
      }
      if (query.publicKey !== undefined) {
        const key = asObject(query.publicKey, "publicKey");
        // Never fetch: a key URL would make this server an SSRF proxy (rekor GHSA-4c4x).
        if (key.url !== undefined) throw new HttpError(400, "publicKey.url is not supported");
        if (key.format !== "x509") {
          throw new HttpError(422, 'Only "x509" public keys are supported');
        }
        if (typeof key.content !== "string") {
          throw new HttpError(400, "publicKey.content must be a string");
        }
        terms.publicKey = keyContent(key.content);
      }
      if (terms.hash === undefined && terms.publicKey === undefined) {
        throw new HttpError(400, "hash or publicKey is required");
      }
      return json(200, log.searchIndexes(terms, operator));
    }),
  );
  return app;
}

/** Search key content: base64 of a PEM or DER key or certificate, or PEM text itself. */
function keyContent(content: string): Uint8Array {
  try {
    const text = content.includes("-----BEGIN") ? content : fromUtf8(fromBase64(content));
    if (text.includes("-----BEGIN")) {
      return decodePem(text, ["PUBLIC KEY", "CERTIFICATE"]).bytes;
    }
  } catch {
    // DER, or garbage: decided below
  }
  try {
    return fromBase64(content);
  } catch {
    throw new HttpError(400, "publicKey.content is neither PEM nor base64");
  }
}
