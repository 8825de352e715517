/**
 * Image verification against Debian's docker-registry (distribution 2.8, no referrers API; the
 * embedded registry when it is not installed) over a real socket: 200 images verified in one
 * call with the default formats (bundle and legacy) and a fresh client each round (so the first
 * contact's discovery is paid every time), paired round by round with the registry's floor:
 * the same manifests and blobs fetched with bare `fetch`, as many at once (`.sig` manifest and
 * layer for a legacy signature; fallback tag, referrer manifest and bundle blob for a bundle).
 * Requests per image are counted by the client's fetch. Target: <= 1.3x the floor.
 *
 *   deno run -A bench/verify_bench.ts     (or deno bench -A bench/verify_bench.ts)
 */

import { generateKeyPair } from "../lib/keys/private_key.ts";
import { RegistryClient } from "../lib/oci/client.ts";
import { parseImageReference } from "../lib/oci/reference.ts";
import { signImage, type StorageFormat } from "../lib/sign/image.ts";
import { verifyImageSignatures } from "../lib/verify/image.ts";
import { startStack } from "../server/mod.ts";
import { startDockerRegistry } from "../tests/registry/_docker_registry.ts";
import { writeOciLayout } from "../tests/registry/_oci_layout.ts";
import { pairedRuns, printResult, timeRatioRow } from "./_paired.ts";

const IMAGES = Number(Deno.env.get("BENCH_IMAGES") ?? 200);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 7);

const hasDockerRegistry = await new Deno.Command("sh", {
  args: ["-c", "command -v docker-registry"],
  stdout: "null",
}).output().then((r) => r.success, () => false);
const server = hasDockerRegistry ? await startDockerRegistry() : await startStack({ port: 0 });
const host = "host" in server ? server.host : server.registryHost;
const base = `http://${host}`;
const label = hasDockerRegistry ? "docker-registry" : "embedded registry";
const dir = await Deno.makeTempDir({ prefix: "dcosign-verify-bench-" });
const key = await generateKeyPair();
const policy = { key: key.publicKey, tlogThreshold: 0 };

/** What the floor fetches for one image: paths, in order. */
type Floor = string[];

async function signedImages(format: StorageFormat): Promise<{ ref: string; floor: Floor }[]> {
  const client = new RegistryClient();
  const layout = await writeOciLayout(`${dir}/${format}`, { fileSize: 256 });
  const images: { ref: string; floor: Floor }[] = [];
  for (let i = 0; i < IMAGES; i++) {
    const repository = `bench/${format}${i}`;
    const repo = { registry: host, repository };
    for (const blob of layout.blobs.values()) await client.uploadBlob(repo, blob.bytes);
    await client.putManifest({ ...repo, tag: "v1" }, layout.top.bytes, layout.top.mediaType);
    const digest = layout.top.digest;
    await signImage(parseImageReference(`${host}/${repository}:v1`), {
      client,
      identity: { signer: key },
      format,
    });
    const tag = digest.replace(":", "-");
    const floor: Floor = [];
    if (format === "legacy") {
      const manifest = await (await fetch(`${base}/v2/${repository}/manifests/${tag}.sig`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      })).json();
      floor.push(`/v2/${repository}/manifests/${tag}.sig`);
      floor.push(`/v2/${repository}/blobs/${manifest.layers[0].digest}`);
    } else {
      const index = await (await fetch(`${base}/v2/${repository}/manifests/${tag}`, {
        headers: { accept: "application/vnd.oci.image.index.v1+json" },
      })).json();
      const referrer = index.manifests[0].digest;
      const manifest = await (await fetch(`${base}/v2/${repository}/manifests/${referrer}`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      })).json();
      floor.push(`/v2/${repository}/manifests/${tag}`);
      floor.push(`/v2/${repository}/manifests/${referrer}`);
      floor.push(`/v2/${repository}/blobs/${manifest.layers[0].digest}`);
    }
    images.push({ ref: `${host}/${repository}@${digest}`, floor });
  }
  return images;
}

async function bareFetch(floor: Floor): Promise<void> {
  for (const path of floor) {
    const response = await fetch(`${base}${path}`, {
      headers: {
        accept:
          "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
      },
    });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
  }
}

let requests = 0;
const countingFetch: typeof fetch = (input, init) => {
  requests++;
  return fetch(input, init);
};

async function verifyAll(images: { ref: string }[]): Promise<void> {
  const client = new RegistryClient({ fetch: countingFetch });
  await Promise.all(
    images.map((image) =>
      verifyImageSignatures(parseImageReference(image.ref), { client, policy })
    ),
  );
}

try {
  for (const format of ["legacy", "bundle"] as const) {
    const images = await signedImages(format);
    requests = 0;
    await verifyAll(images);
    const perImage = requests / IMAGES;
    const samples = await pairedRuns(
      () => Promise.all(images.map((image) => bareFetch(image.floor))),
      () => verifyAll(images),
      { rounds: ROUNDS },
    );
    const row = timeRatioRow(
      `verify ${IMAGES} ${format}-signed images in one call, default formats, ${label}`,
      `bare fetch of the same ${images[0]!.floor.length} requests an image`,
      samples,
      1.3,
    );
    printResult({
      ...row,
      dcosignValue: `${row.dcosignValue} (${perImage.toFixed(2)} requests an image)`,
    });
  }
} finally {
  await server[Symbol.asyncDispose]();
  await Deno.remove(dir, { recursive: true });
}
