import assert from "node:assert/strict";
import { type Bytes, sha256Digest, toBase64, utf8 } from "../../../lib/util/bytes.ts";
import { isCosignError } from "../../../lib/errors.ts";
import {
  RegistryClient,
  type RegistryClientOptions,
  type RegistryExchange,
} from "../../../lib/oci/client.ts";
import { encodeManifest, MEDIA_TYPE } from "../../../lib/oci/manifest.ts";
import { parseImageReference, withDigest } from "../../../lib/oci/reference.ts";
import type { RegistryCredentials } from "../../../lib/oci/docker_config.ts";
import { mayCarryCredentials, parseChallenges } from "../../../lib/oci/_auth.ts";
import { FakeRegistry, type FakeRegistryOptions } from "../_fake_registry.ts";

const REPO = "org/app";

function seedImage(fake: FakeRegistry, repo = REPO, tag = "v1") {
  const config = utf8('{"architecture":"amd64","os":"linux"}');
  const layer = utf8("layer bytes");
  fake.putBlob(repo, config);
  fake.putBlob(repo, layer);
  const bytes = utf8(encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: { mediaType: MEDIA_TYPE.OCI_CONFIG, size: config.length, digest: sha256Digest(config) },
    layers: [{
      mediaType: "application/octet-stream",
      size: layer.length,
      digest: sha256Digest(layer),
    }],
  }));
  const digest = fake.putManifest(repo, bytes, MEDIA_TYPE.OCI_MANIFEST, tag);
  return { digest, bytes, layer, layerDigest: sha256Digest(layer) };
}

function setup(
  options: FakeRegistryOptions = {},
  client: RegistryClientOptions = {},
  credentials?: RegistryCredentials,
) {
  const fake = new FakeRegistry(options);
  const image = seedImage(fake);
  const registry = new RegistryClient({
    fetch: fake.fetch,
    sleep: () => Promise.resolve(),
    ...(credentials === undefined ? {} : { credentials: () => Promise.resolve(credentials) }),
    ...client,
  });
  const ref = parseImageReference(`${fake.host}/${REPO}:v1`);
  return { fake, image, registry, ref, byDigest: withDigest(ref, image.digest) };
}

// ------------------------------------------------------------------------------ resolving

Deno.test("resolveDigest() of a digest reference makes no request; a tag costs one GET, hashed here", async () => {
  const { fake, registry, ref, byDigest, image } = setup();
  assert.equal(await registry.resolveDigest(byDigest), image.digest);
  assert.equal(fake.requests.length, 0);
  assert.equal(await registry.resolveDigest(ref), image.digest);
  assert.deepEqual(fake.requests.map((r) => r.method), ["GET"]);
  const descriptor = await registry.resolve(ref);
  assert.deepEqual(descriptor, {
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    digest: image.digest,
    size: image.bytes.length,
  });
});

Deno.test("headManifest() falls back to GET only when HEAD lacks Docker-Content-Digest", async () => {
  const { fake, registry, ref, byDigest, image } = setup();
  fake.intercept = (req) =>
    req.method === "HEAD"
      ? new Response(null, { status: 200, headers: { "content-type": MEDIA_TYPE.OCI_MANIFEST } })
      : undefined;
  assert.equal((await registry.headManifest(ref))?.digest, image.digest);
  assert.deepEqual(fake.requests.map((r) => r.method), ["HEAD", "GET"]);
  assert.equal((await registry.resolve(byDigest)).digest, image.digest);
  assert.deepEqual(fake.requests.map((r) => r.method), ["HEAD", "GET", "HEAD", "GET"]);
});

Deno.test("resolve() of a tag takes the digest of the bytes served, not a HEAD's claim", async () => {
  const { fake, registry, ref, image } = setup();
  const claimed = `sha256:${"ab".repeat(32)}`;
  fake.intercept = (req) =>
    req.method === "HEAD"
      ? new Response(null, {
        status: 200,
        headers: {
          "content-type": MEDIA_TYPE.OCI_MANIFEST,
          "content-length": String(image.bytes.length),
          "docker-content-digest": claimed,
        },
      })
      : undefined;
  assert.equal((await registry.headManifest(ref))?.digest, claimed); // a claim, for existence
  assert.equal((await registry.resolve(ref)).digest, image.digest); // what is served
});

Deno.test("resolve() of a digest reference refuses a HEAD naming another digest (SECURITY row 38)", async () => {
  const { fake, registry, byDigest } = setup();
  fake.intercept = () =>
    new Response(null, {
      status: 200,
      headers: {
        "content-type": MEDIA_TYPE.OCI_MANIFEST,
        "content-length": "10",
        "docker-content-digest": `sha256:${"0".repeat(64)}`,
      },
    });
  assert.equal(fake.requests.length, 0);
  await assert.rejects(
    () => registry.resolve(byDigest),
    (e) => isCosignError(e, "OCI_DIGEST_MISMATCH"),
  );
});

Deno.test("getManifest() refuses bytes that do not match the requested digest", async () => {
  const { fake, registry, byDigest, image } = setup();
  const other = utf8(new TextDecoder().decode(image.bytes).replace("octet-stream", "x-tar"));
  fake.intercept = (req) =>
    req.url.pathname.includes("/manifests/")
      ? new Response(other, { headers: { "content-type": MEDIA_TYPE.OCI_MANIFEST } })
      : undefined;
  await assert.rejects(
    () => registry.getManifest(byDigest),
    (e) => isCosignError(e, "OCI_DIGEST_MISMATCH") && e.message.includes(byDigest.digest!),
  );
});

Deno.test("getManifest() by tag hashes the bytes it read and takes the body's media type", async () => {
  const { registry, ref, image } = setup();
  const fetched = await registry.getManifest(ref);
  assert.equal(fetched.descriptor.digest, image.digest);
  assert.equal(fetched.descriptor.mediaType, MEDIA_TYPE.OCI_MANIFEST);
  assert.deepEqual(fetched.bytes, image.bytes);
});

Deno.test("getManifest() sends the OCI and Docker manifest and index types in Accept", async () => {
  const { fake, registry, ref } = setup();
  await registry.getManifest(ref);
  const accept = fake.requests[0]!.headers.get("accept")!.split(",");
  assert.deepEqual(
    accept.sort(),
    [
      MEDIA_TYPE.DOCKER_MANIFEST_LIST,
      MEDIA_TYPE.DOCKER_MANIFEST,
      MEDIA_TYPE.OCI_INDEX,
      MEDIA_TYPE.OCI_MANIFEST,
    ].sort(),
  );
});

Deno.test("a missing manifest is OCI_MANIFEST_UNKNOWN naming the image", async () => {
  const { registry, ref } = setup();
  await assert.rejects(
    () => registry.getManifest({ ...ref, tag: "nope" }),
    (e) =>
      isCosignError(e, "OCI_MANIFEST_UNKNOWN") && e.message.includes("registry.test/org/app:nope"),
  );
  assert.equal(await registry.headManifest({ ...ref, tag: "nope" }), undefined);
});

Deno.test("a manifest whose Content-Length passes 4 MiB is refused before reading", async () => {
  const { fake, registry, ref } = setup();
  let pulled = 0;
  fake.intercept = () =>
    new Response(
      new ReadableStream({
        pull(controller) {
          pulled++;
          controller.enqueue(new Uint8Array(64 * 1024));
        },
      }),
      { headers: { "content-length": String(5 * 1024 * 1024) } },
    );
  await assert.rejects(() => registry.getManifest(ref), (e) => isCosignError(e, "OCI_TOO_LARGE"));
  assert.ok(pulled <= 1, `pulled ${pulled} chunks`);
});

// ------------------------------------------------------------------------------ blobs

function endlessStream(counter: { pulls: number }): ReadableStream<Uint8Array> {
  return new ReadableStream({
    pull(controller) {
      counter.pulls++;
      controller.enqueue(new Uint8Array(1024 * 1024));
    },
  });
}

Deno.test("getBlob() refuses a 2 GiB Content-Length fast, reading nothing", async () => {
  const { fake, registry, ref, image } = setup();
  const counter = { pulls: 0 };
  fake.intercept = (req) =>
    req.url.pathname.includes("/blobs/")
      ? new Response(endlessStream(counter), { headers: { "content-length": String(2 ** 31) } })
      : undefined;
  const started = performance.now();
  await assert.rejects(
    () => registry.getBlob(ref, image.layerDigest),
    (e) => isCosignError(e, "OCI_TOO_LARGE") && e.message.includes("Content-Length 2147483648"),
  );
  assert.ok(performance.now() - started < 1000);
  assert.ok(counter.pulls <= 1, `pulled ${counter.pulls} chunks`);
});

Deno.test("getBlob() refuses a descriptor size over the limit without any request", async () => {
  const { fake, registry, ref, image } = setup();
  await assert.rejects(
    () => registry.getBlob(ref, image.layerDigest, { size: 2 ** 31 }),
    (e) => isCosignError(e, "OCI_TOO_LARGE"),
  );
  assert.equal(fake.requests.length, 0);
});

Deno.test("getBlob() stops a body without Content-Length at the limit", async () => {
  const { fake, registry, ref, image } = setup({}, { limits: { maxBlobBytes: 4 * 1024 * 1024 } });
  const counter = { pulls: 0 };
  fake.intercept = () => new Response(endlessStream(counter));
  await assert.rejects(
    () => registry.getBlob(ref, image.layerDigest),
    (e) => isCosignError(e, "OCI_TOO_LARGE"),
  );
  assert.ok(counter.pulls <= 6, `pulled ${counter.pulls} chunks`);
});

Deno.test("getBlob() refuses a body longer than its Content-Length", async () => {
  const { fake, registry, ref, image } = setup();
  fake.intercept = () =>
    new Response(utf8("layer bytes and more"), { headers: { "content-length": "11" } });
  await assert.rejects(
    () => registry.getBlob(ref, image.layerDigest),
    (e) => isCosignError(e, "OCI_SIZE_MISMATCH"),
  );
});

Deno.test("getBlob() refuses content that does not hash to the digest", async () => {
  const { fake, registry, ref, image } = setup();
  fake.intercept = (req) => req.method === "GET" ? new Response(utf8("LAYER BYTES")) : undefined;
  await assert.rejects(
    () => registry.getBlob(ref, image.layerDigest),
    (e) => isCosignError(e, "OCI_DIGEST_MISMATCH"),
  );
});

Deno.test("uploadBlob() pushes monolithically once and skips a blob the registry has", async () => {
  const { fake, registry, ref } = setup();
  const data = utf8("a new blob");
  const result = await registry.uploadBlob(ref, data);
  assert.deepEqual(result, { digest: sha256Digest(data), size: data.length });
  assert.deepEqual(fake.requests.map((r) => r.method), ["HEAD", "POST", "PUT"]);
  assert.deepEqual(fake.blob(REPO, result.digest), data);
  await registry.uploadBlob(ref, data);
  assert.deepEqual(fake.requests.map((r) => r.method), ["HEAD", "POST", "PUT", "HEAD"]);
});

Deno.test("uploadBlob() sends large blobs in PATCH chunks with Content-Range", async () => {
  const { fake, registry, ref } = setup({}, { chunkSize: 4 });
  const data = utf8("0123456789");
  const { digest } = await registry.uploadBlob(ref, data);
  assert.deepEqual(fake.requests.map((r) => r.method), [
    "HEAD",
    "POST",
    "PATCH",
    "PATCH",
    "PATCH",
    "PUT",
  ]);
  assert.deepEqual(
    fake.requests.filter((r) => r.method === "PATCH").map((r) => r.headers.get("content-range")),
    ["0-3", "4-7", "8-9"],
  );
  assert.deepEqual(fake.blob(REPO, digest), data);
});

Deno.test("mountBlob() mounts from another repository, and uploadBlob() uses the mount", async () => {
  const { fake, registry, ref, image } = setup();
  const target = { registry: ref.registry, repository: "org/copy" };
  assert.equal(await registry.mountBlob(target, image.layerDigest, ref), true);
  assert.deepEqual(fake.blob("org/copy", image.layerDigest), image.layer);
  const before = fake.requests.length;
  await registry.uploadBlob({ ...target, repository: "org/third" }, image.layer, {
    mountFrom: ref,
  });
  assert.deepEqual(fake.requests.slice(before).map((r) => r.method), ["HEAD", "POST"]);
  const unknown = sha256Digest(utf8("elsewhere"));
  assert.equal(await registry.mountBlob(target, unknown, ref), false);
});

Deno.test("Authorization is dropped when a blob GET redirects to another host", async () => {
  const { fake, registry, ref, image } = setup(
    { auth: { kind: "basic", username: "u", password: "p" }, blobRedirectHost: "storage.test" },
    {},
    { username: "u", password: "p" },
  );
  assert.deepEqual(await registry.getBlob(ref, image.layerDigest), image.layer);
  const storage = fake.requests.filter((r) => r.url.host === "storage.test");
  assert.equal(storage.length, 1);
  assert.equal(storage[0]!.headers.get("authorization"), null);
  const toRegistry = fake.requests.filter((r) => r.url.host === fake.host).at(-1)!;
  assert.match(toRegistry.headers.get("authorization") ?? "", /^Basic /);
});

Deno.test("more than 5 redirects are refused", async () => {
  const { fake, registry, ref, image } = setup();
  fake.intercept = (req) =>
    new Response(null, {
      status: 302,
      headers: { location: `${req.url.pathname}?hop=${fake.requests.length}` },
    });
  await assert.rejects(
    () => registry.getBlob(ref, image.layerDigest),
    (e) => isCosignError(e, "OCI_REDIRECT_REFUSED"),
  );
  assert.equal(fake.requests.length, 6);
});

// ------------------------------------------------------------------------------ auth

Deno.test("an anonymous registry costs no extra request and sees no Authorization", async () => {
  const { fake, registry, byDigest } = setup({}, {}, { username: "u", password: "p" });
  await registry.getManifest(byDigest);
  assert.equal(fake.requests.length, 1);
  assert.equal(fake.requests[0]!.headers.get("authorization"), null);
});

Deno.test("Basic auth: a 401 challenge, one retry, then Basic sent up front", async () => {
  const { fake, registry, byDigest, image } = setup(
    { auth: { kind: "basic", username: "u", password: "p:w" } },
    {},
    { username: "u", password: "p:w" },
  );
  await registry.getManifest(byDigest);
  assert.deepEqual(fake.requests.map((r) => r.headers.get("authorization")), [
    null,
    `Basic ${toBase64(utf8("u:p:w"))}`,
  ]);
  await registry.getBlob(byDigest, image.layerDigest);
  assert.equal(fake.requests.length, 3);
});

Deno.test("Bearer auth: challenge, one token request with Basic to the same host, then reuse", async () => {
  const { fake, registry, byDigest, image } = setup(
    { auth: { kind: "bearer", username: "u", password: "p" } },
    {},
    { username: "u", password: "p" },
  );
  await registry.getManifest(byDigest);
  const tokens = fake.tokenRequests();
  assert.equal(tokens.length, 1);
  assert.equal(tokens[0]!.headers.get("authorization"), `Basic ${toBase64(utf8("u:p"))}`);
  assert.deepEqual(tokens[0]!.url.searchParams.getAll("scope"), [`repository:${REPO}:pull`]);
  assert.equal(tokens[0]!.url.searchParams.get("service"), fake.host);
  assert.equal(fake.requests.length, 3);
  // A digest verify: manifest + layer, both with the cached token, no new token request.
  await registry.getManifest(byDigest);
  await registry.getBlob(byDigest, image.layerDigest);
  assert.equal(fake.tokenRequests().length, 1);
  assert.equal(fake.requests.length, 5);
  for (const r of fake.requests.slice(3)) {
    assert.match(r.headers.get("authorization")!, /^Bearer tok\d+$/);
  }
});

Deno.test("a second repository on a known host gets its token up front, without a 401", async () => {
  const { fake, registry, byDigest } = setup({ auth: { kind: "bearer", anonymousPull: true } });
  seedImage(fake, "org/other");
  await registry.getManifest(byDigest);
  const before = fake.requests.length;
  await registry.resolve(parseImageReference(`${fake.host}/org/other:v1`));
  const after = fake.requests.slice(before);
  assert.deepEqual(after.map((r) => r.url.pathname), ["/token", "/v2/org/other/manifests/v1"]);
});

Deno.test("a push needs a push token; a later pull reuses it", async () => {
  const { fake, registry, ref } = setup(
    { auth: { kind: "bearer", username: "u", password: "p" } },
    {},
    { username: "u", password: "p" },
  );
  await registry.uploadBlob(ref, utf8("pushed"));
  const scopes = fake.tokenRequests().map((r) => r.url.searchParams.getAll("scope").join(" "));
  assert.deepEqual(scopes, [`repository:${REPO}:pull`, `repository:${REPO}:push,pull`]);
  await registry.getManifest(ref);
  assert.equal(fake.tokenRequests().length, 2);
});

Deno.test("an expired token is replaced", async () => {
  let now = 1_000_000;
  const { fake, registry, byDigest } = setup(
    { auth: { kind: "bearer", anonymousPull: true, expiresIn: 60 } },
    { now: () => now },
  );
  await registry.getManifest(byDigest);
  now += 61_000;
  await registry.getManifest(byDigest);
  assert.equal(fake.tokenRequests().length, 2);
});

Deno.test("identity tokens use the OAuth2 POST, and fall back to GET when it answers 404", async () => {
  const oauth = setup(
    { auth: { kind: "bearer", identityToken: "refresh-1" } },
    {},
    { identityToken: "refresh-1" },
  );
  await oauth.registry.getManifest(oauth.byDigest);
  const post = oauth.fake.tokenRequests();
  assert.equal(post.length, 1);
  assert.equal(post[0]!.method, "POST");
  const form = new URLSearchParams(new TextDecoder().decode(post[0]!.body));
  assert.equal(form.get("grant_type"), "refresh_token");
  assert.equal(form.get("refresh_token"), "refresh-1");
  assert.equal(form.get("scope"), `repository:${REPO}:pull`);
  const fallback = setup({ auth: { kind: "bearer", anonymousPull: true } }, {}, {
    identityToken: "r",
  });
  await fallback.registry.getManifest(fallback.byDigest);
  assert.deepEqual(fallback.fake.tokenRequests().map((r) => r.method), ["POST", "GET"]);
});

Deno.test("Basic credentials never go to a token realm on another host", async () => {
  const { fake, registry, byDigest } = setup(
    { auth: { kind: "bearer", realm: "https://auth.elsewhere.test/token", anonymousPull: true } },
    {},
    { username: "u", password: "p" },
  );
  await registry.getManifest(byDigest);
  const tokens = fake.tokenRequests();
  assert.equal(tokens.length, 1);
  assert.equal(tokens[0]!.headers.get("authorization"), null);
});

Deno.test("Docker Hub's auth.docker.io realm does get the credentials", async () => {
  const fake = new FakeRegistry({
    host: "registry-1.docker.io",
    auth: { kind: "bearer", realm: "https://auth.docker.io/token", username: "u", password: "p" },
  });
  seedImage(fake, "library/ubuntu", "latest");
  const registry = new RegistryClient({
    fetch: fake.fetch,
    credentials: (registry) =>
      Promise.resolve(
        registry === "index.docker.io" ? { username: "u", password: "p" } : undefined,
      ),
  });
  await registry.resolve(parseImageReference("ubuntu"));
  assert.equal(
    fake.tokenRequests()[0]!.headers.get("authorization"),
    `Basic ${toBase64(utf8("u:p"))}`,
  );
  assert.equal(
    fake.requests.at(-1)!.url.href,
    "https://registry-1.docker.io/v2/library/ubuntu/manifests/latest",
  );
});

Deno.test("a 401 with no credentials is OCI_UNAUTHORIZED naming the registry and the fix", async () => {
  const { registry, byDigest } = setup({ auth: { kind: "basic", username: "u", password: "p" } });
  await assert.rejects(
    () => registry.getManifest(byDigest),
    (e) =>
      isCosignError(e, "OCI_UNAUTHORIZED") && e.message.includes('"registry.test"') &&
      e.message.includes("docker login") && e.message.includes("--registry-username"),
  );
  const bearer = setup({ auth: { kind: "bearer" } });
  await assert.rejects(
    () => bearer.registry.getManifest(bearer.byDigest),
    (e) => isCosignError(e, "OCI_UNAUTHORIZED"),
  );
});

Deno.test("refused credentials are OCI_UNAUTHORIZED, and the retry sends one Authorization", async () => {
  const { fake, registry, byDigest } = setup(
    { auth: { kind: "basic", username: "u", password: "p" } },
    {},
    { username: "u", password: "wrong" },
  );
  await assert.rejects(
    () => registry.getManifest(byDigest),
    (e) => isCosignError(e, "OCI_UNAUTHORIZED") && e.message.includes("refused the credentials"),
  );
  assert.equal(fake.requests.length, 2);
  assert.ok(!fake.requests[1]!.headers.get("authorization")!.includes(","));
});

// ------------------------------------------------------------------------------ retries

Deno.test("500 then 200 succeeds after one retry with backoff", async () => {
  const delays: number[] = [];
  const { fake, registry, byDigest } = setup({}, {
    sleep: (ms) => (delays.push(ms), Promise.resolve()),
  });
  let failures = 1;
  fake.intercept = () => failures-- > 0 ? new Response("oops", { status: 500 }) : undefined;
  await registry.getManifest(byDigest);
  assert.equal(fake.requests.length, 2);
  assert.deepEqual(delays, [250]);
});

Deno.test("429 honours Retry-After", async () => {
  const delays: number[] = [];
  const { fake, registry, byDigest } = setup({}, {
    sleep: (ms) => (delays.push(ms), Promise.resolve()),
    retry: { maxDelayMs: 60_000 },
  });
  let failures = 1;
  fake.intercept = () =>
    failures-- > 0
      ? new Response(null, { status: 429, headers: { "retry-after": "7" } })
      : undefined;
  await registry.getManifest(byDigest);
  assert.deepEqual(delays, [7000]);
});

Deno.test("retries stop after the configured attempts with OCI_REGISTRY_ERROR and the status", async () => {
  const { fake, registry, byDigest } = setup({}, { retry: { attempts: 2 } });
  fake.intercept = () => new Response(null, { status: 503 });
  await assert.rejects(
    () => registry.getManifest(byDigest),
    (e) => isCosignError(e, "OCI_REGISTRY_ERROR") && e.message.includes("503"),
  );
  assert.equal(fake.requests.length, 2);
});

Deno.test("retried bearer requests carry exactly one Authorization header (cosign 8a86a7cf)", async () => {
  const { fake, registry, byDigest } = setup({ auth: { kind: "bearer", anonymousPull: true } });
  let failures = 2;
  fake.intercept = (req) =>
    req.url.pathname.includes("/manifests/") && req.headers.has("authorization") && failures-- > 0
      ? new Response(null, { status: 502 })
      : undefined;
  await registry.getManifest(byDigest);
  const sent = fake.requests.filter((r) => r.url.pathname.includes("/manifests/")).map((r) =>
    r.headers.get("authorization")
  );
  assert.equal(sent.length, 4);
  for (const value of sent.slice(1)) assert.match(value!, /^Bearer [^,\s]+$/);
});

// ------------------------------------------------------------------------------ transport policy

Deno.test("plain HTTP to a non-local host is refused without the insecure flag", async () => {
  const { fake, registry, ref, image } = setup();
  fake.intercept = (req) =>
    req.url.host === fake.host
      ? new Response(null, { status: 307, headers: { location: `http://plain.test/x` } })
      : new Response(image.layer);
  await assert.rejects(
    () => registry.getBlob(ref, image.layerDigest),
    (e) => isCosignError(e, "OCI_INSECURE_REGISTRY"),
  );
  assert.ok(!fake.requests.some((r) => r.url.host === "plain.test"));
  const allowed = new RegistryClient({ fetch: fake.fetch, insecure: ["plain.test"] });
  assert.deepEqual(await allowed.getBlob(ref, image.layerDigest), image.layer);
});

Deno.test("localhost is reached over HTTP; other hosts over HTTPS unless listed as insecure", async () => {
  for (
    const [host, insecure, scheme] of [
      ["localhost:5000", undefined, "http:"],
      ["127.0.0.1:5000", undefined, "http:"],
      ["registry.test", undefined, "https:"],
      ["registry.test", ["registry.test"], "http:"],
      ["registry.test", true, "http:"],
    ] as const
  ) {
    const fake = new FakeRegistry({ host });
    seedImage(fake);
    const registry = new RegistryClient({
      fetch: fake.fetch,
      ...(insecure === undefined ? {} : { insecure }),
    });
    await registry.resolve(parseImageReference(`${host}/${REPO}:v1`));
    assert.equal(fake.requests[0]!.url.protocol, scheme, `${host} ${insecure}`);
  }
});

Deno.test("a token realm over plain HTTP on a non-local host is refused", async () => {
  const { registry, byDigest } = setup({
    auth: { kind: "bearer", realm: "http://auth.test/token", anonymousPull: true },
  });
  await assert.rejects(
    () => registry.getManifest(byDigest),
    (e) => isCosignError(e, "OCI_INSECURE_REGISTRY"),
  );
});

Deno.test("onExchange reports every exchange with credentials redacted", async () => {
  const seen: RegistryExchange[] = [];
  const { registry, byDigest } = setup(
    { auth: { kind: "bearer", username: "u", password: "p" }, blobRedirectHost: "storage.test" },
    { onExchange: (e) => seen.push(e) },
    { username: "u", password: "p" },
  );
  await registry.getBlob(byDigest, (await registry.getManifest(byDigest)).descriptor.digest).catch(
    () => {},
  );
  const text = JSON.stringify(seen);
  assert.ok(seen.length >= 3);
  assert.ok(!text.includes(toBase64(utf8("u:p"))), "Basic credentials leaked");
  assert.ok(!/Bearer tok/.test(text), "bearer token leaked");
  assert.ok(text.includes("REDACTED"));
  assert.deepEqual(seen.map((e) => e.status).slice(0, 3), [401, 200, 200]);
});

// ------------------------------------------------------------------------------ listings

Deno.test("listTags() follows Link pages", async () => {
  const { fake, registry, ref } = setup({ tagPageSize: 2 });
  for (const tag of ["a", "b", "c", "d", "e"]) {
    fake.putManifest(REPO, utf8(`{"t":"${tag}"}`), "x", tag);
  }
  assert.deepEqual(await registry.listTags(ref), ["a", "b", "c", "d", "e", "v1"]);
  assert.equal(fake.count("GET", /tags\/list/), 3);
});

Deno.test("listTags() stops at maxPages", async () => {
  const { fake, registry, ref } = setup({ tagPageSize: 1 }, { limits: { maxPages: 3 } });
  for (const tag of ["a", "b", "c", "d"]) fake.putManifest(REPO, utf8(`{"t":"${tag}"}`), "x", tag);
  await assert.rejects(() => registry.listTags(ref), (e) => isCosignError(e, "OCI_TOO_LARGE"));
});

function referrer(subject: { digest: string; size: number }, artifactType: string): Bytes {
  return utf8(encodeManifest({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    artifactType,
    config: { mediaType: MEDIA_TYPE.OCI_EMPTY, size: 2, digest: sha256Digest(utf8("{}")) },
    layers: [],
    subject: { mediaType: MEDIA_TYPE.OCI_MANIFEST, ...subject },
  }));
}

Deno.test("listReferrers() uses the referrers API when it answers with an index", async () => {
  const { fake, registry, ref, image } = setup();
  const subject = { digest: image.digest, size: image.bytes.length };
  fake.putManifest(REPO, referrer(subject, "application/a"), MEDIA_TYPE.OCI_MANIFEST);
  fake.putManifest(REPO, referrer(subject, "application/b"), MEDIA_TYPE.OCI_MANIFEST);
  const all = await registry.listReferrers(ref, image.digest);
  assert.equal(all.source, "referrers-api");
  assert.equal(all.manifests.length, 2);
  const some = await registry.listReferrers(ref, image.digest, { artifactType: "application/b" });
  assert.deepEqual(some.manifests.map((m) => m.artifactType), ["application/b"]);
  assert.equal(fake.count("GET", /\/referrers\//), 2);
});

Deno.test("listReferrers() falls back to the sha256-<hex> tag and filters client-side", async () => {
  const { fake, registry, ref, image } = setup({ referrersApi: false });
  const entries = ["application/a", "application/b"].map((artifactType, i) => ({
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    digest: `sha256:${String(i).repeat(64)}`,
    size: 10,
    artifactType,
  }));
  assert.deepEqual((await registry.listReferrers(ref, image.digest)).manifests, []);
  const index = utf8(
    JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.OCI_INDEX, manifests: entries }),
  );
  fake.putManifest(REPO, index, MEDIA_TYPE.OCI_INDEX, `sha256-${image.digest.slice(7)}`);
  const listed = await registry.listReferrers(ref, image.digest, { artifactType: "application/b" });
  assert.equal(listed.source, "fallback-tag");
  assert.deepEqual(listed.manifests, [entries[1]]);
});

Deno.test("listReferrers() treats 200 without the index content type as no API", async () => {
  const { fake, registry, ref, image } = setup();
  fake.intercept = (req) =>
    req.url.pathname.includes("/referrers/")
      ? new Response("<html>", { headers: { "content-type": "text/html" } })
      : undefined;
  const listed = await registry.listReferrers(ref, image.digest);
  assert.equal(listed.source, "fallback-tag");
  assert.ok(
    fake.requests.some((r) =>
      r.url.pathname.endsWith(`/manifests/sha256-${image.digest.slice(7)}`)
    ),
  );
});

Deno.test("listReferrers() refuses an index with more entries than maxIndexManifests", async () => {
  const { fake, registry, ref, image } = setup({}, { limits: { maxIndexManifests: 3 } });
  for (let i = 0; i < 4; i++) {
    fake.putManifest(
      REPO,
      referrer({ digest: image.digest, size: 1 }, `application/${i}`),
      MEDIA_TYPE.OCI_MANIFEST,
    );
  }
  await assert.rejects(
    () => registry.listReferrers(ref, image.digest),
    (e) => isCosignError(e, "OCI_TOO_MANY_MANIFESTS"),
  );
});

Deno.test("putManifest() returns the digest and refuses bytes that do not match a digest reference", async () => {
  const { fake, registry, ref } = setup();
  const bytes = utf8('{"schemaVersion":2}');
  const pushed = await registry.putManifest({ ...ref, tag: "new" }, bytes, MEDIA_TYPE.OCI_MANIFEST);
  assert.equal(pushed.digest, sha256Digest(bytes));
  assert.deepEqual(fake.manifest(REPO, "new")?.bytes, bytes);
  await assert.rejects(
    () =>
      registry.putManifest(
        withDigest(ref, `sha256:${"1".repeat(64)}`),
        bytes,
        MEDIA_TYPE.OCI_MANIFEST,
      ),
    (e) => isCosignError(e, "OCI_DIGEST_MISMATCH"),
  );
  await registry.deleteManifest(withDigest(ref, pushed.digest));
  assert.equal(fake.manifest(REPO, pushed.digest), undefined);
});

Deno.test("a 401 from a redirect target does not trigger a credential exchange", async () => {
  const { fake, registry, ref, image } = setup({ blobRedirectHost: "storage.test" }, {}, {
    username: "u",
    password: "p",
  });
  fake.intercept = (req) =>
    req.url.host === "storage.test"
      ? new Response(null, {
        status: 401,
        headers: { "www-authenticate": 'Basic realm="storage"' },
      })
      : undefined;
  await assert.rejects(
    () => registry.getBlob(ref, image.layerDigest),
    (e) => isCosignError(e, "OCI_UNAUTHORIZED"),
  );
  assert.ok(fake.requests.every((r) => r.headers.get("authorization") === null));
  assert.equal(fake.requests.length, 2);
});

// ------------------------------------------------------------------------------ challenges

Deno.test("parseChallenges() reads Bearer parameters, quoted commas and several challenges", () => {
  assert.deepEqual(
    parseChallenges(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",' +
        'scope="repository:a/b:pull,push", Basic realm="x \\"y\\""',
    ),
    [
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.example.com/token",
          service: "registry.example.com",
          scope: "repository:a/b:pull,push",
        },
      },
      { scheme: "basic", params: { realm: 'x "y"' } },
    ],
  );
  assert.deepEqual(parseChallenges("BASIC realm=plain"), [{
    scheme: "basic",
    params: { realm: "plain" },
  }]);
});

Deno.test("parseChallenges() survives hostile headers without crashing", () => {
  for (
    const header of [
      'Bearer realm="unterminated',
      "=x",
      ",,,",
      "Bearer " + "a=b,".repeat(10_000),
      "",
    ]
  ) {
    const challenges = parseChallenges(header);
    assert.ok(Array.isArray(challenges));
    for (const c of challenges) assert.ok(Object.keys(c.params).length <= 32);
  }
});

Deno.test("mayCarryCredentials() allows the registry's own host and Docker Hub's auth host only", () => {
  assert.ok(mayCarryCredentials("ghcr.io", "ghcr.io"));
  assert.ok(mayCarryCredentials("registry-1.docker.io", "auth.docker.io"));
  assert.ok(!mayCarryCredentials("ghcr.io", "auth.ghcr.io.evil.com"));
  assert.ok(!mayCarryCredentials("127.0.0.1:5000", "127.0.0.1:5001"));
  assert.ok(!mayCarryCredentials("evil.test", "auth.docker.io"));
});

Deno.test("an aborted signal stops the client without retrying", async () => {
  const controller = new AbortController();
  const { fake, registry, byDigest } = setup({}, { signal: controller.signal });
  fake.intercept = (req) => {
    controller.abort(new Error("deadline"));
    return Promise.reject(new DOMException(`aborted ${req.url.pathname}`, "AbortError"));
  };
  await assert.rejects(
    () => registry.getManifest(byDigest),
    (e) => isCosignError(e, "OCI_NETWORK_ERROR") && e.message.includes("deadline"),
  );
  assert.equal(fake.requests.length, 1);
});

Deno.test("network errors on GET are retried, then reported as OCI_NETWORK_ERROR", async () => {
  const { fake, registry, byDigest } = setup();
  fake.intercept = () => Promise.reject(new TypeError("connection reset"));
  await assert.rejects(
    () => registry.getManifest(byDigest),
    (e) => isCosignError(e, "OCI_NETWORK_ERROR") && e.message.includes("connection reset"),
  );
  assert.equal(fake.requests.length, 3);
});

Deno.test("trustedRealms lets a named sibling token host receive the credentials", async () => {
  const { fake, registry, byDigest } = setup(
    {
      auth: {
        kind: "bearer",
        realm: "https://auth.sibling.test/token",
        username: "u",
        password: "p",
      },
    },
    { trustedRealms: { "registry.test": ["auth.sibling.test"] } },
    { username: "u", password: "p" },
  );
  await registry.getManifest(byDigest);
  assert.equal(
    fake.tokenRequests()[0]!.headers.get("authorization"),
    `Basic ${toBase64(utf8("u:p"))}`,
  );
});
