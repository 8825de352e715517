/**
 * Bad input from registries and users, through the CLI: each case ends in one clear error line,
 * a non-zero exit, bounded time and memory.
 */

import assert from "node:assert/strict";
import { sha256Digest, toBase64, utf8 } from "../../lib/util/bytes.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { MEDIA_TYPE } from "../../lib/oci/manifest.ts";
import { parseImageReference } from "../../lib/oci/reference.ts";
import {
  ANNOTATION,
  appendLegacyAttachment,
  type DigestReference,
} from "../../lib/storage/signatures.ts";
import { encodeSimpleSigningPayload } from "../../lib/payload/simple_signing.ts";
import { decryptPrivateKey } from "../../lib/keys/key_file.ts";
import { dcosign } from "../_cli.ts";
import { type ImageEnv, openImageEnv } from "./_image_env.ts";

/** A fetch that lets `rule` answer some requests itself. */
function intercept(
  base: typeof fetch,
  rule: (request: Request) => Response | undefined | Promise<Response | undefined>,
): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    return await rule(request.clone()) ?? await base(request);
  };
}

function runWith(env: ImageEnv, fetcher: typeof fetch, argv: string[]) {
  return dcosign(argv, { cwd: env.dir, fetch: fetcher, env: { COSIGN_PASSWORD: "pw" } });
}

const VERIFY = [
  "verify",
  "--key",
  "cosign.pub",
  "--insecure-ignore-tlog",
  "--new-bundle-format=false",
];

async function signedImage(env: ImageEnv, repository: string) {
  const image = await env.push(repository);
  const signed = await env.run([
    "sign",
    "--key",
    "cosign.key",
    "--tlog-upload=false",
    "--new-bundle-format=false",
    image.reference,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  return image;
}

function oneErrorLine(stderr: string): void {
  const errors = stderr.split("\n").filter((line) => line.startsWith("Error:"));
  assert.equal(errors.length, 1, stderr);
}

Deno.test("a .sig manifest with 10,000 layers is refused before any layer is fetched", async () => {
  await using env = await openImageEnv("in-process");
  const image = await signedImage(env, "hostile/layers");
  let blobRequests = 0;
  const layers = Array.from({ length: 10_000 }, (_, i) => ({
    mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
    size: 10,
    digest: `sha256:${i.toString(16).padStart(64, "0")}`,
  }));
  const manifest = utf8(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      size: 2,
      digest: sha256Digest(utf8("{}")),
    },
    layers,
  }));
  const hostile = intercept(env.fetch, (request) => {
    if (request.url.includes("/blobs/")) blobRequests++;
    if (request.url.endsWith(".sig")) {
      return new Response(manifest, {
        headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
      });
    }
  });
  const result = await runWith(env, hostile, [...VERIFY, image.reference]);
  assert.equal(result.code, 1);
  oneErrorLine(result.stderr);
  assert.match(result.stderr, /1000|layers|signatures/);
  assert.equal(blobRequests, 0);
});

Deno.test("a 2 GiB Content-Length on a signature layer fails fast without reading it", async () => {
  await using env = await openImageEnv("in-process");
  const image = await signedImage(env, "hostile/huge");
  let pulled = 0;
  const hostile = intercept(env.fetch, (request) => {
    if (request.method === "GET" && request.url.includes("/blobs/")) {
      // An endless body: the client must stop on the declared length, not read it all.
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled += 65536;
          controller.enqueue(new Uint8Array(65536));
        },
      });
      return new Response(body, { headers: { "content-length": String(2 * 1024 ** 3) } });
    }
  });
  const started = performance.now();
  const result = await runWith(env, hostile, [...VERIFY, image.reference]);
  assert.ok(performance.now() - started < 10_000);
  assert.equal(result.code, 1);
  oneErrorLine(result.stderr);
  assert.match(result.stderr, /OCI_TOO_LARGE/);
  assert.ok(pulled <= 4 * 65536, `read ${pulled} bytes of a refused body`);
});

Deno.test("a manifest whose bytes do not match the requested digest is refused", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("hostile/digest", { multiArch: true });
  const hostile = intercept(env.fetch, async (request) => {
    if (request.method === "GET" && request.url.endsWith(`/manifests/${image.digest}`)) {
      const real = await env.fetch(request);
      const bytes = new Uint8Array(await real.arrayBuffer());
      const tampered = utf8(new TextDecoder().decode(bytes).replace("arm64", "arm65"));
      return new Response(tampered, { headers: real.headers });
    }
  });
  const result = await runWith(env, hostile, [
    "sign",
    "--key",
    "cosign.key",
    "--tlog-upload=false",
    "--recursive",
    image.byDigest,
  ]);
  assert.equal(result.code, 1);
  oneErrorLine(result.stderr);
  assert.match(result.stderr, /OCI_DIGEST_MISMATCH/);
});

Deno.test("a signature for another image's digest does not verify this image", async () => {
  await using env = await openImageEnv("in-process");
  const a = await signedImage(env, "hostile/a");
  const b = await env.push("hostile/a", { tag: "v2" });
  // Copy a's .sig manifest onto b's signature tag (the layers are in the same repository).
  const sig = (digest: string) =>
    `http://${env.registry}/v2/hostile/a/manifests/sha256-${digest.slice(7)}.sig`;
  const source = await env.fetch(sig(a.digest));
  const put = await env.fetch(sig(b.digest), {
    method: "PUT",
    headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
    body: await source.arrayBuffer(),
  });
  assert.equal(put.status, 201);
  const result = await env.run([...VERIFY, b.reference]);
  assert.equal(result.code, 12);
  oneErrorLine(result.stderr);
  assert.match(result.stderr, /the payload signs "sha256:.*", not "sha256:/);
});

Deno.test("a payload whose docker-reference differs still verifies, as in cosign (copies keep signatures)", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("hostile/ref");
  // A signature made for the same digest under another repository name (as after a copy).
  const key = await decryptPrivateKey(await Deno.readTextFile(`${env.dir}/cosign.key`), "pw");
  const payload = encodeSimpleSigningPayload({
    dockerReference: "elsewhere.example/other",
    digest: image.digest,
  });
  const client = new RegistryClient({ fetch: env.fetch });
  await appendLegacyAttachment(
    client,
    parseImageReference(image.byDigest) as DigestReference,
    "sig",
    {
      payload,
      mediaType: MEDIA_TYPE.SIMPLE_SIGNING,
      annotations: { [ANNOTATION.SIGNATURE]: toBase64(await key.sign(payload)) },
    },
  );
  const verified = await env.run([...VERIFY, image.reference]);
  assert.equal(verified.code, 0, verified.stderr);
  const [output] = JSON.parse(verified.stdout);
  assert.equal(output.critical.identity["docker-reference"], "elsewhere.example/other");
  assert.equal(output.critical.image["docker-manifest-digest"], image.digest);
});

Deno.test("a registry answering 500 then 200 is retried and verify succeeds", async () => {
  await using env = await openImageEnv("in-process");
  const image = await signedImage(env, "hostile/flaky");
  let failures = 0;
  const flaky = intercept(env.fetch, (request) => {
    if (request.url.endsWith(".sig") && failures < 1) {
      failures++;
      return new Response("temporarily broken", { status: 500 });
    }
  });
  const result = await runWith(env, flaky, [...VERIFY, image.reference]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(failures, 1);
});

Deno.test("a 401 with no credentials fails with one line naming the registry and the fix", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("hostile/private");
  const locked = intercept(
    env.fetch,
    () =>
      new Response(
        JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }),
        {
          status: 401,
          headers: {
            "www-authenticate": 'Basic realm="private"',
            "content-type": "application/json",
          },
        },
      ),
  );
  const result = await runWith(env, locked, [...VERIFY, image.reference]);
  assert.equal(result.code, 1);
  oneErrorLine(result.stderr);
  assert.match(result.stderr, /OCI_UNAUTHORIZED/);
  assert.match(result.stderr, /localhost:5999/);
  assert.match(result.stderr, /login|--registry-username/);
});

Deno.test("a wrong key password fails sign with one line and changes nothing in the registry", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("hostile/password");
  const result = await env.run(
    ["sign", "--key", "cosign.key", "--tlog-upload=false", image.reference],
    { COSIGN_PASSWORD: "wrong" },
  );
  assert.equal(result.code, 1);
  oneErrorLine(result.stderr);
  assert.match(result.stderr, /wrong password/);
  const verify = await env.run([...VERIFY, image.reference]);
  assert.equal(verify.code, 10);
});

Deno.test("a truncated key file fails sign with a clear error", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("hostile/truncated");
  const text = await Deno.readTextFile(`${env.dir}/cosign.key`);
  await Deno.writeTextFile(`${env.dir}/cosign.key`, text.slice(0, 100));
  const result = await env.run([
    "sign",
    "--key",
    "cosign.key",
    "--tlog-upload=false",
    image.reference,
  ]);
  assert.equal(result.code, 1);
  oneErrorLine(result.stderr);
  assert.match(result.stderr, /KEY_MALFORMED/);
});

Deno.test("malformed references and flags give usage errors", async () => {
  await using env = await openImageEnv("in-process");
  for (
    const argv of [
      ["verify", "--key", "cosign.pub", "UPPER/Case"],
      ["verify", "cosign.pub"],
      ["verify", "--key", "cosign.pub", "--certificate-identity", "x", "img"],
      ["sign", "--key", "cosign.key", "-a", "novalue", `${env.registry}/x:1`],
      ["verify", "--certificate-identity-regexp", "(", "--certificate-oidc-issuer", "i", "img"],
    ]
  ) {
    const result = await env.run(argv);
    assert.equal(result.code, 1, argv.join(" "));
    oneErrorLine(result.stderr);
  }
});
