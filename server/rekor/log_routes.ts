/**
 * Log-level routes of the embedded Rekor: the signed tree head (`GET /api/v1/log`), the log's
 * public key, and consistency proofs between two tree sizes.
 *
 * @module
 */

import { Hono } from "../_deps.ts";
import { HttpError, json, parseIndex } from "./_http.ts";
import type { RouteWrapper } from "../_routes.ts";
import type { TransparencyLog } from "./transparency_log.ts";

/** `/api/v1/log`, `/api/v1/log/publicKey`, `/api/v1/log/proof`. */
export function logRoutes(log: TransparencyLog, route: RouteWrapper): Hono {
  const app = new Hono();
  app.get(
    "/api/v1/log",
    route(async () => {
      const info = await log.logInfo();
      return json(200, {
        rootHash: info.rootHash.toHex(),
        treeSize: info.treeSize,
        signedTreeHead: info.signedTreeHead,
        treeID: info.treeId,
        inactiveShards: [],
      });
    }),
  );

  app.get(
    "/api/v1/log/publicKey",
    route((c) => {
      requireTree(log, c.req.query("treeID"));
      return new Response(log.publicKeyPem(), {
        headers: { "content-type": "application/x-pem-file" },
      });
    }),
  );

  app.get(
    "/api/v1/log/proof",
    route((c) => {
      requireTree(log, c.req.query("treeID"));
      const first = parseIndex(c.req.query("firstSize") ?? "1", "firstSize");
      const lastText = c.req.query("lastSize");
      const last = lastText === undefined ? log.size : parseIndex(lastText, "lastSize");
      if (first < 1n || first > last || last > log.size) {
        throw new HttpError(400, `No consistency proof from ${first} to ${last}`);
      }
      const proof = log.consistencyProof(first, last);
      return json(200, {
        rootHash: proof.rootHash.toHex(),
        hashes: proof.hashes.map((h) => h.toHex()),
      });
    }),
  );
  return app;
}

/** A `treeID` query, when given, must name this log's tree (else 404). */
function requireTree(log: TransparencyLog, treeId: string | undefined): void {
  if (treeId !== undefined && treeId !== log.treeId.toString()) {
    throw new HttpError(404, "Unknown tree ID");
  }
}
