/**
 * Registry round trips per image verification (DESIGN.md "Performance"; issue 15), counted by an
 * independent proxy in front of the registry (a `Deno.serve` that forwards every request and
 * records its method and path; the client under test knows nothing of it):
 *
 * - on Debian's docker-registry (distribution 2.8, no referrers API): a bundle referrer by
 *   digest costs 3 requests once the registry's missing API is known (fallback tag, referrer
 *   manifest, bundle blob), and the very first verify 1 more (the referrers API's 404); a legacy
 *   `.sig` signature costs 2 (`.sig` manifest, layer) with the legacy format, and with the
 *   default formats once a legacy signature verified on that registry (the format that verified
 *   last goes first; else the empty fallback tag comes first: 3); a tag adds its GET; the
 *   `.sig` tag is never read after a bundle verified;
 * - on the embedded registry (with the referrers API): a bundle referrer costs 3 (referrers
 *   list, manifest, blob).
 */

import assert from "node:assert/strict";
import { generateKeyPair } from "../../lib/keys/private_key.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { parseImageReference } from "../../lib/oci/reference.ts";
import { signImage, type StorageFormat } from "../../lib/sign/image.ts";
import { verifyImageSignatures } from "../../lib/verify/image.ts";
import { startStack } from "../../server/mod.ts";
import { executable, requireComponents, tempDir } from "../_support.ts";
import { startDockerRegistry } from "./_docker_registry.ts";
import { writeOciLayout } from "./_oci_layout.ts";

/** A counting reverse proxy to `upstream`, on a free loopback port. */
function countingProxy(upstream: string) {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    seen.push(`${request.method} ${url.pathname}`);
    const response = await fetch(`${upstream}${url.pathname}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: "manual",
    });
    return new Response(response.body, { status: response.status, headers: response.headers });
  });
  const host = `127.0.0.1:${server.addr.port}`;
  return {
    host,
    url: `http://${host}`,
    /** The requests seen since the last `take()`. */
    take(): string[] {
      return seen.splice(0);
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

async function signedImages(
  proxyHost: string,
  dir: string,
  formats: readonly StorageFormat[],
) {
  const key = await generateKeyPair();
  const client = new RegistryClient();
  const layout = await writeOciLayout(`${dir}/layout`, { fileSize: 64 });
  const images: Record<string, { repository: string; digest: string }> = {};
  for (const format of formats) {
    for (const n of [1, 2]) {
      const repository = `count/${format}${n}`;
      const repo = { registry: proxyHost, repository };
      for (const blob of layout.blobs.values()) await client.uploadBlob(repo, blob.bytes);
      await client.putManifest({ ...repo, tag: "v1" }, layout.top.bytes, layout.top.mediaType);
      const digest = layout.top.digest;
      await signImage(parseImageReference(`${proxyHost}/${repository}:v1`), {
        client,
        identity: { signer: key },
        format,
      });
      images[`${format}${n}`] = { repository, digest };
    }
  }
  return { key, images };
}

if (
  requireComponents("request counts on Debian's docker-registry", executable("docker-registry"))
) {
  Deno.test("[docker-registry] requests per verify: bundle 3, legacy 2, a tag +1, no .sig after a bundle", async () => {
    await using registry = await startDockerRegistry();
    await using proxy = countingProxy(registry.url);
    await using dir = await tempDir();
    const { key, images } = await signedImages(proxy.host, dir.path, [
      "bundle",
      "legacy",
    ]);
    const policy = { key: key.publicKey, tlogThreshold: 0 };
    const client = new RegistryClient(); // one client: it remembers the registry's answers
    const verify = async (ref: string, formats?: StorageFormat[]) => {
      proxy.take();
      const result = await verifyImageSignatures(parseImageReference(`${proxy.host}/${ref}`), {
        client,
        policy,
        ...(formats ? { formats } : {}),
      });
      return { result, requests: proxy.take() };
    };
    const bundle1 = images.bundle1!;
    const bundle2 = images.bundle2!;
    const legacy1 = images.legacy1!;
    const legacy2 = images.legacy2!;
    const fallbackTag = (digest: string) => digest.replace(":", "-");

    // First contact: the referrers API answers 404 once, then is never asked again.
    const first = await verify(`${bundle1.repository}@${bundle1.digest}`);
    assert.equal(first.result.signatures[0]?.format, "bundle");
    assert.equal(first.requests[0], `GET /v2/${bundle1.repository}/referrers/${bundle1.digest}`);
    assert.equal(first.requests.length, 4, first.requests.join("\n"));

    const bundle = await verify(`${bundle2.repository}@${bundle2.digest}`);
    assert.equal(bundle.result.signatures[0]?.format, "bundle");
    assert.equal(bundle.requests.length, 3, bundle.requests.join("\n"));
    assert.deepEqual(bundle.requests.slice(0, 1), [
      `GET /v2/${bundle2.repository}/manifests/${fallbackTag(bundle2.digest)}`,
    ]);
    assert.ok(!bundle.requests.some((r) => r.includes(".sig")), "no .sig probe after a bundle");
    assert.ok(!bundle.requests.some((r) => r.includes("/referrers/")), "API answer remembered");

    const byTag = await verify(`${bundle2.repository}:v1`);
    assert.equal(byTag.requests.length, 4, byTag.requests.join("\n"));
    // A tag is resolved by GET and hashed here (a HEAD's digest is only a claim): still one request.
    assert.equal(byTag.requests[0], `GET /v2/${bundle2.repository}/manifests/v1`);

    const legacyOnly = await verify(`${legacy1.repository}@${legacy1.digest}`, ["legacy"]);
    assert.equal(legacyOnly.result.signatures[0]?.format, "legacy");
    assert.deepEqual(legacyOnly.requests.map((r) => r.split(" ")[0]), ["GET", "GET"]);
    assert.match(legacyOnly.requests[0]!, /\/manifests\/sha256-[0-9a-f]{64}\.sig$/);
    assert.match(legacyOnly.requests[1]!, /\/blobs\/sha256:/);

    const legacyTag = await verify(`${legacy1.repository}:v1`, ["legacy"]);
    assert.equal(legacyTag.requests.length, 3, legacyTag.requests.join("\n"));

    // Default formats, once a legacy signature verified on this registry: `.sig` first, 2.
    const legacyDefault = await verify(`${legacy2.repository}@${legacy2.digest}`);
    assert.equal(legacyDefault.result.signatures[0]?.format, "legacy");
    assert.equal(legacyDefault.requests.length, 2, legacyDefault.requests.join("\n"));
    assert.match(legacyDefault.requests[0]!, /\/manifests\/sha256-[0-9a-f]{64}\.sig$/);

    // A bundle image then costs the `.sig` miss once, and bundles go first again after it.
    const switched = await verify(`${bundle1.repository}@${bundle1.digest}`);
    assert.equal(switched.result.signatures[0]?.format, "bundle");
    assert.equal(switched.requests.length, 4, switched.requests.join("\n"));
    const back = await verify(`${bundle2.repository}@${bundle2.digest}`);
    assert.equal(back.requests.length, 3, back.requests.join("\n"));
    assert.ok(!back.requests.some((r) => r.includes(".sig")));

    // Bundles first with default formats, on an image that only has a legacy signature: 3.
    const legacyAfterBundle = await verify(`${legacy1.repository}@${legacy1.digest}`);
    assert.equal(legacyAfterBundle.result.signatures[0]?.format, "legacy");
    assert.equal(legacyAfterBundle.requests.length, 3, legacyAfterBundle.requests.join("\n"));
    assert.equal(
      legacyAfterBundle.requests[0],
      `GET /v2/${legacy1.repository}/manifests/${fallbackTag(legacy1.digest)}`,
    );

    // Asked for every signature, the .sig tag is read after the bundle too.
    proxy.take();
    await verifyImageSignatures(
      parseImageReference(`${proxy.host}/${bundle2.repository}@${bundle2.digest}`),
      { client, policy, allSignatures: true },
    );
    assert.ok(proxy.take().some((r) => r.endsWith(".sig")));
  });
}

Deno.test("[embedded registry] a bundle referrer by digest costs 3 requests: referrers list, manifest, blob", async () => {
  await using stack = await startStack({ port: 0 });
  await using proxy = countingProxy(stack.url);
  await using dir = await tempDir();
  const { key, images } = await signedImages(proxy.host, dir.path, ["bundle"]);
  const client = new RegistryClient();
  for (const image of [images.bundle1!, images.bundle2!]) {
    proxy.take();
    const result = await verifyImageSignatures(
      parseImageReference(`${proxy.host}/${image.repository}@${image.digest}`),
      { client, policy: { key: key.publicKey, tlogThreshold: 0 } },
    );
    assert.equal(result.signatures[0]?.format, "bundle");
    const requests = proxy.take();
    assert.equal(requests.length, 3, requests.join("\n"));
    assert.equal(requests[0], `GET /v2/${image.repository}/referrers/${image.digest}`);
  }
});
