/**
 * Entry routes of the embedded Rekor v1 API (cosign-spec.md section 5.1): create an entry (201,
 * or 409 with the existing entry's location), get one by index or by UUID (with or without the
 * tree ID), and retrieve a batch by UUIDs, indexes or proposed entries.
 *
 * @module
 */

import { type Context, Hono } from "../_deps.ts";
import { canonicalizeProposedEntry } from "../../lib/tlog/rekor/canonicalize.ts";
import { encodeLogEntry, type RekorLogEntry } from "../../lib/tlog/rekor/client.ts";
import {
  asBatch,
  asObject,
  ENTRY_ID,
  entryMap,
  HttpError,
  json,
  parseIndex,
  readBody,
} from "./_http.ts";
import type { RouteWrapper } from "../_routes.ts";
import type { TransparencyLog } from "./transparency_log.ts";

/** `/api/v1/log/entries`, `/api/v1/log/entries/:id`, `/api/v1/log/entries/retrieve`. */
export function entryRoutes(log: TransparencyLog, route: RouteWrapper): Hono {
  const app = new Hono();
  const byId = async (id: string): Promise<RekorLogEntry | undefined> => {
    const match = ENTRY_ID.exec(id.toLowerCase());
    if (!match) return undefined;
    if (match[1] !== undefined && BigInt(`0x${match[1]}`) !== log.treeId) return undefined;
    return await log.getByUuid(match[2]!);
  };

  const locationOf = (c: Context, entry: RekorLogEntry) =>
    new URL(`/api/v1/log/entries/${entry.entryId}`, c.req.url).href;

  app.post(
    "/api/v1/log/entries",
    route(async (c) => {
      const { entry, created } = await log.append(await readBody(c));
      const headers = { etag: entry.uuid, location: locationOf(c, entry) };
      if (!created) {
        return json(409, {
          code: 409,
          message:
            `An equivalent entry already exists in the transparency log with UUID ${entry.uuid}`,
        }, headers);
      }
      return json(201, entryMap([entry]), headers);
    }),
  );

  app.get(
    "/api/v1/log/entries",
    route(async (c) => {
      const text = c.req.query("logIndex");
      if (text === undefined) throw new HttpError(400, "logIndex is required");
      const entry = await log.getByIndex(parseIndex(text, "logIndex"));
      if (!entry) throw new HttpError(404, "No entry at that log index");
      return json(200, entryMap([entry]));
    }),
  );

  app.get(
    "/api/v1/log/entries/:id",
    route(async (c) => {
      const entry = await byId(c.req.param("id") ?? "");
      if (!entry) throw new HttpError(404, "Entry not found");
      return json(200, entryMap([entry]));
    }),
  );

  app.post(
    "/api/v1/log/entries/retrieve",
    route(async (c) => {
      const query = asObject(await readBody(c), "Request");
      const found: RekorLogEntry[] = [];
      if (query.entryUUIDs !== undefined) {
        for (const [i, id] of asBatch(query.entryUUIDs, "entryUUIDs").entries()) {
          if (typeof id !== "string") throw new HttpError(400, `entryUUIDs[${i}] must be a string`);
          const entry = await byId(id);
          if (entry) found.push(entry);
        }
      } else if (query.logIndexes !== undefined) {
        for (const [i, index] of asBatch(query.logIndexes, "logIndexes").entries()) {
          const entry = await log.getByIndex(parseIndex(index, `logIndexes[${i}]`));
          if (entry) found.push(entry);
        }
      } else if (query.entries !== undefined) {
        for (const proposed of asBatch(query.entries, "entries")) {
          const { uuid } = await canonicalizeProposedEntry(proposed);
          const entry = await log.getByUuid(uuid);
          if (entry) found.push(entry);
        }
      } else {
        throw new HttpError(400, "One of entryUUIDs, logIndexes or entries is required");
      }
      return json(200, found.map((entry) => encodeLogEntry(entry)));
    }),
  );
  return app;
}
