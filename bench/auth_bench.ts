/**
 * Auth under concurrency: 20 signed images on the embedded registry with HTTP Basic auth
 * required, verified with 10 at a time by one client that starts knowing nothing of the
 * registry. The anchor is what the protocol needs at least: one 401 challenge for the registry
 * (Basic credentials cover every repository). Counted on the client's fetch: 401 answers, and
 * all requests. Target: one challenge per registry and scope. Bearer-token registries (one
 * token per repository scope, shared by concurrent calls) are covered by
 * tests/unit/oci/round_trips_test.ts.
 *
 *   deno run -A bench/auth_bench.ts     (or deno bench -A bench/auth_bench.ts)
 */

import { generateKeyPair } from "../lib/keys/private_key.ts";
import { RegistryClient } from "../lib/oci/client.ts";
import { parseImageReference } from "../lib/oci/reference.ts";
import { signImage } from "../lib/sign/image.ts";
import { verifyImageSignatures } from "../lib/verify/image.ts";
import { startStack } from "../server/mod.ts";
import { writeOciLayout } from "../tests/registry/_oci_layout.ts";
import { printResult } from "./_paired.ts";

const IMAGES = 20;
const WORKERS = 10;
const auth = { username: "bench", password: "secret" };
const credentials = () => Promise.resolve(auth);
const stack = await startStack({ port: 0, registryAuth: auth });
const dir = await Deno.makeTempDir({ prefix: "dcosign-auth-bench-" });
try {
  const key = await generateKeyPair();
  const setup = new RegistryClient({ credentials });
  const layout = await writeOciLayout(`${dir}/layout`, { fileSize: 64 });
  const refs: string[] = [];
  for (let i = 0; i < IMAGES; i++) {
    const repo = { registry: stack.registryHost, repository: `auth/app${i}` };
    for (const blob of layout.blobs.values()) await setup.uploadBlob(repo, blob.bytes);
    await setup.putManifest({ ...repo, tag: "v1" }, layout.top.bytes, layout.top.mediaType);
    await signImage(parseImageReference(`${stack.registryHost}/${repo.repository}:v1`), {
      client: setup,
      identity: { signer: key },
    });
    refs.push(`${stack.registryHost}/${repo.repository}@${layout.top.digest}`);
  }

  let challenges = 0;
  let requests = 0;
  const counting: typeof fetch = async (input, init) => {
    requests++;
    const response = await fetch(input, init);
    if (response.status === 401) challenges++;
    return response;
  };
  const client = new RegistryClient({ fetch: counting, credentials });
  const queue = [...refs];
  const started = performance.now();
  await Promise.all(Array.from({ length: WORKERS }, async () => {
    for (let ref = queue.shift(); ref !== undefined; ref = queue.shift()) {
      await verifyImageSignatures(parseImageReference(ref), {
        client,
        policy: { key: key.publicKey, tlogThreshold: 0 },
      });
    }
  }));
  const ms = performance.now() - started;
  printResult({
    measure: `auth under concurrency: ${IMAGES} images, ${WORKERS} at a time, Basic-auth registry`,
    anchor: "one challenge per registry",
    anchorValue: "1 401",
    dcosignValue: `${challenges} 401${challenges === 1 ? "" : "s"} (${requests} requests, ${
      ms.toFixed(0)
    } ms)`,
    ratio: `${challenges.toFixed(2)}x`,
    target: "one challenge per registry and scope",
    met: challenges === 1,
  });
} finally {
  await stack.close();
  await Deno.remove(dir, { recursive: true });
}
