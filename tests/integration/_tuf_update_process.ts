/**
 * One process of the concurrent-cache test: update the TUF cache at `TUF_ROOT` from the mirror
 * in argv[0], bootstrapped from the root file in argv[1], with no cache validity (every round
 * updates and writes), round after round until the trusted root has the sha256 in argv[2]
 * (at most 500 rounds). Prints the distinct sha256s it saw, in order, as JSON.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { TufClient } from "../../lib/trust/tuf/client.ts";

const [mirror, rootFile, untilSha] = Deno.args;
const rootBytes = await Deno.readFile(rootFile!);
const seen: string[] = [];
for (let round = 0; round < 500 && seen.at(-1) !== untilSha; round++) {
  const client = new TufClient({
    mirror: mirror!,
    rootBytes,
    cacheValidity: 0,
    warn: (message) => console.error(`WARN ${message}`),
  });
  const bytes = await client.trustedRootBytes();
  await client.signingConfigBytes();
  const sha = createHash("sha256").update(bytes).digest("hex");
  if (seen.at(-1) !== sha) seen.push(sha);
}
console.log(JSON.stringify(seen));
