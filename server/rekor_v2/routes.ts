/**
 * The HTTP face of the embedded Rekor v2 log, under one path prefix (`/rekor-v2` in the stack):
 * rekor-tiles' write API and the C2SP tlog-tiles read API over a `RekorV2Log`.
 *
 * | route | answer |
 * | --- | --- |
 * | `POST <prefix>/api/v2/log/entries` | 201 `TransparencyLogEntry` (protobuf JSON); 409 with `x-log-index` for an entry already logged; 400 for an invalid one |
 * | `GET <prefix>/checkpoint` | the latest signed checkpoint, `text/plain; charset=utf-8`, not cached |
 * | `GET <prefix>/tile/<L>/<N>[.p/<W>]` | a hash tile, `application/octet-stream`, immutable |
 * | `GET <prefix>/tile/entries/<N>[.p/<W>]` | an entry bundle, `application/octet-stream`, immutable |
 *
 * Errors use grpc-gateway's body (`{code, message}` with the gRPC code) as rekor-tiles does.
 * Request bodies are bounded before they are read (4 MiB); a 500 says "internal error" and
 * nothing more (rekor #2801). Tiles and bundles never change once they exist, partial ones
 * included (a partial tile of width W holds the same W hashes forever), so both are served with
 * a year-long immutable cache lifetime; the checkpoint is mutable and is not cached.
 *
 * @module
 */

import { Hono } from "../_deps.ts";
import { readRequestBody } from "../_request_body.ts";
import { errorMessage, isCosignError } from "../../lib/errors.ts";
import { parseJson } from "../../lib/util/json.ts";
import { serializeTlogEntry } from "../../lib/bundle/serialize.ts";
import { parseTilePath } from "../../lib/tlog/rekor_v2/tiles.ts";
import type { RekorV2Log } from "./log.ts";

/** Largest request body accepted. */
export const MAX_V2_REQUEST_BYTES = 4 << 20;

/** Where the stack serves its Rekor v2 log. */
export const REKOR_V2_PREFIX = "/rekor-v2";

/** Options of `rekorV2Routes`. */
export interface RekorV2RoutesOptions {
  /** Path prefix of every route (default `REKOR_V2_PREFIX`); the log's base URL ends in it. */
  readonly prefix?: string;
  /** Told about unexpected (500) errors. */
  readonly onError?: (error: unknown) => void;
}

// gRPC status codes, as grpc-gateway writes them into error bodies.
const GRPC_INVALID_ARGUMENT = 3;
const GRPC_ALREADY_EXISTS = 6;
const GRPC_INTERNAL = 13;
const GRPC_NOT_FOUND = 5;
const GRPC_RESOURCE_EXHAUSTED = 8;

function grpcError(status: number, code: number, message: string, headers = {}): Response {
  return new Response(JSON.stringify({ code, message, details: [] }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

const IMMUTABLE = {
  "content-type": "application/octet-stream",
  "cache-control": "public, max-age=31536000, immutable",
};

/** The Rekor v2 routes over `log`, for mounting at the root of the stack app. */
export function rekorV2Routes(log: RekorV2Log, options: RekorV2RoutesOptions = {}): Hono {
  const prefix = (options.prefix ?? REKOR_V2_PREFIX).replace(/\/+$/, "");
  const app = new Hono();

  app.post(`${prefix}/api/v2/log/entries`, async (c) => {
    const bytes = await readRequestBody(c.req.raw, MAX_V2_REQUEST_BYTES);
    if (bytes === undefined) {
      return grpcError(
        413,
        GRPC_RESOURCE_EXHAUSTED,
        `request body larger than ${MAX_V2_REQUEST_BYTES} bytes`,
      );
    }
    try {
      const { entry, created } = await log.append(parseJson(bytes, "request"));
      if (!created) {
        return grpcError(
          409,
          GRPC_ALREADY_EXISTS,
          "an equivalent entry already exists in the log",
          {
            "x-log-index": entry.logIndex.toString(),
          },
        );
      }
      return new Response(serializeTlogEntry(entry), {
        status: 201,
        headers: { "content-type": "application/json" },
      });
    } catch (error) {
      // Bad input is the client's error; the rest is ours and is not described (rekor #2801).
      if (
        error instanceof SyntaxError ||
        (isCosignError(error) && /^(REKOR_ENTRY|REKOR_BODY|KEY|X509|PAYLOAD)_/.test(error.code))
      ) {
        return grpcError(400, GRPC_INVALID_ARGUMENT, errorMessage(error));
      }
      options.onError?.(error);
      return grpcError(500, GRPC_INTERNAL, "internal error");
    }
  });

  app.get(`${prefix}/checkpoint`, async () =>
    new Response(await log.checkpoint(), {
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache" },
    }));

  app.get(`${prefix}/tile/*`, (c) => {
    const address = parseTilePath(c.req.path.slice(prefix.length + 1));
    const data = address === undefined
      ? undefined
      : address.kind === "entries"
      ? log.entryBundle(address.index, address.width)
      : log.tile(address.level, address.index, address.width);
    if (data === undefined) return grpcError(404, GRPC_NOT_FOUND, "no such tile");
    return new Response(data, { headers: IMMUTABLE });
  });
  return app;
}
