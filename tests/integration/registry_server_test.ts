/**
 * The embedded registry over HTTP, every scenario both in-process and over a socket: uploads,
 * digests, manifests, indexes, tags, the referrers API, deletes, auth and limits.
 */

import assert from "node:assert/strict";
import { type Bytes, sha256Digest, utf8 } from "../../lib/util/bytes.ts";
import {
  type Content,
  content,
  descriptor,
  fetchBlob,
  fetchManifest,
  MEDIA,
  pushBlob,
  pushLayout,
  pushManifest,
  writeOciLayout,
} from "../registry/_oci_layout.ts";
import { tempDir } from "../_support.ts";
import { errorCodes, MODES, openTarget, type RegistryTarget } from "./_registry_target.ts";

const EMPTY = content("application/vnd.oci.empty.v1+json", utf8("{}"));
const BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";

function manifestOf(config: Content, layers: Content[], extra: Record<string, unknown> = {}) {
  return content(
    MEDIA.manifest,
    utf8(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: descriptor(config),
      layers: layers.map(descriptor),
      ...extra,
    })),
  );
}

/** Push config + one random layer and a manifest tagged `tag`. */
async function pushImage(t: RegistryTarget, repo: string, tag: string) {
  const layer = content(MEDIA.layer, crypto.getRandomValues(new Uint8Array(3000)));
  await pushBlob(t.base, repo, EMPTY, t);
  await pushBlob(t.base, repo, layer, t);
  const manifest = manifestOf(EMPTY, [layer]);
  await pushManifest(t.base, repo, tag, manifest, t);
  return { layer, manifest };
}

function request(t: RegistryTarget, path: string, init: RequestInit = {}): Promise<Response> {
  return t.fetch(`${t.base}${path}`, init);
}

for (const mode of MODES) {
  const test = (name: string, fn: (t: RegistryTarget) => Promise<void>) =>
    Deno.test(`registry (${mode}): ${name}`, async () => {
      await using target = await openTarget(mode);
      await fn(target);
    });

  test("GET /v2/ answers 200 with the distribution API version header", async (t) => {
    const res = await request(t, "/v2/");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
    assert.deepEqual(await res.json(), {});
  });

  test("monolithic and chunked pushes read back byte-exact, with HEAD and Range", async (t) => {
    const blob = content(MEDIA.layer, crypto.getRandomValues(new Uint8Array(10_000)));
    await pushBlob(t.base, "mono/repo", blob, t);
    await pushBlob(t.base, "chunk/repo", blob, { ...t, chunkSize: 3333 });
    for (const repo of ["mono/repo", "chunk/repo"]) {
      assert.deepEqual(await fetchBlob(t.base, repo, blob.digest, t), blob.bytes);
      const head = await request(t, `/v2/${repo}/blobs/${blob.digest}`, { method: "HEAD" });
      await head.body?.cancel();
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), "10000");
      assert.equal(head.headers.get("docker-content-digest"), blob.digest);
    }
    const part = await request(t, `/v2/mono/repo/blobs/${blob.digest}`, {
      headers: { Range: "bytes=100-199" },
    });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), "bytes 100-199/10000");
    assert.deepEqual(new Uint8Array(await part.arrayBuffer()), blob.bytes.slice(100, 200));
    const beyond = await request(t, `/v2/mono/repo/blobs/${blob.digest}`, {
      headers: { Range: "bytes=10000-" },
    });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get("content-range"), "bytes */10000");
    await beyond.body?.cancel();
  });

  test("a blob whose bytes miss the digest is refused with DIGEST_INVALID", async (t) => {
    const claimed = sha256Digest(utf8("what the client claims"));
    const mono = await request(t, `/v2/a/blobs/uploads/?digest=${claimed}`, {
      method: "POST",
      body: utf8("what it sends"),
    });
    assert.equal(mono.status, 400);
    assert.deepEqual(await errorCodes(mono), ["DIGEST_INVALID"]);
    const start = await request(t, "/v2/a/blobs/uploads/", { method: "POST" });
    await start.body?.cancel();
    const location = start.headers.get("location")!;
    const put = await t.fetch(new URL(`${location}?digest=${claimed}`, t.base), {
      method: "PUT",
      body: utf8("what it sends"),
    });
    assert.equal(put.status, 400);
    assert.deepEqual(await errorCodes(put), ["DIGEST_INVALID"]);
    const head = await request(t, `/v2/a/blobs/${claimed}`, { method: "HEAD" });
    await head.body?.cancel();
    assert.equal(head.status, 404);
    // The failed session is gone.
    const status = await t.fetch(new URL(location, t.base));
    assert.equal(status.status, 404);
    assert.deepEqual(await errorCodes(status), ["BLOB_UPLOAD_UNKNOWN"]);
  });

  test("an out-of-order chunk is answered 416 with the upload's current Range", async (t) => {
    const start = await request(t, "/v2/a/blobs/uploads/", { method: "POST" });
    await start.body?.cancel();
    assert.equal(start.status, 202);
    assert.equal(start.headers.get("range"), "0-0");
    const url = new URL(start.headers.get("location")!, t.base);
    const first = await t.fetch(url, {
      method: "PATCH",
      headers: { "Content-Range": "0-3" },
      body: utf8("abcd"),
    });
    await first.body?.cancel();
    assert.equal(first.status, 202);
    assert.equal(first.headers.get("range"), "0-3");
    const skip = await t.fetch(url, {
      method: "PATCH",
      headers: { "Content-Range": "10-13" },
      body: utf8("efgh"),
    });
    assert.equal(skip.status, 416);
    assert.equal(skip.headers.get("range"), "0-3");
    assert.deepEqual(await errorCodes(skip), ["BLOB_UPLOAD_INVALID"]);
    const status = await t.fetch(url);
    await status.body?.cancel();
    assert.equal(status.status, 204);
    assert.equal(status.headers.get("range"), "0-3");
    url.searchParams.set("digest", sha256Digest(utf8("abcdefgh")));
    const done = await t.fetch(url, {
      method: "PUT",
      headers: { "Content-Range": "4-7" },
      body: utf8("efgh"),
    });
    await done.body?.cancel();
    assert.equal(done.status, 201);
    assert.equal(done.headers.get("docker-content-digest"), sha256Digest(utf8("abcdefgh")));
  });

  test("manifests by tag and digest: exact bytes, Content-Type, digest and length", async (t) => {
    const { manifest } = await pushImage(t, "img/app", "v1");
    for (const ref of ["v1", manifest.digest]) {
      const got = await fetchManifest(t.base, "img/app", ref, t);
      assert.deepEqual(got.bytes, manifest.bytes);
      assert.equal(got.digest, manifest.digest);
      assert.equal(got.mediaType, MEDIA.manifest);
      const head = await request(t, `/v2/img/app/manifests/${ref}`, {
        method: "HEAD",
        headers: { Accept: MEDIA.manifest },
      });
      await head.body?.cancel();
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), String(manifest.size));
      assert.equal(head.headers.get("docker-content-digest"), manifest.digest);
      assert.equal(head.headers.get("content-type"), MEDIA.manifest);
    }
    // A client that accepts only Docker types does not get an OCI manifest (as distribution).
    const docker = await request(t, "/v2/img/app/manifests/v1", {
      headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    assert.equal(docker.status, 404);
    assert.deepEqual(await errorCodes(docker), ["MANIFEST_UNKNOWN"]);
    const unknown = await request(t, "/v2/img/app/manifests/v2");
    assert.equal(unknown.status, 404);
    assert.deepEqual(await errorCodes(unknown), ["MANIFEST_UNKNOWN"]);
    const wrong = await request(t, `/v2/img/app/manifests/${sha256Digest(utf8("x"))}`, {
      method: "PUT",
      headers: { "Content-Type": MEDIA.manifest },
      body: manifest.bytes,
    });
    assert.equal(wrong.status, 400);
    assert.deepEqual(await errorCodes(wrong), ["DIGEST_INVALID"]);
  });

  test("a manifest naming missing blobs is refused, one error per blob", async (t) => {
    const layers = [1, 2].map((i) => content(MEDIA.layer, utf8(`never pushed ${i}`)));
    await pushBlob(t.base, "img/app", EMPTY, t);
    const res = await request(t, "/v2/img/app/manifests/v1", {
      method: "PUT",
      headers: { "Content-Type": MEDIA.manifest },
      body: manifestOf(EMPTY, layers).bytes,
    });
    assert.equal(res.status, 400);
    const body = await res.json() as { errors: { code: string; detail: { digest: string } }[] };
    assert.deepEqual(body.errors.map((e) => [e.code, e.detail.digest]), [
      ["MANIFEST_BLOB_UNKNOWN", layers[0]!.digest],
      ["MANIFEST_BLOB_UNKNOWN", layers[1]!.digest],
    ]);
  });

  test("a multi-arch index is stored after its children, and served as an index", async (t) => {
    await using dir = await tempDir();
    const layout = await writeOciLayout(dir.path, { multiArch: true });
    const early = await request(t, "/v2/multi/app/manifests/v1", {
      method: "PUT",
      headers: { "Content-Type": MEDIA.index },
      body: layout.top.bytes,
    });
    assert.equal(early.status, 400);
    assert.deepEqual(await errorCodes(early), ["MANIFEST_BLOB_UNKNOWN", "MANIFEST_BLOB_UNKNOWN"]);
    assert.equal(await pushLayout(layout, t.base, "multi/app", t), layout.top.digest);
    const got = await fetchManifest(t.base, "multi/app", "v1", t);
    assert.equal(got.mediaType, MEDIA.index);
    assert.deepEqual(got.bytes, layout.top.bytes);
    for (const image of layout.images) {
      const child = await fetchManifest(t.base, "multi/app", image.manifest.digest, t);
      assert.deepEqual(child.bytes, image.manifest.bytes);
    }
  });

  test("tags list in order, paginated with n, last and a Link header", async (t) => {
    const { manifest } = await pushImage(t, "tags/app", "b");
    for (const tag of ["d", "a", "c"]) await pushManifest(t.base, "tags/app", tag, manifest, t);
    const all = await request(t, "/v2/tags/app/tags/list");
    assert.deepEqual(await all.json(), { name: "tags/app", tags: ["a", "b", "c", "d"] });
    const first = await request(t, "/v2/tags/app/tags/list?n=3");
    assert.equal(first.headers.get("link"), '</v2/tags/app/tags/list?n=3&last=c>; rel="next"');
    assert.deepEqual(await first.json(), { name: "tags/app", tags: ["a", "b", "c"] });
    const next = await request(t, "/v2/tags/app/tags/list?n=3&last=c");
    assert.equal(next.headers.get("link"), null);
    assert.deepEqual(await next.json(), { name: "tags/app", tags: ["d"] });
    const none = await request(t, "/v2/tags/app/tags/list?n=0");
    assert.deepEqual(await none.json(), { name: "tags/app", tags: [] });
    const bad = await request(t, "/v2/tags/app/tags/list?n=-1");
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const missing = await request(t, "/v2/no/such/tags/list");
    assert.equal(missing.status, 404);
    assert.deepEqual(await errorCodes(missing), ["NAME_UNKNOWN"]);
    const catalog = await request(t, "/v2/_catalog");
    assert.deepEqual(await catalog.json(), { repositories: ["tags/app"] });
  });

  test("referrers API: subject-bearing manifests listed, filtered, empty for none", async (t) => {
    const { manifest: subject } = await pushImage(t, "ref/app", "v1");
    const bundle = content(BUNDLE_TYPE, utf8('{"mediaType":"bundle"}'));
    await pushBlob(t.base, "ref/app", bundle, t);
    const referrer = manifestOf(EMPTY, [bundle], {
      artifactType: BUNDLE_TYPE,
      subject: descriptor(subject),
      annotations: { "dev.sigstore.bundle.content": "dsse-envelope" },
    });
    const other = manifestOf(EMPTY, [], { subject: descriptor(subject) });
    const put = await request(t, `/v2/ref/app/manifests/${referrer.digest}`, {
      method: "PUT",
      headers: { "Content-Type": MEDIA.manifest },
      body: referrer.bytes,
    });
    await put.body?.cancel();
    assert.equal(put.status, 201);
    assert.equal(put.headers.get("oci-subject"), subject.digest);
    await pushManifest(t.base, "ref/app", other.digest, other, t);

    const list = await request(t, `/v2/ref/app/referrers/${subject.digest}`);
    assert.equal(list.status, 200);
    assert.equal(list.headers.get("content-type"), MEDIA.index);
    assert.equal(list.headers.get("oci-filters-applied"), null);
    assert.deepEqual(await list.json(), {
      schemaVersion: 2,
      mediaType: MEDIA.index,
      manifests: [
        {
          ...descriptor(referrer),
          artifactType: BUNDLE_TYPE,
          annotations: { "dev.sigstore.bundle.content": "dsse-envelope" },
        },
        { ...descriptor(other), artifactType: EMPTY.mediaType },
      ],
    });
    const filtered = await request(
      t,
      `/v2/ref/app/referrers/${subject.digest}?artifactType=${encodeURIComponent(BUNDLE_TYPE)}`,
    );
    assert.equal(filtered.headers.get("oci-filters-applied"), "artifactType");
    const filteredBody = await filtered.json() as { manifests: { digest: string }[] };
    assert.deepEqual(filteredBody.manifests.map((m) => m.digest), [referrer.digest]);
    const paged = await request(t, `/v2/ref/app/referrers/${subject.digest}?n=1`);
    const link = paged.headers.get("link") ?? "";
    await paged.body?.cancel();
    const nextPath = /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
    assert.ok(nextPath, `no Link header: "${link}"`);
    const second = await request(t, nextPath);
    const secondBody = await second.json() as { manifests: { digest: string }[] };
    assert.deepEqual(secondBody.manifests.map((m) => m.digest), [other.digest]);

    const none = await request(t, `/v2/ref/app/referrers/${sha256Digest(utf8("nothing"))}`);
    assert.equal(none.status, 200);
    assert.deepEqual(await none.json(), {
      schemaVersion: 2,
      mediaType: MEDIA.index,
      manifests: [],
    });
    const invalid = await request(t, "/v2/ref/app/referrers/sha256:nothex");
    assert.equal(invalid.status, 400);
    assert.deepEqual(await errorCodes(invalid), ["DIGEST_INVALID"]);
  });

  test("delete: a tag, a manifest with its tags and referrer entry, a blob", async (t) => {
    const { manifest, layer } = await pushImage(t, "del/app", "v1");
    await pushManifest(t.base, "del/app", "v2", manifest, t);
    const referrer = manifestOf(EMPTY, [], { subject: descriptor(manifest) });
    await pushManifest(t.base, "del/app", referrer.digest, referrer, t);
    const del = (path: string) => request(t, path, { method: "DELETE" });
    const tag = await del("/v2/del/app/manifests/v1");
    await tag.body?.cancel();
    assert.equal(tag.status, 202);
    assert.equal((await fetchManifest(t.base, "del/app", "v2", t)).digest, manifest.digest);
    const ref = await del(`/v2/del/app/manifests/${referrer.digest}`);
    await ref.body?.cancel();
    assert.equal(ref.status, 202);
    const refs = await request(t, `/v2/del/app/referrers/${manifest.digest}`);
    assert.deepEqual((await refs.json() as { manifests: unknown[] }).manifests, []);
    const man = await del(`/v2/del/app/manifests/${manifest.digest}`);
    await man.body?.cancel();
    assert.equal(man.status, 202);
    const gone = await request(t, "/v2/del/app/manifests/v2");
    assert.equal(gone.status, 404);
    await gone.body?.cancel();
    const blob = await del(`/v2/del/app/blobs/${layer.digest}`);
    await blob.body?.cancel();
    assert.equal(blob.status, 202);
    const again = await del(`/v2/del/app/blobs/${layer.digest}`);
    assert.equal(again.status, 404);
    assert.deepEqual(await errorCodes(again), ["BLOB_UNKNOWN"]);
  });

  test("cross-repository mount links an existing blob, else opens a session", async (t) => {
    const { layer } = await pushImage(t, "src/app", "v1");
    const mounted = await request(
      t,
      `/v2/dst/app/blobs/uploads/?mount=${layer.digest}&from=src/app`,
      {
        method: "POST",
      },
    );
    await mounted.body?.cancel();
    assert.equal(mounted.status, 201);
    assert.equal(mounted.headers.get("location"), `/v2/dst/app/blobs/${layer.digest}`);
    assert.deepEqual(await fetchBlob(t.base, "dst/app", layer.digest, t), layer.bytes);
    const fallback = await request(
      t,
      `/v2/dst/app/blobs/uploads/?mount=${layer.digest}&from=nope`,
      {
        method: "POST",
      },
    );
    await fallback.body?.cancel();
    assert.equal(fallback.status, 202);
    assert.match(fallback.headers.get("location") ?? "", /^\/v2\/dst\/app\/blobs\/uploads\/.+/);
  });

  test("a manifest over 4 MiB is refused with 413 before it is buffered", async (t) => {
    const big = new Uint8Array(4 * 1024 * 1024 + 1).fill(0x20);
    const res = await request(t, "/v2/big/app/manifests/v1", {
      method: "PUT",
      headers: { "Content-Type": MEDIA.manifest },
      body: big,
    });
    assert.equal(res.status, 413);
    assert.deepEqual(await errorCodes(res), ["SIZE_INVALID"]);
  });

  test("invalid repository names and references are refused", async (t) => {
    for (
      const path of ["/v2/UPPER/case/tags/list", "/v2/a..b/manifests/v1", "/v2/-a/blobs/uploads/"]
    ) {
      const res = await request(t, path, { method: path.endsWith("/") ? "POST" : "GET" });
      assert.equal(res.status, 400, path);
      assert.deepEqual(await errorCodes(res), ["NAME_INVALID"], path);
    }
    const digest = await request(t, "/v2/a/blobs/sha256:short");
    assert.equal(digest.status, 400);
    assert.deepEqual(await errorCodes(digest), ["DIGEST_INVALID"]);
  });
}

for (const mode of MODES) {
  Deno.test(`registry (${mode}): Basic auth answers 401 without credentials, 200 with`, async () => {
    const auth = { username: "alice", password: "s3cret:with:colons" };
    await using t = await openTarget(mode, { registryAuth: auth });
    const anonymous = await request(t, "/v2/");
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get("www-authenticate"), 'Basic realm="dcosign"');
    assert.deepEqual(await errorCodes(anonymous), ["UNAUTHORIZED"]);
    const wrong = await request(t, "/v2/", {
      headers: { Authorization: `Basic ${btoa("alice:wrong")}` },
    });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const headers = { Authorization: `Basic ${btoa(`${auth.username}:${auth.password}`)}` };
    const ok = await request(t, "/v2/", { headers });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const blob: Bytes = utf8("authenticated");
    await pushBlob(t.base, "auth/app", content(MEDIA.layer, blob), { ...t, headers });
    const head = await request(t, `/v2/auth/app/blobs/${sha256Digest(blob)}`, { method: "HEAD" });
    await head.body?.cancel();
    assert.equal(head.status, 401);
  });
}
