/**
 * One process of the read-only cache test: read `trusted_root.json` through TUF from the mirror
 * in argv[0], bootstrapped from the root file in argv[1], with the cache at argv[2] and the
 * clock at argv[3]; prints `{"sha256", "cacheMode", "warnings"}` as JSON.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { TufClient } from "../../lib/trust/tuf/client.ts";

const [mirror, rootFile, cacheDir, now] = Deno.args;
const warnings: string[] = [];
const client = new TufClient({
  mirror: mirror!,
  rootBytes: await Deno.readFile(rootFile!),
  cacheDir: cacheDir!,
  now: () => new Date(now!),
  warn: (message) => warnings.push(message),
});
const bytes = await client.trustedRootBytes();
console.log(JSON.stringify({
  sha256: createHash("sha256").update(bytes).digest("hex"),
  cacheMode: await client.cacheMode(),
  warnings,
}));
