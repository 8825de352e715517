/**
 * Image verification against the embedded registry over a real socket: HTTP requests per image
 * (printed once), time per verify of a digest and a tag reference, and 200 signed images in one
 * call, each beside the registry's own floor (the same manifests and blobs fetched with bare
 * `fetch`).
 *
 *   deno bench -A bench/verify_bench.ts
 */

import { generateKeyPair } from "../lib/keys/private_key.ts";
import { RegistryClient } from "../lib/oci/client.ts";
import { parseImageReference } from "../lib/oci/reference.ts";
import { signImage } from "../lib/sign/image.ts";
import { verifyImageSignatures } from "../lib/verify/image.ts";
import { startStack } from "../server/mod.ts";
import { pushLayout, writeOciLayout } from "../tests/registry/_oci_layout.ts";

const IMAGES = 200;
const stack = await startStack({ port: 0 });
const dir = await Deno.makeTempDir({ prefix: "dcosign-bench-" });
const key = await generateKeyPair();
let requests = 0;
const countingFetch: typeof fetch = (input, init) => {
  requests++;
  return fetch(input, init);
};
const setupClient = new RegistryClient();
const layout = await writeOciLayout(`${dir}/layout`, { fileSize: 256 });
const images: { ref: string; digest: string; sigTag: string; layer: string }[] = [];
for (let i = 0; i < IMAGES; i++) {
  // One layout, many tags of distinct repositories: each image has its own signature.
  const repository = `bench/app${i}`;
  const digest = await pushLayout(layout, stack.url, repository);
  const [signature] = await signImage(
    parseImageReference(`${stack.registryHost}/${repository}:v1`),
    {
      client: setupClient,
      identity: { signer: key },
      format: "legacy",
    },
  );
  const manifest = await (await fetch(
    `${stack.url}/v2/${repository}/manifests/${signature!.stored!.tag}`,
  )).json();
  images.push({
    ref: `${stack.registryHost}/${repository}`,
    digest,
    sigTag: signature!.stored!.tag!,
    layer: manifest.layers[0].digest,
  });
}
const policy = { key: key.publicKey, tlogThreshold: 0 };
const legacyOnly = ["legacy"] as const;

async function verifyOne(ref: string, formats: readonly ("legacy" | "bundle")[] = legacyOnly) {
  const client = new RegistryClient({ fetch: countingFetch });
  await verifyImageSignatures(parseImageReference(ref), { client, policy, formats });
}

async function bareFetch(image: (typeof images)[number]) {
  const repo = image.ref.slice(stack.registryHost.length + 1);
  const manifest = await fetch(`${stack.url}/v2/${repo}/manifests/${image.sigTag}`, {
    headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  await manifest.arrayBuffer();
  const blob = await fetch(`${stack.url}/v2/${repo}/blobs/${image.layer}`);
  await blob.arrayBuffer();
}

// Requests per image, measured once.
const first = images[0]!;
for (
  const [label, ref, formats] of [
    ["digest reference, legacy .sig", `${first.ref}@${first.digest}`, legacyOnly],
    ["tag reference, legacy .sig", `${first.ref}:v1`, legacyOnly],
    ["digest reference, bundle + legacy", `${first.ref}@${first.digest}`, ["bundle", "legacy"]],
  ] as const
) {
  requests = 0;
  await verifyOne(ref, formats);
  console.log(`requests per verify (${label}): ${requests}`);
}

// Peak memory of the CLI verifying all images in one call (a clean process), beside the CLI's
// own floor (`dcosign version`).
async function peakRss(args: string[]): Promise<{ kb: number; ms: number; code: number }> {
  const started = performance.now();
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_peak_rss.ts", import.meta.url).pathname, ...args],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  const kb = Number(/peak-rss-kb (\d+)/.exec(new TextDecoder().decode(stderr))?.[1] ?? NaN);
  return { kb, ms: Math.round(performance.now() - started), code };
}
await Deno.writeTextFile(`${dir}/cosign.pub`, key.publicKey.toPem());
const floor = await peakRss(["version"]);
const all = await peakRss([
  "verify",
  "--key",
  "cosign.pub",
  "--insecure-ignore-tlog",
  "--new-bundle-format=false",
  ...images.map((image) => `${image.ref}@${image.digest}`),
]);
if (all.code !== 0) throw new Error(`dcosign verify of ${IMAGES} images exited ${all.code}`);
console.log(
  `dcosign verify of ${IMAGES} images in one call: ${all.ms} ms, peak RSS ${
    Math.round(all.kb / 1024)
  } MB (dcosign version: ${Math.round(floor.kb / 1024)} MB)`,
);

Deno.bench({
  name: "bare fetch of .sig manifest + layer (registry floor)",
  group: "one image",
  baseline: true,
  fn: async () => {
    await bareFetch(first);
  },
});
Deno.bench({
  name: "verify digest reference",
  group: "one image",
  fn: async () => {
    await verifyOne(`${first.ref}@${first.digest}`);
  },
});
Deno.bench({
  name: "verify tag reference",
  group: "one image",
  fn: async () => {
    await verifyOne(`${first.ref}:v1`);
  },
});

Deno.bench({
  name: `bare fetch of ${IMAGES} images' .sig manifests + layers (registry floor)`,
  group: `${IMAGES} images`,
  baseline: true,
  n: 5,
  fn: async () => {
    await Promise.all(images.map(bareFetch));
  },
});
Deno.bench({
  name: `verify ${IMAGES} images (digest references) in one call`,
  group: `${IMAGES} images`,
  n: 5,
  fn: async () => {
    const client = new RegistryClient();
    await Promise.all(
      images.map((image) =>
        verifyImageSignatures(parseImageReference(`${image.ref}@${image.digest}`), {
          client,
          policy,
          formats: legacyOnly,
        })
      ),
    );
  },
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(dir, { recursive: true });
});
