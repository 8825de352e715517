/**
 * A tiny Rekor server for the durability test: the embedded transparency log over a data
 * directory, on 127.0.0.1 and a free port, which it prints as `LISTENING <port>` once ready.
 *
 * Usage: `deno run -A tests/integration/_rekor_serve.ts <data-dir>`
 *
 * @module
 */

import { rekorRoutes } from "../../server/rekor/routes.ts";
import { TransparencyLog } from "../../server/rekor/transparency_log.ts";

const dataDir = Deno.args[0];
if (!dataDir) throw new TypeError("Usage: _rekor_serve.ts <data-dir>");
const log = await TransparencyLog.open(`${dataDir}/rekor.sqlite`, { hostname: "durability.test" });
const app = rekorRoutes(log, { onError: (error) => console.error(error) });
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`LISTENING ${port}`),
}, app.fetch);
