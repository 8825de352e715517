/**
 * The embedded TSA's HTTP layer: `POST /api/v1/timestamp` (RFC 3161 section 3.4's
 * `application/timestamp-query` in, `application/timestamp-reply` out) and the certificate chain,
 * over a `TimestampAuthority`. The request is bounded before parsing (64 KiB) and the Content-Type
 * must name exactly one `application/` type (SECURITY.md row 26).
 *
 * @module
 */

import { readRequestBody } from "../_request_body.ts";
import { Hono } from "../_deps.ts";
import { errorMessage, isCosignError } from "../../lib/errors.ts";
import { MAX_TSA_REQUEST_BYTES, type TimestampAuthority } from "./timestamp_authority.ts";

/** True when the header names exactly one `application/` type and it is timestamp-query. */
function isTimestampQuery(contentType: string | undefined): boolean {
  if (!contentType || contentType.length > 256) return false;
  if (contentType.split("application/", 3).length !== 2) return false;
  return contentType.split(";", 1)[0]!.trim().toLowerCase() === "application/timestamp-query";
}

/** The TSA routes: `POST /api/v1/timestamp` and `GET /api/v1/timestamp/certchain`. */
export function tsaRoutes(tsa: TimestampAuthority): Hono {
  const app = new Hono();
  app.post("/api/v1/timestamp", async (c) => {
    if (!isTimestampQuery(c.req.header("content-type"))) {
      await c.req.raw.body?.cancel();
      return c.text("Content-Type must be application/timestamp-query", 415);
    }
    const body = await readRequestBody(c.req.raw, MAX_TSA_REQUEST_BYTES);
    if (!body) return c.text("Timestamp request is too large", 413);
    try {
      const response = await tsa.issue(body);
      return c.body(response, 201, { "Content-Type": "application/timestamp-reply" });
    } catch (error) {
      if (isCosignError(error) && error.code.startsWith("TSA_")) {
        return c.text(errorMessage(error), 400);
      }
      throw error;
    }
  });
  app.get("/api/v1/timestamp/certchain", (c) =>
    c.body(tsa.certificateChainPem(), 200, {
      "Content-Type": "application/pem-certificate-chain",
    }));
  return app;
}
